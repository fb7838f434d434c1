/**
 * The ECS front under the attacks of issue 9, replayed against every runtime: huge bodies, null
 * members, unknown and deeply nested members, strings and lists far over any real size, forged
 * nextTokens, and requests addressed to a Host the control plane doesn't answer to (DNS
 * rebinding). Each gets a 4xx ECS error that names the problem, never a 500.
 */
import {
  CreateClusterCommand,
  DescribeTaskDefinitionCommand,
  RegisterTaskDefinitionCommand,
} from '@aws-sdk/client-ecs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT_CONNECT_PATH } from '../../../protocol/agent-protocol';
import { MAX_JSON_NESTING_DEPTH } from '../../../worker/api/ecs-protocol';
import { MAX_COLLECTION_ITEMS, MAX_STRING_CHARS } from '../../../worker/api/model/validate-input';
import { DEFAULT_MAX_REQUEST_BODY_BYTES } from '../../../worker/core/deps';
import { signedFetch } from '../../helpers/credentials';
import {
  ECS_TARGET_PREFIX,
  errorBodyOf,
  type StreamedUpload,
  sendBytes,
  sendEcs,
  sendRaw,
  streamHugeBody,
} from '../../helpers/raw-http';
import type { RunningRuntime } from '../../helpers/runtimes';

/** A runtime started with one extra allowed host name (BERTH_ALLOWED_HOSTS). */
export interface HostileInputHarness {
  name: string;
  start(extraAllowedHost: string): Promise<RunningRuntime>;
}

const CONFIGURED_HOST = 'berth.internal.test';
const CLUSTER = 'hostile';
const MiB = 1024 * 1024;

