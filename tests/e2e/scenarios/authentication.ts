/**
 * Who calls and what they may do, end to end on every runtime: the real AWS SDK signing with keys
 * made through the Berth API, every way to get a signature wrong answered with AWS's error, and
 * policies (read-only, a deployer of one cluster, an explicit Deny, a deactivated key).
 */
import {
  CreateClusterCommand,
  DeleteClusterCommand,
  ECSClient,
  ListClustersCommand,
  ListTasksCommand,
  RunTaskCommand,
} from '@aws-sdk/client-ecs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedFetch, signedRequest, type TestCredentials } from '../../helpers/credentials';
import { errorOf } from '../../helpers/ecs-errors';
import type { RunningRuntime, RuntimeHarness } from '../../helpers/runtimes';

const TARGET = 'AmazonEC2ContainerServiceV20141113';

export function defineAuthenticationScenarios(harness: RuntimeHarness) {
  describe(`authentication and policies on the ${harness.name} runtime`, () => {
    let runtime: RunningRuntime;
    const clients: ECSClient[] = [];
    const clientFor = (credentials: TestCredentials, extra: { systemClockOffset?: number } = {}) => {
      const client = new ECSClient({
        endpoint: runtime.endpoint,
        region: 'us-east-1',
        credentials,
        maxAttempts: 1,
        ...extra,
      });
      clients.push(client);
      return client;
    };
    const keysApi = async (method: string, path: string, body?: unknown, as?: TestCredentials) => {
      const response = await signedFetch(
        `${runtime.endpoint}/berth/v1/keys${path}`,
        { method, body: body === undefined ? undefined : JSON.stringify(body) },
        as ?? runtime.credentials,
      );
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };
    const createKey = async (name: string, policy: unknown): Promise<TestCredentials> => {
      const { status, body } = await keysApi('POST', '', { name, policy });
      expect(status).toBe(200);
      return { accessKeyId: body.accessKeyId as string, secretAccessKey: body.secretAccessKey as string };
    };

    beforeAll(async () => {
      runtime = await harness.start();
      for (const clusterName of ['team-a', 'team-b']) {
        await runtime.ecs.send(new CreateClusterCommand({ clusterName }));
      }
    });
    afterAll(async () => {
      for (const client of clients) client.destroy();
      await runtime?.close();
    });

    it('works with a right key, and answers every wrong signature with the AWS error', async () => {
      const key = await createKey('signer', 'admin');
      expect((await clientFor(key).send(new ListClustersCommand({}))).clusterArns).toContain(
        'arn:aws:ecs:us-east-1:000000000000:cluster/team-a',
      );
      const unknown = await errorOf(
        clientFor({ accessKeyId: 'BKIAUNKNOWN000000000', secretAccessKey: key.secretAccessKey }).send(
          new ListClustersCommand({}),
        ),
      );
      expect(unknown).toMatchObject({
        name: 'UnrecognizedClientException',
        message: 'The security token included in the request is invalid.',
        status: 400,
      });
      const wrong = await errorOf(
        clientFor({ ...key, secretAccessKey: `${key.secretAccessKey}x` }).send(new ListClustersCommand({})),
      );
      expect(wrong.name).toBe('InvalidSignatureException');
      expect(wrong.message).toMatch(/^The request signature we calculated does not match/);
      const late = await errorOf(
        clientFor(key, { systemClockOffset: -10 * 60_000 }).send(new ListClustersCommand({})),
      );
      expect(late.name).toBe('InvalidSignatureException');
      expect(late.message).toMatch(/^Signature expired: \d{8}T\d{6}Z is now earlier than/);
    });

    it('refuses a tampered body and an unsigned call, on the ECS API and the Berth API', async () => {
      const signed = await signedRequest(
        `${runtime.endpoint}/`,
        {
          method: 'POST',
          headers: { 'Content-Type': 'application/x-amz-json-1.1', 'X-Amz-Target': `${TARGET}.ListTasks` },
          body: JSON.stringify({ cluster: 'team-a' }),
        },
        runtime.credentials,
      );
      const tampered = await fetch(signed.url, {
        method: 'POST',
        headers: signed.headers,
        body: JSON.stringify({ cluster: 'team-b' }),
      });
      expect(tampered.status).toBe(400);
      expect(((await tampered.json()) as { __type: string }).__type).toBe('InvalidSignatureException');

      const unsigned = await fetch(`${runtime.endpoint}/`, {
        method: 'POST',
        headers: { 'X-Amz-Target': `${TARGET}.ListClusters` },
        body: '{}',
      });
      expect(unsigned.status).toBe(400);
      expect(await unsigned.json()).toEqual({
        __type: 'MissingAuthenticationTokenException',
        message: 'Missing Authentication Token',
      });
      for (const path of ['/berth/v1/keys', '/berth/v1/clusters/team-a/task-events']) {
        const answer = await fetch(`${runtime.endpoint}${path}`);
        expect({ path, status: answer.status }).toEqual({ path, status: 400 });
      }
    });

    it('lets read-only describe and list but not run, naming principal, action and resource', async () => {
      const reader = clientFor(await createKey('auditor', 'read-only'));
      expect((await reader.send(new ListTasksCommand({ cluster: 'team-a' }))).taskArns).toEqual([]);
      const refused = await errorOf(
        reader.send(new RunTaskCommand({ cluster: 'team-a', taskDefinition: 'x' })),
      );
      expect(refused).toMatchObject({
        name: 'AccessDeniedException',
        message:
          'User: arn:aws:iam::000000000000:user/auditor is not authorized to perform: ecs:RunTask on resource: arn:aws:ecs:us-east-1:000000000000:cluster/team-a because no identity-based policy allows the ecs:RunTask action',
      });
    });

    it('keeps a deployer of cluster A away from cluster B, and out of the key API', async () => {
      const deployerKey = await createKey('ci-a', 'deployer:team-a');
      const deployer = clientFor(deployerKey);
      expect((await deployer.send(new ListTasksCommand({ cluster: 'team-a' }))).taskArns).toEqual([]);
      const other = await errorOf(deployer.send(new ListTasksCommand({ cluster: 'team-b' })));
      expect(other.name).toBe('AccessDeniedException');
      expect(other.message).toContain('cluster/team-b');
      const keys = await keysApi('GET', '', undefined, deployerKey);
      expect(keys.body.__type).toBe('AccessDeniedException');
    });

    it('lets an explicit Deny beat an Allow', async () => {
      const key = await createKey('careful', {
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Action: 'ecs:*', Resource: '*' },
          { Effect: 'Deny', Action: 'ecs:DeleteCluster', Resource: 'arn:aws:ecs:*:*:cluster/team-*' },
        ],
      });
      const refused = await errorOf(clientFor(key).send(new DeleteClusterCommand({ cluster: 'team-b' })));
      expect(refused.name).toBe('AccessDeniedException');
      expect(refused.message).toMatch(/with an explicit deny in an identity-based policy$/);
      expect((await clientFor(key).send(new ListClustersCommand({}))).clusterArns!.length).toBeGreaterThan(0);
    });

    it('stops accepting a key once deactivated, lists keys without secrets, and refuses bad key requests', async () => {
      const key = await createKey('short-lived', 'admin');
      const client = clientFor(key);
      await client.send(new ListClustersCommand({}));
      const deactivated = await keysApi('POST', `/${key.accessKeyId}/deactivate`);
      expect(deactivated.body).toMatchObject({ accessKeyId: key.accessKeyId, status: 'Inactive' });
      expect((await errorOf(client.send(new ListClustersCommand({})))).name).toBe(
        'UnrecognizedClientException',
      );

      const listed = await keysApi('GET', '');
      const keys = listed.body.accessKeys as Record<string, unknown>[];
      expect(keys.find((k) => k.accessKeyId === key.accessKeyId)).toMatchObject({
        name: 'short-lived',
        policy: 'admin',
        status: 'Inactive',
      });
      expect(JSON.stringify(listed.body)).not.toContain(key.secretAccessKey);

      const bad: [unknown, RegExp][] = [
        [{ name: 'x', policy: 'root' }, /policy: 'root' is not admin, read-only/],
        [{ name: 'bad name!', policy: 'admin' }, /^name: /],
        [
          { name: 'x', policy: { Statement: [{ Effect: 'Maybe', Action: '*', Resource: '*' }] } },
          /Effect: must be Allow or Deny/,
        ],
      ];
      for (const [body, message] of bad) {
        const answer = await keysApi('POST', '', body);
        expect(answer.status).toBe(400);
        expect(answer.body.__type).toBe('InvalidParameterException');
        expect(String(answer.body.message)).toMatch(message);
      }
      const gone = await keysApi('DELETE', '/BKIANOSUCHKEY0000000');
      expect(gone.body.__type).toBe('InvalidParameterException');
      expect((await keysApi('DELETE', `/${key.accessKeyId}`)).status).toBe(200);
    });
  });
}
