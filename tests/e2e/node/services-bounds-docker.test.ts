/**
 * Rolling updates observed from Docker itself: three services on a real agent, each with a real
 * Docker health check, roll over to a new task definition under a different (minimumHealthyPercent,
 * maximumPercent) pair while a sampler lists the cluster's containers every 50 ms. In every sample,
 * the containers Docker calls healthy are at least ceil(desired × min / 100) and the containers that
 * exist at most floor(desired × max / 100). ECS's shortest health-check interval is 5 s, so each
 * round of a rollout waits a probe: the three rollouts run at once.
 */
import { rmSync } from 'node:fs';
import {
  CreateClusterCommand,
  CreateServiceCommand,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
  UpdateServiceCommand,
  waitUntilServicesStable,
} from '@aws-sdk/client-ecs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentProcess, spawnAgent } from '../../helpers/agent-process';
import { TEST_IMAGE } from '../../helpers/docker';
import {
  type ContainerLook,
  type DockerSample,
  isHealthy,
  isLive,
  longestGapMs,
  lookAtCluster,
  removeClusterContainers,
  sampleCluster,
} from '../../helpers/docker-sampler';
import { waitForCompletedDeployments, waitForConnectedInstance } from '../../helpers/ecs-queries';
import { nodeRuntime, type RunningRuntime } from '../../helpers/runtimes';
import { waitFor } from '../../helpers/wait';

const CLUSTER = `svc-bounds-${Math.random().toString(36).slice(2, 8)}`;
/** Generous limits: on a loaded machine every probe, report and stop takes longer; none is reached when all is well. */
const WAITER = { minDelay: 1, maxDelay: 1, maxWaitTime: 90 };
/** Docker labels from the task definition, so a sample tells each container's service and revision. */
const SERVICE_LABEL = 'berth-test.service';
const REVISION_LABEL = 'berth-test.revision';

/**
 * 5 tasks make the rounding matter: ceil(2.5) = 3, ceil(3.75) = 4, floor(6.25) = 6. (100, 200) has no
 * rounding to test and doubles its containers, so it runs ECS's worked example: 4 new beside 4 old.
 */
const PAIRS = [
  { service: 'min50-max100', desiredCount: 5, minimumHealthyPercent: 50, maximumPercent: 100 },
  { service: 'min100-max200', desiredCount: 4, minimumHealthyPercent: 100, maximumPercent: 200 },
  { service: 'min75-max125', desiredCount: 5, minimumHealthyPercent: 75, maximumPercent: 125 },
];
const desiredOf = (service: string) => PAIRS.find((p) => p.service === service)!.desiredCount;

const ofService = (service: string, containers: ContainerLook[]) =>
  containers.filter((c) => c.labels[SERVICE_LABEL] === service);

/** Each change the samples show, as `+ms rev1 live/healthy  rev2 live/healthy`: what a failure prints. */
function timeline(service: string, samples: readonly DockerSample[]): string {
  const lines: string[] = [];
  let previous = '';
  for (const sample of samples) {
    const live = ofService(service, sample.containers).filter(isLive);
    const counts = ['1', '2']
      .map((revision) => {
        const mine = live.filter((c) => c.labels[REVISION_LABEL] === revision);
        return `rev${revision} ${mine.length}/${mine.filter(isHealthy).length}`;
      })
      .join('  ');
    if (counts !== previous) lines.push(`+${sample.atMs - samples[0].atMs} ms  ${counts}`);
    previous = counts;
  }
  return lines.join('\n');
}

