/**
 * The control plane killed with SIGKILL in the middle of a rolling update: `berth server` runs as
 * its own process on a libSQL file, a real agent runs real containers, and the server dies the
 * moment Docker shows the first container of the new revision beside the old ones. Restarted on
 * the same database and port, the agent (which stays up) reconnects by itself and the update
 * completes: exactly desiredCount containers of the new revision and none of the old, every task
 * with exactly one container over the whole run, and the API's tasks the same as Docker's.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateClusterCommand,
  CreateServiceCommand,
  DescribeContainerInstancesCommand,
  DescribeTasksCommand,
  type ECSClient,
  ListContainerInstancesCommand,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
  type Task,
  UpdateServiceCommand,
  waitUntilServicesStable,
} from '@aws-sdk/client-ecs';
import { afterAll, describe, expect, it } from 'vitest';
import { type AgentProcess, spawnAgent } from '../../helpers/agent-process';
import { ecsClientFor } from '../../helpers/control-plane';
import { credentialsFileKey } from '../../helpers/credentials';
import { TEST_IMAGE } from '../../helpers/docker';
import {
  type ContainerLook,
  isLive,
  lookAtCluster,
  removeClusterContainers,
  sampleCluster,
} from '../../helpers/docker-sampler';
import { instanceVersion, waitForCompletedDeployments } from '../../helpers/ecs-queries';
import {
  freePort,
  mintJoinTokenWithCli,
  type ServerProcess,
  spawnServer,
} from '../../helpers/server-process';
import { waitFor } from '../../helpers/wait';

const CLUSTER = `svc-kill-${Math.random().toString(36).slice(2, 8)}`;
const SERVICE = 'app';
const DESIRED = 4;
const WAITER = { minDelay: 1, maxDelay: 1, maxWaitTime: 90 };
const REVISION_LABEL = 'berth-test.revision';
/** Tasks without a health check count as healthy this long after RUNNING (ECS: 40 s). */
const ENV = { BERTH_TASK_HEALTHY_AFTER_MS: '1500' };

const revisionOf = (c: ContainerLook) => c.labels[REVISION_LABEL];

async function serviceTasks(ecs: ECSClient, desiredStatus: 'RUNNING' | 'STOPPED'): Promise<Task[]> {
  const listed = await ecs.send(
    new ListTasksCommand({ cluster: CLUSTER, serviceName: SERVICE, desiredStatus }),
  );
  if (listed.taskArns!.length === 0) return [];
  return (await ecs.send(new DescribeTasksCommand({ cluster: CLUSTER, tasks: listed.taskArns }))).tasks!;
}

