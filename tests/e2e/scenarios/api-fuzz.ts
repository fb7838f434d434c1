/**
 * A fuzz of the ECS front through the real app, against every runtime: thousands of bodies
 * generated from the ECS model (tests/helpers/ecs-body-arbitrary.ts), sent to every action of the
 * model, served or not, a few at a time, in a shuffled order so state changes mix. A cluster with
 * a registered instance (a hand-driven agent that runs nothing) and a few pending tasks gives the
 * generated names something to find. No answer may be a 5xx, no request may hang, and afterwards
 * everything stored must still be readable by the AWS SDK.
 *
 * The seed is random unless BERTH_FUZZ_SEED is set; a failure prints it, so the run can be replayed.
 */
import {
  type Cluster,
  CreateClusterCommand,
  DescribeClustersCommand,
  DescribeContainerInstancesCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  type ECSClient,
  ListClustersCommand,
  ListContainerInstancesCommand,
  ListTaskDefinitionsCommand,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
} from '@aws-sdk/client-ecs';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACTIONS } from '../../../worker/api/actions';
import { operationNames } from '../../../worker/api/model/validate-input';
import { DEFAULT_MAX_REQUEST_BODY_BYTES } from '../../../worker/core/deps';
import { signedFetch, type TestCredentials } from '../../helpers/credentials';
import { ecsBodyArbitrary, type FuzzNames, mutatedBodyArbitrary } from '../../helpers/ecs-body-arbitrary';
import { validRequests } from '../../helpers/ecs-fuzz-seeds';
import { connectRawAgent, helloFrame, type RawAgent } from '../../helpers/raw-agent';
import { ECS_TARGET_PREFIX } from '../../helpers/raw-http';
import type { RunningRuntime, RuntimeHarness } from '../../helpers/runtimes';

/**
 * Bodies for the actions Berth serves, shared among them (half shaped by the model, half mutated
 * from a valid request), so the fuzz stays as quick as more actions are served; and bodies per
 * action it answers UnsupportedFeatureException. 2,000 served bodies and 8 per unserved action
 * keep the total above 2,000 and the run within seconds on both runtimes.
 */
const SERVED_BODIES = 2000;
const MIN_BODIES_PER_SERVED_ACTION = 30;
const BODIES_PER_UNSERVED_ACTION = 8;
const REQUESTS_IN_FLIGHT = 8;
/** Far longer than any answer takes; a request still open then counts as a hang. */
const REQUEST_TIMEOUT_MS = 15_000;

interface FuzzCase {
  action: string;
  body: string;
}

interface FuzzFinding {
  action: string;
  outcome: string;
  body: string;
}

function fuzzCases(names: FuzzNames, seed: number): FuzzCase[] {
  const seeds = validRequests(names);
  const perServedAction = Math.max(
    MIN_BODIES_PER_SERVED_ACTION,
    Math.ceil(SERVED_BODIES / Object.keys(ACTIONS).length),
  );
  const cases: FuzzCase[] = [];
  operationNames().forEach((action, index) => {
    const served = Object.hasOwn(ACTIONS, action);
    // A served action without a valid request in ecs-fuzz-seeds.ts gets model-shaped bodies only.
    const validOnes = seeds[action] ?? [];
    const bodies =
      served && validOnes.length > 0
        ? fc.oneof(ecsBodyArbitrary(action, names), fc.oneof(...validOnes.map(mutatedBodyArbitrary)))
        : ecsBodyArbitrary(action, names);
    const numRuns = served ? perServedAction : BODIES_PER_UNSERVED_ACTION;
    for (const body of fc.sample(bodies, { numRuns, seed: seed + index })) cases.push({ action, body });
  });
  // A seeded shuffle, so the same seed replays the same order.
  return fc.sample(fc.shuffledSubarray(cases, { minLength: cases.length }), { numRuns: 1, seed })[0];
}

/**
 * The answer's status, or why there was none. A reset of a kept-alive connection is tried once
 * more, as the AWS SDKs retry it: a connection the server closed after refusing an oversized body
 * without reading it can be handed to the next request before the client sees it close, so that
 * request is reset before the server ever reads it. A second reset is a finding.
 */
async function send(
  endpoint: string,
  credentials: TestCredentials,
  fuzzCase: FuzzCase,
): Promise<number | string> {
  const outcome = await sendOnce(endpoint, credentials, fuzzCase);
  return typeof outcome === 'string' && outcome.includes('ECONNRESET')
    ? sendOnce(endpoint, credentials, fuzzCase)
    : outcome;
}

async function sendOnce(
  endpoint: string,
  credentials: TestCredentials,
  { action, body }: FuzzCase,
): Promise<number | string> {
  try {
    // Signed by a key that may do everything: the fuzz reaches every action's own validation.
    const response = await signedFetch(
      endpoint,
      {
        method: 'POST',
        headers: {
          'Content-Type': 'application/x-amz-json-1.1',
          'X-Amz-Target': `${ECS_TARGET_PREFIX}${action}`,
        },
        body,
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      },
      credentials,
    );
    await response.arrayBuffer();
    return response.status;
  } catch (error) {
    if (error instanceof Error && error.name === 'TimeoutError') return 'no answer (hang)';
    return `network error: ${String(error)} (${String(error instanceof Error ? error.cause : '')})`;
  }
}

function isFinding(bodyBytes: number, outcome: number | string): boolean {
  if (typeof outcome === 'number') return outcome >= 500;
  // A server that refuses an oversized body may close the connection before reading the rest,
  // and the client then sees its write fail instead of the 413.
  return bodyBytes <= DEFAULT_MAX_REQUEST_BODY_BYTES || outcome === 'no answer (hang)';
}

