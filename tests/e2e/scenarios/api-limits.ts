/**
 * Per-key limits at the edge, on every runtime: a key over its request rate gets AWS's
 * ThrottlingException (which SDKs retry with back-off) while other keys go on; a key holding its cap
 * of event streams gets 429 LimitExceededException until it closes one.
 */
import { CreateClusterCommand, ECSClient, ListClustersCommand } from '@aws-sdk/client-ecs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedFetch, type TestCredentials } from '../../helpers/credentials';
import type { RunningRuntime, RuntimeHarness } from '../../helpers/runtimes';
import { waitFor } from '../../helpers/wait';

const TARGET = 'AmazonEC2ContainerServiceV20141113';
const LIMITS = { requestsPerSecond: 5, burst: 10, streams: 2 };

export function defineApiLimitScenarios(harness: RuntimeHarness) {
  describe(`per-key limits on the ${harness.name} runtime`, () => {
    let runtime: RunningRuntime;
    let other: TestCredentials;
    let bursty: TestCredentials;

    const listClusters = (as: TestCredentials) =>
      signedFetch(
        `${runtime.endpoint}/`,
        {
          method: 'POST',
          headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `${TARGET}.ListClusters` },
          body: '{}',
        },
        as,
      );

    beforeAll(async () => {
      // Short keepalives: a stream's lifetime is 60 of them, and that is what frees the slot of a
      // stream whose client left on local workerd, which never reports the disconnect.
      runtime = await harness.start({ keyLimits: LIMITS, heartbeatIntervalMs: 200 });
      await runtime.ecs.send(new CreateClusterCommand({ clusterName: 'limited' }));
      const createKey = async (name: string) => {
        const made = await signedFetch(
          `${runtime.endpoint}/berth/v1/keys`,
          { method: 'POST', body: JSON.stringify({ name, policy: 'admin' }) },
          runtime.credentials,
        );
        return (await made.json()) as TestCredentials;
      };
      other = await createKey('other');
      bursty = await createKey('bursty');
    });
    afterAll(async () => {
      await runtime?.close();
    });

    it('throttles a key past its burst with ThrottlingException, leaving other keys alone', async () => {
      const answers = await Promise.all(Array.from({ length: 30 }, () => listClusters(bursty)));
      const statuses = answers.map((answer) => answer.status);
      const throttled = answers.filter((answer) => answer.status === 400);
      // The burst passes (a few more may refill while the calls are in flight); the rest is refused.
      expect(statuses.filter((status) => status === 200).length).toBeGreaterThanOrEqual(LIMITS.burst);
      expect(throttled.length).toBeGreaterThanOrEqual(10);
      expect(await throttled[0]?.json()).toEqual({ __type: 'ThrottlingException', message: 'Rate exceeded' });
      expect((await listClusters(other)).status).toBe(200);

      // The SDK treats ThrottlingException as a throttling error: it backs off and gets through.
      const patient = new ECSClient({
        endpoint: runtime.endpoint,
        region: 'us-east-1',
        credentials: bursty,
        maxAttempts: 10,
      });
      try {
        const results = await Promise.all(
          Array.from({ length: 8 }, () => patient.send(new ListClustersCommand({}))),
        );
        expect(results.every((result) => result.clusterArns?.some((arn) => arn.endsWith('/limited')))).toBe(
          true,
        );
      } finally {
        patient.destroy();
      }
    });

    it('caps the event streams one key holds open, and frees a slot when one closes', async () => {
      const url = `${runtime.endpoint}/berth/v1/clusters/limited/task-events`;
      const aborts = [new AbortController(), new AbortController()];
      const open = await Promise.all(
        aborts.map((abort) => signedFetch(url, { signal: abort.signal }, other)),
      );
      expect(open.map((response) => response.status)).toEqual([200, 200]);

      const third = await signedFetch(url, {}, other);
      expect(third.status).toBe(429);
      expect(third.headers.get('retry-after')).toBe('5');
      const refusal = (await third.json()) as { __type: string; message: string };
      expect(refusal.__type).toBe('LimitExceededException');
      expect(refusal.message).toContain(`access key ${other.accessKeyId} already has 2 event streams open`);

      // Another key is not held back by this one's streams.
      const abortAdmin = new AbortController();
      expect((await signedFetch(url, { signal: abortAdmin.signal }, runtime.credentials)).status).toBe(200);
      abortAdmin.abort();

      aborts[0]?.abort();
      const again = await waitFor(
        'a stream slot freed by the closed stream',
        async () => {
          const abort = new AbortController();
          const response = await signedFetch(url, { signal: abort.signal }, other);
          if (response.status === 200) return abort;
          await response.body?.cancel();
          return undefined;
        },
        15_000,
        200,
      );
      again.abort();
      aborts[1]?.abort();
    });
  });
}