describe('a rolling update across a kill -9 of the control plane, with a real agent and Docker', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'berth-svc-kill-'));
  let server: ServerProcess | undefined;
  let agent: AgentProcess | undefined;
  const clients: ECSClient[] = [];

  afterAll(async () => {
    await agent?.kill();
    if (agent) rmSync(agent.stateDir, { recursive: true, force: true });
    for (const client of clients) client.destroy();
    await server?.kill('SIGKILL');
    await removeClusterContainers(CLUSTER);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('completes after the restart with every task on the new revision, none lost, none started twice', async () => {
    const port = await freePort();
    server = await spawnServer({ dataDir, port, env: ENV });
    // The admin key the first start of `berth server` wrote beside its database, as a user finds it.
    const credentials = await credentialsFileKey(dataDir);
    const first = ecsClientFor(server.url, credentials);
    clients.push(first);
    await first.send(new CreateClusterCommand({ clusterName: CLUSTER }));
    const revisions: string[] = [];
    for (const revision of ['1', '2']) {
      const out = await first.send(
        new RegisterTaskDefinitionCommand({
          family: CLUSTER,
          containerDefinitions: [
            {
              name: 'main',
              image: TEST_IMAGE,
              memory: 16,
              essential: true,
              stopTimeout: 2,
              dockerLabels: { [REVISION_LABEL]: revision },
              command: ['sh', '-c', 'trap "exit 0" TERM; sleep 3600 & wait'],
            },
          ],
        }),
      );
      revisions.push(out.taskDefinition!.taskDefinitionArn!);
    }
    const agentProcess = spawnAgent({
      endpoint: server.url,
      cluster: CLUSTER,
      joinToken: mintJoinTokenWithCli(dataDir, CLUSTER),
    });
    agent = agentProcess;
    await first.send(
      new CreateServiceCommand({
        cluster: CLUSTER,
        serviceName: SERVICE,
        taskDefinition: revisions[0],
        desiredCount: DESIRED,
        deploymentConfiguration: { minimumHealthyPercent: 50, maximumPercent: 100 },
      }),
    );
    await waitUntilServicesStable(
      { client: first, ...WAITER },
      { cluster: CLUSTER, services: [SERVICE] },
    ).catch((error) => {
      throw new Error(`${String(error)}\nagent output:\n${agentProcess.output()}`);
    });
    // The old tasks must count as healthy, or the update stops them all at once (they would count toward nothing).
    await waitForCompletedDeployments(first, CLUSTER, [SERVICE]);
    await waitFor(`${DESIRED} running containers of revision 1`, async () => {
      const running = (await lookAtCluster(CLUSTER)).filter((c) => c.state === 'running');
      return running.length === DESIRED && running.every((c) => revisionOf(c) === '1');
    });

    const versionBeforeKill = await instanceVersion(first, CLUSTER);
    // Every container Docker shows from here on, so a task started twice is seen even if one copy is removed.
    const sampler = sampleCluster(CLUSTER, 50);
    await first.send(
      new UpdateServiceCommand({ cluster: CLUSTER, service: SERVICE, taskDefinition: revisions[1] }),
    );
    const atKill = await waitFor(
      'the first container of revision 2',
      async () => {
        const containers = await lookAtCluster(CLUSTER);
        return containers.some((c) => revisionOf(c) === '2') && containers;
      },
      20_000,
      10,
    );
    await server.kill('SIGKILL');
    // Killed in the middle: old containers still live beside the new one.
    expect(atKill.filter((c) => isLive(c) && revisionOf(c) === '1').length).toBeGreaterThan(0);

    server = await spawnServer({ dataDir, port, env: ENV });
    const second = ecsClientFor(server.url, credentials);
    clients.push(second);
    await waitUntilServicesStable(
      { client: second, ...WAITER },
      { cluster: CLUSTER, services: [SERVICE] },
    ).catch((error) => {
      throw new Error(`${String(error)}\nagent output:\n${agentProcess.output()}`);
    });
    const final = await waitFor(
      `exactly ${DESIRED} live containers, all running revision 2`,
      async () => {
        const containers = await lookAtCluster(CLUSTER);
        const live = containers.filter(isLive);
        return (
          live.length === DESIRED &&
          live.every((c) => c.state === 'running' && revisionOf(c) === '2') &&
          containers
        );
      },
      60_000,
    );
    const samples = await sampler.stop();

    // No task started twice: one container per task over the whole run, the kill included.
    const containersOfTask = new Map<string, Set<string>>();
    for (const look of [...samples.flatMap((s) => s.containers), ...final]) {
      const ids = containersOfTask.get(look.taskArn) ?? new Set();
      ids.add(look.id);
      containersOfTask.set(look.taskArn, ids);
    }
    for (const [taskArn, ids] of containersOfTask) expect(ids.size, `containers of ${taskArn}`).toBe(1);

    // No task lost: the API's tasks are exactly Docker's, DESIRED old ones stopped by the scheduler and
    // DESIRED new ones running; a task lost and replaced would make a ninth.
    const running = await serviceTasks(second, 'RUNNING');
    const stopped = await serviceTasks(second, 'STOPPED');
    expect(new Set(running.map((t) => t.taskArn))).toEqual(
      new Set(final.filter((c) => c.state === 'running').map((c) => c.taskArn)),
    );
    expect(new Set([...running, ...stopped].map((t) => t.taskArn))).toEqual(new Set(containersOfTask.keys()));
    expect(running).toHaveLength(DESIRED);
    expect(running.every((t) => t.taskDefinitionArn === revisions[1] && t.lastStatus === 'RUNNING')).toBe(
      true,
    );
    expect(stopped).toHaveLength(DESIRED);
    for (const task of stopped) {
      expect(task).toMatchObject({
        taskDefinitionArn: revisions[0],
        lastStatus: 'STOPPED',
        stopCode: 'ServiceSchedulerInitiated',
      });
    }

    // COMPLETED once the new tasks count as healthy (by age here).
    const [service] = await waitForCompletedDeployments(second, CLUSTER, [SERVICE]);
    expect(service.deployments).toHaveLength(1);
    expect(service.deployments![0]).toMatchObject({ taskDefinition: revisions[1], runningCount: DESIRED });
    // The same agent process carried on throughout and is connected to the restarted control plane.
    expect(agentProcess.child.exitCode).toBeNull();
    const instances = await second.send(new ListContainerInstancesCommand({ cluster: CLUSTER }));
    expect(instances.containerInstanceArns).toHaveLength(1);
    const instance = await second.send(
      new DescribeContainerInstancesCommand({
        cluster: CLUSTER,
        containerInstances: instances.containerInstanceArns,
      }),
    );
    expect(instance.containerInstances![0].agentConnected).toBe(true);
    // Every hello bumps the instance's version: the agent said hello again to the restarted server.
    expect(await instanceVersion(second, CLUSTER)).toBeGreaterThan(versionBeforeKill);
  }, 150_000);
});
