/**
 * A service on a real agent and real Docker: a 3-task service runs 3 containers, and a rolling
 * update to a new task definition ends with 3 containers of the new one, never more than the
 * maximum running at once (sampled from Docker while the update runs). The image digest the
 * agent reads from Docker shows in DescribeTasks and in the service revision.
 */
import {
  CreateClusterCommand,
  CreateServiceCommand,
  DeleteServiceCommand,
  DescribeServiceRevisionsCommand,
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
    runtime = await nodeRuntime.start({ taskHealthyAfterMs: 500 });
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
});