async function runCases(endpoint: string, credentials: TestCredentials, cases: FuzzCase[]) {
  const findings: FuzzFinding[] = [];
  const statuses = new Map<number | string, number>();
  let next = 0;
  const worker = async () => {
    while (next < cases.length) {
      const fuzzCase = cases[next++];
      const outcome = await send(endpoint, credentials, fuzzCase);
      const key = typeof outcome === 'number' ? outcome : 'network';
      statuses.set(key, (statuses.get(key) ?? 0) + 1);
      if (isFinding(Buffer.byteLength(fuzzCase.body), outcome)) {
        findings.push({
          action: fuzzCase.action,
          outcome: String(outcome),
          body: fuzzCase.body.slice(0, 600),
        });
      }
    }
  };
  await Promise.all(Array.from({ length: REQUESTS_IN_FLIGHT }, worker));
  return { findings, statuses };
}

async function allTaskDefinitionArns(ecs: ECSClient): Promise<string[]> {
  const arns: string[] = [];
  let nextToken: string | undefined;
  do {
    const page = await ecs.send(new ListTaskDefinitionsCommand({ nextToken }));
    arns.push(...(page.taskDefinitionArns ?? []));
    nextToken = page.nextToken;
  } while (nextToken);
  return arns;
}

export function defineApiFuzzScenarios(harness: RuntimeHarness) {
  describe(`the ECS API fuzz on the ${harness.name} runtime`, () => {
    let runtime: RunningRuntime;
    let agent: RawAgent | undefined;
    // The default cluster, so a request that names none still finds the instance and its tasks.
    const names: FuzzNames = {
      cluster: 'default',
      family: 'fuzz-web',
      containerInstanceArns: [],
      taskArns: [],
    };

    beforeAll(async () => {
      runtime = await harness.start();
      await runtime.ecs.send(new CreateClusterCommand({ clusterName: names.cluster }));
      agent = await connectRawAgent(
        runtime.endpoint,
        names.cluster,
        await runtime.mintJoinToken(names.cluster),
      );
      agent.send(helloFrame());
      names.containerInstanceArns.push((await agent.waitForFrame('welcome')).containerInstanceArn);
      await runtime.ecs.send(
        new RegisterTaskDefinitionCommand({
          family: names.family,
          containerDefinitions: [{ name: 'web', image: 'berth-test/busybox:latest', memory: 32 }],
        }),
      );
      const run = await runtime.ecs.send(
        new RunTaskCommand({ cluster: names.cluster, taskDefinition: names.family, count: 3 }),
      );
      names.taskArns.push(...(run.tasks ?? []).map((task) => task.taskArn!));
    });
    afterAll(async () => {
      agent?.close();
      await runtime?.close();
    });

    it('answers thousands of generated bodies across every action without a 5xx or a hang', async () => {
      const seed = Number(process.env.BERTH_FUZZ_SEED) || Math.floor(Math.random() * 2 ** 31);
      const cases = fuzzCases(names, seed);
      expect(cases.length).toBeGreaterThanOrEqual(2000);
      const startedAt = performance.now();
      const { findings, statuses } = await runCases(runtime.endpoint, runtime.credentials, cases);
      const seconds = ((performance.now() - startedAt) / 1000).toFixed(1);
      console.log(
        `api fuzz on ${harness.name}: ${cases.length} bodies in ${seconds} s (seed ${seed}); answers ${JSON.stringify(Object.fromEntries(statuses))}`,
      );
      expect(findings, `replay with BERTH_FUZZ_SEED=${seed}`).toEqual([]);
    });

    it('leaves everything it stored readable by the AWS SDK', async () => {
      // The fuzz may have deregistered the instance and deleted every cluster; a new one still works.
      await runtime.ecs.send(new CreateClusterCommand({ clusterName: 'after-fuzz' }));
      const clusterArns = (await runtime.ecs.send(new ListClustersCommand({}))).clusterArns ?? [];
      expect(clusterArns).toContain('arn:aws:ecs:us-east-1:000000000000:cluster/after-fuzz');
      const clusters: Cluster[] = [];
      for (let i = 0; i < clusterArns.length; i += 100) {
        const described = await runtime.ecs.send(
          new DescribeClustersCommand({
            clusters: clusterArns.slice(i, i + 100),
            include: ['TAGS', 'SETTINGS'],
          }),
        );
        expect(described.failures ?? []).toEqual([]);
        clusters.push(...(described.clusters ?? []));
      }
      for (const taskDefinition of await allTaskDefinitionArns(runtime.ecs)) {
        const described = await runtime.ecs.send(
          new DescribeTaskDefinitionCommand({ taskDefinition, include: ['TAGS'] }),
        );
        expect(described.taskDefinition?.taskDefinitionArn).toBe(taskDefinition);
      }
      // Every cluster still active answers for its tasks and instances.
      const active = clusters
        .filter((cluster) => cluster.status === 'ACTIVE')
        .map((cluster) => cluster.clusterName!);
      for (const cluster of active) {
        for (const desiredStatus of ['RUNNING', 'STOPPED'] as const) {
          const { taskArns } = await runtime.ecs.send(new ListTasksCommand({ cluster, desiredStatus }));
          if (!taskArns?.length) continue;
          const described = await runtime.ecs.send(new DescribeTasksCommand({ cluster, tasks: taskArns }));
          expect(described.tasks?.length).toBe(taskArns.length);
        }
        const { containerInstanceArns } = await runtime.ecs.send(
          new ListContainerInstancesCommand({ cluster }),
        );
        if (!containerInstanceArns?.length) continue;
        const described = await runtime.ecs.send(
          new DescribeContainerInstancesCommand({ cluster, containerInstances: containerInstanceArns }),
        );
        expect(described.containerInstances?.length).toBe(containerInstanceArns.length);
      }
    });
  });
}
