/**
 * A DAEMON service on real agents and real Docker: three agents on one engine each run one
 * container of the daemon, a fourth agent joining gets its own, and an instance set DRAINING loses
 * its container, all seen from Docker's side (the agents label each container with their instance).
 */
import {
  CreateClusterCommand,
  CreateServiceCommand,
  DeleteServiceCommand,
  DescribeContainerInstancesCommand,
  DescribeServicesCommand,
  ListContainerInstancesCommand,
  RegisterTaskDefinitionCommand,
  UpdateContainerInstancesStateCommand,
  waitUntilServicesInactive,
  waitUntilServicesStable,
} from '@aws-sdk/client-ecs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONTAINER_LABELS } from '../../../protocol/agent-protocol';
import { type AgentProcess, spawnAgent } from '../../helpers/agent-process';
import { docker, TEST_IMAGE } from '../../helpers/docker';
import { nodeRuntime, type RunningRuntime } from '../../helpers/runtimes';
import { waitFor } from '../../helpers/wait';

const CLUSTER = `daemon-docker-${Math.random().toString(36).slice(2, 8)}`;
const WAITER = { minDelay: 1, maxDelay: 1, maxWaitTime: 90 };

/** Instance id of each running container the agents made for this cluster. */
async function runningDaemonHosts(): Promise<string[]> {
  const list = await docker.listContainers({
    filters: { label: [`${CONTAINER_LABELS.cluster}=${CLUSTER}`], status: ['running'] },
  });
  return list.map((c) => c.Labels[CONTAINER_LABELS.instanceId]).sort();
}

describe('a DAEMON service on real agents and Docker', () => {
  let runtime: RunningRuntime;
  const agents: AgentProcess[] = [];

  /** The connected instances, once there are `count`: instance id → ARN. */
  const connectedInstances = (count: number) =>
    waitFor(
      `${count} connected container instances`,
      async () => {
        const list = await runtime.ecs.send(new ListContainerInstancesCommand({ cluster: CLUSTER }));
        if ((list.containerInstanceArns ?? []).length < count) return undefined;
        const described = await runtime.ecs.send(
          new DescribeContainerInstancesCommand({
            cluster: CLUSTER,
            containerInstances: list.containerInstanceArns,
          }),
        );
        const all = described.containerInstances ?? [];
        return (
          all.every((c) => c.agentConnected) &&
          new Map(all.map((c) => [c.ec2InstanceId!, c.containerInstanceArn!]))
        );
      },
      30_000,
    );
  const join = async () =>
    agents.push(
      spawnAgent({
        endpoint: runtime.endpoint,
        cluster: CLUSTER,
        joinToken: await runtime.mintJoinToken(CLUSTER),
      }),
    );
  const waitStable = () =>
    waitUntilServicesStable(
      { client: runtime.ecs, ...WAITER },
      { cluster: CLUSTER, services: ['node-agent'] },
    ).catch((error) => {
      throw new Error(`${String(error)}\nagent output:\n${agents.map((a) => a.output()).join('\n---\n')}`);
    });

  beforeAll(async () => {
    runtime = await nodeRuntime.start({ taskHealthyAfterMs: 500 });
    await runtime.ecs.send(new CreateClusterCommand({ clusterName: CLUSTER }));
    for (let i = 0; i < 3; i += 1) await join();
  });

  afterAll(async () => {
    await Promise.all(agents.map((agent) => agent.kill()));
    for (const info of await docker.listContainers({
      all: true,
      filters: { label: [`${CONTAINER_LABELS.cluster}=${CLUSTER}`] },
    })) {
      await docker
        .getContainer(info.Id)
        .remove({ force: true })
        .catch(() => undefined);
    }
    await runtime?.close();
  });

  it('runs one container per instance, on a joining instance too, and none on a DRAINING one', async () => {
    const three = await connectedInstances(3);
    const definition = await runtime.ecs.send(
      new RegisterTaskDefinitionCommand({
        family: 'node-agent',
        containerDefinitions: [
          {
            name: 'main',
            image: TEST_IMAGE,
            memory: 16,
            essential: true,
            stopTimeout: 2,
            command: ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 1; done'],
          },
        ],
      }),
    );
    await runtime.ecs.send(
      new CreateServiceCommand({
        cluster: CLUSTER,
        serviceName: 'node-agent',
        taskDefinition: definition.taskDefinition!.taskDefinitionArn!,
        schedulingStrategy: 'DAEMON',
      }),
    );
    await waitStable();
    expect(await runningDaemonHosts()).toEqual([...three.keys()].sort());

    await join();
    const four = await connectedInstances(4);
    await waitFor(
      'a container on the joining instance',
      async () => (await runningDaemonHosts()).length === 4,
      30_000,
    );
    expect(await runningDaemonHosts()).toEqual([...four.keys()].sort());
    await waitStable();

    const [drainedId, drainedArn] = [...four.entries()][0];
    await runtime.ecs.send(
      new UpdateContainerInstancesStateCommand({
        cluster: CLUSTER,
        containerInstances: [drainedArn],
        status: 'DRAINING',
      }),
    );
    await waitFor(
      'no container left on the draining instance',
      async () => {
        const hosts = await runningDaemonHosts();
        return hosts.length === 3 && !hosts.includes(drainedId);
      },
      30_000,
    );
    await waitStable();
    const service = (
      await runtime.ecs.send(new DescribeServicesCommand({ cluster: CLUSTER, services: ['node-agent'] }))
    ).services![0];
    expect(service).toMatchObject({ desiredCount: 3, runningCount: 3 });

    await runtime.ecs.send(new DeleteServiceCommand({ cluster: CLUSTER, service: 'node-agent' }));
    await waitUntilServicesInactive(
      { client: runtime.ecs, ...WAITER },
      { cluster: CLUSTER, services: ['node-agent'] },
    );
    await waitFor('no running container', async () => (await runningDaemonHosts()).length === 0, 30_000);
  }, 150_000);
});