describe('rolling updates within the bounds, as Docker sees them', () => {
  let runtime: RunningRuntime;
  let agent: AgentProcess;

  beforeAll(async () => {
    runtime = await nodeRuntime.start();
    await runtime.ecs.send(new CreateClusterCommand({ clusterName: CLUSTER }));
    agent = spawnAgent({
      endpoint: runtime.endpoint,
      cluster: CLUSTER,
      joinToken: await runtime.mintJoinToken(CLUSTER),
    });
    await waitForConnectedInstance(runtime.ecs, CLUSTER, () => agent.output());
  });

  afterAll(async () => {
    await agent?.kill();
    if (agent) rmSync(agent.stateDir, { recursive: true, force: true });
    await removeClusterContainers(CLUSTER);
    await runtime?.close();
  });

  async function register(service: string, revision: string): Promise<string> {
    const out = await runtime.ecs.send(
      new RegisterTaskDefinitionCommand({
        family: `${CLUSTER}-${service}`,
        containerDefinitions: [
          {
            name: 'main',
            image: TEST_IMAGE,
            memory: 16,
            essential: true,
            stopTimeout: 2,
            dockerLabels: { [SERVICE_LABEL]: service, [REVISION_LABEL]: revision },
            // `wait` returns on SIGTERM, so a stop takes milliseconds, not the stop timeout.
            command: ['sh', '-c', 'touch /tmp/ok; trap "exit 0" TERM; sleep 3600 & wait'],
            // Generous timeout and retries: a probe slowed by a busy machine must not turn a container unhealthy.
            healthCheck: { command: ['CMD-SHELL', 'test -f /tmp/ok'], interval: 5, timeout: 5, retries: 3 },
          },
        ],
      }),
    );
    return out.taskDefinition!.taskDefinitionArn!;
  }

  /** desiredCount containers of the service, all running the revision and healthy in Docker, and no other live one. */
  function settledOn(service: string, revision: string, containers: ContainerLook[]) {
    const live = ofService(service, containers).filter(isLive);
    return (
      live.length === desiredOf(service) &&
      live.every((c) => c.labels[REVISION_LABEL] === revision && isHealthy(c)) &&
      live
    );
  }

  it(`never has fewer healthy or more containers than the bounds allow, for ${PAIRS.length} (min, max) pairs`, async () => {
    const revisions = new Map<string, string[]>();
    for (const { service } of PAIRS)
      revisions.set(service, [await register(service, '1'), await register(service, '2')]);
    for (const { service, desiredCount, minimumHealthyPercent, maximumPercent } of PAIRS) {
      await runtime.ecs.send(
        new CreateServiceCommand({
          cluster: CLUSTER,
          serviceName: service,
          taskDefinition: revisions.get(service)![0],
          desiredCount,
          deploymentConfiguration: { minimumHealthyPercent, maximumPercent },
        }),
      );
    }
    const services = PAIRS.map((p) => p.service);
    await waitUntilServicesStable({ client: runtime.ecs, ...WAITER }, { cluster: CLUSTER, services });
    await waitFor(
      'every service to have desiredCount healthy containers of revision 1',
      async () => {
        const containers = await lookAtCluster(CLUSTER);
        return services.every((s) => settledOn(s, '1', containers));
      },
      60_000,
    ).catch((error) => {
      throw new Error(`${String(error)}\nagent output:\n${agent.output()}`);
    });

    const sampler = sampleCluster(CLUSTER, 50);
    await Promise.all(
      services.map((service) =>
        runtime.ecs.send(
          new UpdateServiceCommand({
            cluster: CLUSTER,
            service,
            taskDefinition: revisions.get(service)![1],
          }),
        ),
      ),
    );
    await waitFor(
      'every service to have desiredCount healthy containers of revision 2, and no other',
      async () => {
        const containers = await lookAtCluster(CLUSTER);
        return services.every((s) => settledOn(s, '2', containers));
      },
      90_000,
    );
    const samples = await sampler.stop();
    await waitUntilServicesStable({ client: runtime.ecs, ...WAITER }, { cluster: CLUSTER, services });

    // A violation lasting longer than the longest gap would have been seen.
    console.log(
      `${samples.length} samples over ${samples.at(-1)!.atMs - samples[0].atMs} ms, longest gap ${longestGapMs(samples)} ms`,
    );
    const healthyOf = (service: string) =>
      samples.map((s) => ofService(service, s.containers).filter(isHealthy).length);
    const liveOf = (service: string) =>
      samples.map((s) => ofService(service, s.containers).filter(isLive).length);
    for (const { service, desiredCount, minimumHealthyPercent, maximumPercent } of PAIRS) {
      const minimum = Math.ceil((desiredCount * minimumHealthyPercent) / 100);
      const maximum = Math.floor((desiredCount * maximumPercent) / 100);
      const fewest = Math.min(...healthyOf(service));
      const most = Math.max(...liveOf(service));
      console.log(
        `${service}: fewest healthy ${fewest} (bound ${minimum}), most containers ${most} (bound ${maximum})`,
      );
      const why = `${service}, as Docker showed it:\n${timeline(service, samples)}`;
      expect(fewest, `healthy containers of ${why}`).toBeGreaterThanOrEqual(minimum);
      expect(most, `containers of ${why}`).toBeLessThanOrEqual(maximum);
      // The sampler saw the rollout under way, not only its two ends.
      expect(
        samples.some((s) => {
          const revisionsLive = new Set(
            ofService(service, s.containers)
              .filter(isLive)
              .map((c) => c.labels[REVISION_LABEL]),
          );
          return revisionsLive.size === 2;
        }),
        `${service}: a sample with both revisions`,
      ).toBe(true);
    }
    // Where the bounds force it, Docker shows what they force: with max 100 % old tasks go before
    // new ones are healthy, and with min 100 % new tasks start beside all the old ones.
    expect(Math.min(...healthyOf('min50-max100'))).toBeLessThan(desiredOf('min50-max100'));
    expect(Math.max(...liveOf('min100-max200'))).toBeGreaterThan(desiredOf('min100-max200'));

    // The control plane agrees with Docker: the running tasks are the running containers.
    const running = (await lookAtCluster(CLUSTER)).filter((c) => c.state === 'running');
    for (const service of services) {
      const listed = await runtime.ecs.send(
        new ListTasksCommand({ cluster: CLUSTER, serviceName: service, desiredStatus: 'RUNNING' }),
      );
      expect(new Set(listed.taskArns)).toEqual(new Set(ofService(service, running).map((c) => c.taskArn)));
    }
    for (const service of await waitForCompletedDeployments(runtime.ecs, CLUSTER, services)) {
      expect(service.deployments![0]).toMatchObject({
        taskDefinition: revisions.get(service.serviceName!)![1],
        runningCount: desiredOf(service.serviceName!),
      });
    }
  }, 180_000);
});