export function defineHostileInputScenarios(harness: HostileInputHarness) {
  describe(`the ECS front under hostile input on the ${harness.name} runtime`, () => {
    let runtime: RunningRuntime;
    let endpoint: string;

    beforeAll(async () => {
      runtime = await harness.start(CONFIGURED_HOST);
      endpoint = runtime.endpoint;
      await runtime.ecs.send(new CreateClusterCommand({ clusterName: CLUSTER }));
      await runtime.ecs.send(
        new RegisterTaskDefinitionCommand({
          family: 'hostile-web',
          containerDefinitions: [{ name: 'web', image: 'berth-test/busybox:latest', memory: 32 }],
        }),
      );
    });
    afterAll(async () => {
      await runtime?.close();
    });

    describe('request bodies', () => {
      const tooLarge = {
        __type: 'ClientException',
        message: `The request body is larger than this control plane's limit of ${DEFAULT_MAX_REQUEST_BODY_BYTES} bytes (BERTH_MAX_REQUEST_BODY_BYTES).`,
      };

      /**
       * Every upload was refused with 413, or cut off by the server after it answered (workerd
       * closes a connection with an unread body, and the reset can overtake its 413), long before
       * its end: socket buffers take a few MiB, and the server never asked for the rest.
       */
      function expectRefusedEarly(uploads: StreamedUpload[]) {
        for (const upload of uploads) {
          if (upload.response)
            expect(upload.response).toEqual({ status: 413, text: JSON.stringify(tooLarge) });
          expect(upload.bytesSent).toBeLessThan(64 * MiB);
        }
        expect(uploads.some((upload) => upload.response?.status === 413)).toBe(true);
      }

      const uploadsOf = (count: number, framing: 'content-length' | 'chunked') =>
        Promise.all(
          Array.from({ length: count }, () => streamHugeBody(endpoint, { totalBytes: 250 * MiB, framing })),
        );

      it('refuses a body whose Content-Length is over the cap with 413, before reading it', async () => {
        const sequential: StreamedUpload[] = [];
        for (let i = 0; i < 3; i++)
          sequential.push(
            await streamHugeBody(endpoint, { totalBytes: 250 * MiB, framing: 'content-length' }),
          );
        expectRefusedEarly(sequential);
      });

      it('refuses a chunked body with 413 as soon as it passes the cap', async () => {
        const sequential: StreamedUpload[] = [];
        for (let i = 0; i < 3; i++)
          sequential.push(await streamHugeBody(endpoint, { totalBytes: 250 * MiB, framing: 'chunked' }));
        expectRefusedEarly(sequential);
      });

      it('refuses twelve concurrent 250 MiB bodies of each framing, and then still answers', async () => {
        expectRefusedEarly(await uploadsOf(12, 'chunked'));
        expectRefusedEarly(await uploadsOf(12, 'content-length'));
        expect((await sendEcs(endpoint, runtime.credentials, 'ListClusters', '{}')).status).toBe(200);
      });

      it('answers an ordinary request that is over the cap with the 413 error', async () => {
        const response = await sendEcs(
          endpoint,
          runtime.credentials,
          'ListClusters',
          JSON.stringify({ padding: 'Q'.repeat(2 * MiB) }),
        );
        expect(response.status).toBe(413);
        expect(response.headers['x-amzn-errortype']).toBe('ClientException');
        expect(errorBodyOf(response)).toEqual(tooLarge);
      });

      it('reads a body just under the cap', async () => {
        const padding = 'Q'.repeat(DEFAULT_MAX_REQUEST_BODY_BYTES - 100);
        const response = await sendEcs(
          endpoint,
          runtime.credentials,
          'ListClusters',
          JSON.stringify({ padding }),
        );
        expect(response.status).toBe(200);
      });
    });

    describe('a body the answer does not depend on', () => {
      it('is still read, so a pooled connection survives an action Berth does not serve', async () => {
        // fetch pools connections. Before the fix, the answer went out with the body unread and the
        // server then dropped the connection, under a client already writing to it.
        const statuses: (number | string)[] = [];
        for (let i = 0; i < 10; i++) {
          const response = await signedFetch(
            endpoint,
            {
              method: 'POST',
              headers: {
                'X-Amz-Target': `${ECS_TARGET_PREFIX}CreateService`,
                'Content-Type': 'application/x-amz-json-1.1',
              },
              body: JSON.stringify({ serviceName: 'Q'.repeat(300_000) }),
            },
            runtime.credentials,
          ).catch((error: Error) => error);
          statuses.push(response instanceof Error ? String(response.cause ?? response) : response.status);
          if (!(response instanceof Error)) await response.arrayBuffer();
        }
        expect(statuses).toEqual(Array(10).fill(400));
      });
    });

    describe('null for an optional member', () => {
      it.each([
        ['StopTask', { cluster: CLUSTER, task: 'x', reason: null }],
        ['RunTask', { cluster: CLUSTER, taskDefinition: 'hostile-web', group: null, clientToken: null }],
        [
          'RunTask',
          {
            cluster: CLUSTER,
            taskDefinition: 'hostile-web',
            overrides: { containerOverrides: [{ name: 'web', environment: null }] },
          },
        ],
        [
          'StartTask',
          { cluster: CLUSTER, taskDefinition: 'hostile-web', group: null, containerInstances: ['x'] },
        ],
      ])('is treated as absent by %s, never a TypeError', async (action, body) => {
        const response = await sendEcs(endpoint, runtime.credentials, action, JSON.stringify(body));
        expect(response.status).toBeLessThan(500);
        expect(response.text).not.toContain('ServerException');
      });
    });

    describe('members the model does not know', () => {
      it('are dropped, so they are neither stored nor echoed and the SDK can read what was stored', async () => {
        const nested = `${'{"n":'.repeat(50)}1${'}'.repeat(50)}`;
        const body = `{"family":"hostile-unknown","futureFeature":${nested},"containerDefinitions":[{"name":"web","image":"berth-test/busybox:latest","memory":32,"x":{"y":1}}]}`;
        const registered = await sendEcs(endpoint, runtime.credentials, 'RegisterTaskDefinition', body);
        expect(registered.status).toBe(200);
        expect(registered.text).not.toMatch(/futureFeature|"x"/);
        const described = await runtime.ecs.send(
          new DescribeTaskDefinitionCommand({ taskDefinition: 'hostile-unknown' }),
        );
        expect(described.taskDefinition?.containerDefinitions?.[0].name).toBe('web');
        expect(JSON.stringify(described.taskDefinition)).not.toMatch(/futureFeature|"x"/);
      });

      it(`refuses JSON nested more than ${MAX_JSON_NESTING_DEPTH} levels with a 400, even 5,000 deep`, async () => {
        for (const depth of [MAX_JSON_NESTING_DEPTH, 1000, 5000]) {
          const body = `{"futureFeature":${'['.repeat(depth)}${']'.repeat(depth)}}`;
          const response = await sendEcs(endpoint, runtime.credentials, 'RegisterTaskDefinition', body);
          expect(response.status).toBe(400);
          expect(errorBodyOf(response)).toEqual({
            __type: 'InvalidParameterException',
            message: `The request body nests objects and lists more than ${MAX_JSON_NESTING_DEPTH} levels deep.`,
          });
        }
      });
    });

    describe('sizes far over anything ECS accepts', () => {
      it('refuses a string of a million characters with a 400 naming the field', async () => {
        const response = await sendEcs(
          endpoint,
          runtime.credentials,
          'StopTask',
          JSON.stringify({ cluster: CLUSTER, task: 'x', reason: 'Q'.repeat(1_000_000) }),
        );
        expect(response.status).toBe(400);
        expect(errorBodyOf(response)).toEqual({
          __type: 'InvalidParameterException',
          message: `reason: expected at most ${MAX_STRING_CHARS} characters, got 1000000`,
        });
      });

      it('refuses a list of 100,000 items with a 400 naming the field', async () => {
        const tasks = Array.from({ length: 100_000 }, () => 't');
        const response = await sendEcs(
          endpoint,
          runtime.credentials,
          'DescribeTasks',
          JSON.stringify({ cluster: CLUSTER, tasks }),
        );
        expect(response.status).toBe(400);
        expect(errorBodyOf(response)).toEqual({
          __type: 'InvalidParameterException',
          message: `tasks: expected at most ${MAX_COLLECTION_ITEMS} items, got 100000`,
        });
      });
    });

    describe('a nextToken that encodes a huge offset', () => {
      it.each(['ListClusters', 'ListTasks', 'ListTaskDefinitions', 'ListTaskDefinitionFamilies'])(
        'is a 400 from %s',
        async (action) => {
          const body = JSON.stringify({ cluster: CLUSTER, nextToken: 'bzo5OTk5OTk5OTk5OTk5OTk5OTk5OQ' });
          const response = await sendEcs(
            endpoint,
            runtime.credentials,
            action,
            action === 'ListTasks' ? body : body.replace(/"cluster":"\w+",/, ''),
          );
          expect(response.status).toBe(400);
          expect(errorBodyOf(response)).toEqual({
            __type: 'InvalidParameterException',
            message: 'nextToken: is not a token returned by a previous call',
          });
        },
      );
    });

    describe('concurrent writes', () => {
      // Found by the API fuzz: on Workers, concurrent registrations of one family were a 500.
      it('registers 24 revisions of one family at once, each with its own number', async () => {
        const body = JSON.stringify({
          family: 'hostile-concurrent',
          containerDefinitions: [{ name: 'web', image: 'berth-test/busybox:latest', memory: 32 }],
        });
        const responses = await Promise.all(
          Array.from({ length: 24 }, () =>
            sendEcs(endpoint, runtime.credentials, 'RegisterTaskDefinition', body),
          ),
        );
        expect(responses.map((response) => response.status)).toEqual(Array(24).fill(200));
        const revisions = responses.map(
          (response) =>
            (JSON.parse(response.text) as { taskDefinition: { revision: number } }).taskDefinition.revision,
        );
        expect(new Set(revisions).size).toBe(24);
      });
    });

    describe('the Host a request is addressed to', () => {
      const refused = {
        __type: 'AccessDeniedException',
        message:
          "Requests for host 'rebind.attacker.example' are refused: this control plane answers only to its loopback names and to the names in BERTH_ALLOWED_HOSTS.",
      };

      it('refuses an ECS call for a name it was not configured with (DNS rebinding) with 403', async () => {
        const response = await sendEcs(endpoint, runtime.credentials, 'ListClusters', '{}', {
          Host: 'rebind.attacker.example:8787',
        });
        expect(response.status).toBe(403);
        expect(errorBodyOf(response)).toEqual({
          ...refused,
          message: refused.message.replace("example'", "example:8787'"),
        });
      });

      it('refuses every route, the event stream and the agent connect path included', async () => {
        const headers = { Host: 'rebind.attacker.example' };
        for (const path of [
          '/health',
          '/',
          `/berth/v1/clusters/${CLUSTER}/task-events`,
          `${AGENT_CONNECT_PATH}?cluster=${CLUSTER}`,
        ]) {
          const response = await sendRaw(endpoint, { method: 'GET', path, headers });
          expect({ path, status: response.status, body: errorBodyOf(response) }).toEqual({
            path,
            status: 403,
            body: refused,
          });
        }
      });

      it('refuses a request without a Host header', async () => {
        // HTTP/1.1 requires Host, so only an HTTP/1.0 request can leave it out.
        const answer = await sendBytes(endpoint, 'GET /health HTTP/1.0\r\n\r\n');
        expect([400, 403]).toContain(answer?.status);
        expect(answer?.text).not.toContain('"ok"');
      });

      it('answers the loopback names on any port, and the configured name', async () => {
        for (const host of [
          '127.0.0.1:1',
          'localhost',
          'LOCALHOST:8787',
          '[::1]:9',
          CONFIGURED_HOST,
          `${CONFIGURED_HOST}:443`,
        ]) {
          const response = await sendEcs(endpoint, runtime.credentials, 'ListClusters', '{}', { Host: host });
          expect({ host, status: response.status }).toEqual({ host, status: 200 });
        }
      });
    });
  });
}
