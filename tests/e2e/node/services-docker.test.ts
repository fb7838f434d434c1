/**
 * A service on a real agent and real Docker: a 3-task service runs 3 containers, and a rolling
 * update to a new task definition ends with 3 containers of the new one, never more than the
 * maximum running at once (sampled from Docker while the update runs). The image digest the
 * agent reads from Docker shows in DescribeTasks and in the service revision. A new task definition
 * whose container exits at once trips the circuit breaker, which rolls the service back to the
 * containers of the old one.
 */
import {
  CreateClusterCommand,
  CreateServiceCommand,
  DeleteServiceCommand,
  DescribeServiceRevisionsCommand,
  DescribeServicesCommand,
  DescribeTasksCommand,
  ListServiceDeploymentsCommand,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
  UpdateServiceCommand,
  waitUntilServicesInactive,
  waitUntilServicesStable,
} from '@aws-sdk/client-ecs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { imageDigestOf } from '../../../agent/runtime/docker';
import { type AgentProcess, spawnAgent } from '../../helpers/agent-process';
import { docker, TEST_IMAGE } from '../../helpers/docker';
import { isLive, lookAtCluster, removeClusterContainers, sampleCluster } from '../../helpers/docker-sampler';
import { nodeRuntime, type RunningRuntime } from '../../helpers/runtimes';
import { waitFor } from '../../helpers/wait';

const CLUSTER = `svc-docker-${Math.random().toString(36).slice(2, 8)}`;
const WAITER = { minDelay: 1, maxDelay: 1, maxWaitTime: 90 };

/** Running containers the agent made for this cluster. */
async function runningContainers() {
  return (await lookAtCluster(CLUSTER)).filter((c) => c.state === 'running');
}

describe('a service on a real agent and Docker', () => {
  let runtime: RunningRuntime;
  let agent: AgentProcess;
  const revisions: string[] = [];

  beforeAll(async () => {
    runtime = await nodeRuntime.start({ taskHealthyAfterMs: 500, serviceThrottleBaseMs: 200 });
    await runtime.ecs.send(new CreateClusterCommand({ clusterName: CLUSTER }));
    for (const version of ['1', '2']) {
      const out = await runtime.ecs.send(
        new RegisterTaskDefinitionCommand({
          family: 'svc-docker',
          containerDefinitions: [
            {
              name: 'main',
              image: TEST_IMAGE,
              memory: 16,
              essential: true,
              stopTimeout: 2,
              environment: [{ name: 'VERSION', value: version }],
              command: ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 1; done'],
            },
          ],
        }),
      );
      revisions.push(out.taskDefinition!.taskDefinitionArn!);
    }
    const crashing = await runtime.ecs.send(
      new RegisterTaskDefinitionCommand({
        family: 'svc-docker',
        containerDefinitions: [
          { name: 'main', image: TEST_IMAGE, memory: 16, essential: true, command: ['sh', '-c', 'exit 1'] },
        ],
      }),
    );
    revisions.push(crashing.taskDefinition!.taskDefinitionArn!);
    agent = spawnAgent({
      endpoint: runtime.endpoint,
      cluster: CLUSTER,
      joinToken: await runtime.mintJoinToken(CLUSTER),
    });
  });

  afterAll(async () => {
    await agent?.kill();
    await removeClusterContainers(CLUSTER);
    await runtime?.close();
  });

  it('runs 3 containers and rolls them over to a new task definition within the maximum', async () => {
    await runtime.ecs.send(
      new CreateServiceCommand({
        cluster: CLUSTER,
        serviceName: 'app',
        taskDefinition: revisions[0],
        desiredCount: 3,
      }),
    );
    await waitUntilServicesStable(
      { client: runtime.ecs, ...WAITER },
      { cluster: CLUSTER, services: ['app'] },
    ).catch((error) => {
      throw new Error(`${String(error)}\nagent output:\n${agent.output()}`);
    });
    expect(await runningContainers()).toHaveLength(3);

    // The digest the agent read from Docker reaches DescribeTasks and the service revision.
    const expectedDigest = imageDigestOf(await docker.getImage(TEST_IMAGE).inspect(), TEST_IMAGE);
    expect(expectedDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    const firstArns = (await runtime.ecs.send(new ListTasksCommand({ cluster: CLUSTER, serviceName: 'app' })))
      .taskArns!;
    const described = await runtime.ecs.send(
      new DescribeTasksCommand({ cluster: CLUSTER, tasks: firstArns }),
    );
    expect(described.tasks!.flatMap((t) => t.containers!.map((c) => c.imageDigest))).toEqual(
      Array(3).fill(expectedDigest),
    );
    const history = await runtime.ecs.send(
      new ListServiceDeploymentsCommand({ cluster: CLUSTER, service: 'app' }),
    );
    const revision = await runtime.ecs.send(
      new DescribeServiceRevisionsCommand({
        serviceRevisionArns: [history.serviceDeployments![0].targetServiceRevisionArn!],
      }),
    );
    expect(revision.serviceRevisions![0].containerImages).toEqual([
      { containerName: 'main', image: TEST_IMAGE, imageDigest: expectedDigest },
    ]);

    const sampler = sampleCluster(CLUSTER, 50);
    await runtime.ecs.send(
      new UpdateServiceCommand({
        cluster: CLUSTER,
        service: 'app',
        taskDefinition: revisions[1],
        deploymentConfiguration: { minimumHealthyPercent: 50, maximumPercent: 150 },
      }),
    );
    await waitUntilServicesStable(
      { client: runtime.ecs, ...WAITER },
      { cluster: CLUSTER, services: ['app'] },
    );
    const arns = (await runtime.ecs.send(new ListTasksCommand({ cluster: CLUSTER, serviceName: 'app' })))
      .taskArns!;
    await waitFor(
      '3 running containers, all of the new task definition',
      async () => {
        const running = await runningContainers();
        return running.length === 3 && running.every((c) => arns.includes(c.taskArn)) && running;
      },
      30_000,
    );
    const samples = await sampler.stop();
    // floor(3 × 150 %) = 4, counting created and stopping containers too.
    expect(Math.max(...samples.map((s) => s.containers.filter(isLive).length))).toBeLessThanOrEqual(4);
    for (const info of await runningContainers()) {
      const inspected = await docker.getContainer(info.id).inspect();
      expect(inspected.Config.Env).toContain('VERSION=2');
    }

    await runtime.ecs.send(new DeleteServiceCommand({ cluster: CLUSTER, service: 'app', force: true }));
    await waitUntilServicesInactive(
      { client: runtime.ecs, ...WAITER },
      { cluster: CLUSTER, services: ['app'] },
    );
    await waitFor('no running container', async () => (await runningContainers()).length === 0, 30_000);
  }, 120_000);

  it('trips the circuit breaker on a container that exits at once and rolls back to the old containers', async () => {
    const stable = () =>
      waitUntilServicesStable({ client: runtime.ecs, ...WAITER }, { cluster: CLUSTER, services: ['crash'] });
    await runtime.ecs.send(
      new CreateServiceCommand({
        cluster: CLUSTER,
        serviceName: 'crash',
        taskDefinition: revisions[0],
        desiredCount: 2,
        deploymentConfiguration: { deploymentCircuitBreaker: { enable: true, rollback: true } },
      }),
    );
    await stable();
    await waitFor('the first deployment to complete', async () => {
      const [service] = (
        await runtime.ecs.send(new DescribeServicesCommand({ cluster: CLUSTER, services: ['crash'] }))
      ).services!;
      return service.deployments?.[0]?.rolloutState === 'COMPLETED';
    });
    expect(await runningContainers()).toHaveLength(2);

    await runtime.ecs.send(
      new UpdateServiceCommand({ cluster: CLUSTER, service: 'crash', taskDefinition: revisions[2] }),
    );
    const failed = await waitFor(
      'the rollback',
      async () => {
        const [latest] = (
          await runtime.ecs.send(new ListServiceDeploymentsCommand({ cluster: CLUSTER, service: 'crash' }))
        ).serviceDeployments!;
        return latest.status?.startsWith('ROLLBACK') && latest;
      },
      60_000,
    );
    expect(failed.statusReason).toBe('ECS deployment circuit breaker: tasks failed to start.');
    await stable();
    const [service] = (
      await runtime.ecs.send(new DescribeServicesCommand({ cluster: CLUSTER, services: ['crash'] }))
    ).services!;
    expect(service.taskDefinition).toBe(revisions[0]);
    expect(service.events!.map((e) => e.message)).toContain(
      `(service crash) (deployment ecs-svc/${failed.serviceDeploymentArn!.split('/').pop()}) deployment failed: tasks failed to start.`,
    );
    // Two containers of the old task definition run again. Usually they are the very same ones (the
    // rollback's deployment owns them), but one may have been replaced while a new task passed for
    // healthy before its container's exit was reported.
    const running = await waitFor('2 running containers of the old task definition', async () => {
      const list = await runningContainers();
      return list.length === 2 && list;
    });
    for (const info of running) {
      const inspected = await docker.getContainer(info.id).inspect();
      expect(inspected.Config.Env).toContain('VERSION=1');
    }
    await runtime.ecs.send(new DeleteServiceCommand({ cluster: CLUSTER, service: 'crash', force: true }));
  }, 120_000);
});
