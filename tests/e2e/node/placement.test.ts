/**
 * Placement end to end: three real agents on the same Docker engine, each with its own attributes
 * and resources, and the AWS SDK as the client.
 */
import {
  CreateClusterCommand,
  DescribeContainerInstancesCommand,
  DescribeTasksCommand,
  ListContainerInstancesCommand,
  ListTasksCommand,
  PutAttributesCommand,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  type RunTaskCommandInput,
  StartTaskCommand,
  StopTaskCommand,
  UpdateContainerInstancesStateCommand,
} from '@aws-sdk/client-ecs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type AgentProcess, spawnAgent } from '../../helpers/agent-process';
import { removeTaskContainers, TEST_IMAGE } from '../../helpers/docker';
import { nodeRuntime, type RunningRuntime } from '../../helpers/runtimes';
import { waitFor } from '../../helpers/wait';

const CLUSTER = 'placement';
const HOSTS = [
  { zone: 'a', memoryMiB: 256 },
  { zone: 'b', memoryMiB: 512 },
  { zone: 'c', memoryMiB: 1024 },
];

describe('placement across three real agents', () => {
  let runtime: RunningRuntime;
  const agents: AgentProcess[] = [];
  const instanceByZone = new Map<string, string>();
  const zoneByInstance = new Map<string, string>();
  const started: string[] = [];

  beforeAll(async () => {
    runtime = await nodeRuntime.start();
    await runtime.ecs.send(new CreateClusterCommand({ clusterName: CLUSTER }));
    const token = await runtime.mintJoinToken(CLUSTER);
    for (const host of HOSTS) {
      agents.push(
        spawnAgent({
          endpoint: runtime.endpoint,
          cluster: CLUSTER,
          joinToken: token,
          attributes: [`zone=${host.zone}`],
          cpu: 1024,
          memoryMiB: host.memoryMiB,
        }),
      );
    }
    const instances = await waitFor(
      'three connected container instances',
      async () => {
        const list = await runtime.ecs.send(new ListContainerInstancesCommand({ cluster: CLUSTER }));
        if ((list.containerInstanceArns ?? []).length < 3) return undefined;
        const described = await runtime.ecs.send(
          new DescribeContainerInstancesCommand({
            cluster: CLUSTER,
            containerInstances: list.containerInstanceArns,
          }),
        );
        const all = described.containerInstances ?? [];
        return all.every((c) => c.agentConnected) ? all : undefined;
      },
      30_000,
    );
    for (const instance of instances) {
      const zone = instance.attributes!.find((a) => a.name === 'zone')!.value!;
      instanceByZone.set(zone, instance.containerInstanceArn!);
      zoneByInstance.set(instance.containerInstanceArn!, zone);
    }
    await runtime.ecs.send(
      new RegisterTaskDefinitionCommand({
        family: 'sleeper',
        containerDefinitions: [
          // sleep as PID 1 ignores SIGTERM, so a short stopTimeout keeps the clean-up between tests quick.
          {
            name: 'main',
            image: TEST_IMAGE,
            memory: 100,
            cpu: 10,
            command: ['sleep', '600'],
            stopTimeout: 1,
          },
        ],
      }),
    );
    await runtime.ecs.send(
      new RegisterTaskDefinitionCommand({
        family: 'web',
        containerDefinitions: [
          {
            name: 'httpd',
            image: TEST_IMAGE,
            memory: 32,
            command: ['sh', '-c', 'echo hello-from-berth > /index.html && httpd -f -p 8080 -h /'],
            portMappings: [{ containerPort: 8080, hostPort: 0 }],
            stopTimeout: 1,
          },
        ],
      }),
    );
  });

  async function run(input: Omit<RunTaskCommandInput, 'cluster'>) {
    const out = await runtime.ecs.send(new RunTaskCommand({ cluster: CLUSTER, ...input }));
    started.push(...(out.tasks ?? []).map((t) => t.taskArn!));
    return out;
  }

  afterEach(async () => {
    // Stop everything a test started, so each test sees empty hosts.
    const running = await runtime.ecs.send(new ListTasksCommand({ cluster: CLUSTER }));
    for (const task of running.taskArns ?? []) {
      await runtime.ecs.send(new StopTaskCommand({ cluster: CLUSTER, task }));
    }
    await waitFor(
      'every task to stop',
      async () => {
        if (!started.length) return true;
        const out = await runtime.ecs.send(
          new DescribeTasksCommand({ cluster: CLUSTER, tasks: started.slice(-100) }),
        );
        return out.tasks!.every((t) => t.lastStatus === 'STOPPED');
      },
      60_000,
    );
  });

  afterAll(async () => {
    for (const agent of agents) await agent.kill();
    await removeTaskContainers(started);
    await runtime?.close();
  });

  it('binpacks on memory onto the fullest instance that fits', async () => {
    const out = await run({
      taskDefinition: 'sleeper',
      placementStrategy: [{ type: 'binpack', field: 'memory' }],
    });
    expect(zoneByInstance.get(out.tasks![0].containerInstanceArn!)).toBe('a');
    const next = await run({
      taskDefinition: 'sleeper',
      count: 2,
      placementStrategy: [{ type: 'binpack', field: 'memory' }],
    });
    // a has 156 MiB left after one task: one more fits there, then b is the fullest that fits.
    expect(next.tasks!.map((t) => zoneByInstance.get(t.containerInstanceArn!))).toEqual(['a', 'b']);
  });

  it('spreads across zones', async () => {
    const out = await run({
      taskDefinition: 'sleeper',
      count: 3,
      placementStrategy: [{ type: 'spread', field: 'attribute:zone' }],
    });
    expect(new Set(out.tasks!.map((t) => zoneByInstance.get(t.containerInstanceArn!)))).toEqual(
      new Set(['a', 'b', 'c']),
    );
  });

  it('places only on instances matching a memberOf expression', async () => {
    const out = await run({
      taskDefinition: 'sleeper',
      count: 3,
      placementConstraints: [{ type: 'memberOf', expression: 'attribute:zone in [b, c]' }],
    });
    expect(out.tasks!.every((t) => ['b', 'c'].includes(zoneByInstance.get(t.containerInstanceArn!)!))).toBe(
      true,
    );
  });

  it('honours distinctInstance and reports the tasks it cannot place', async () => {
    const out = await run({
      taskDefinition: 'sleeper',
      count: 4,
      placementConstraints: [{ type: 'distinctInstance' }],
    });
    expect(out.tasks).toHaveLength(3);
    expect(new Set(out.tasks!.map((t) => t.containerInstanceArn)).size).toBe(3);
    expect(out.failures!.map((f) => f.reason)).toContain('DistinctInstance');
  });

  it('places nothing on a draining instance', async () => {
    const drained = instanceByZone.get('c')!;
    await runtime.ecs.send(
      new UpdateContainerInstancesStateCommand({
        cluster: CLUSTER,
        containerInstances: [drained],
        status: 'DRAINING',
      }),
    );
    try {
      const out = await run({
        taskDefinition: 'sleeper',
        count: 4,
        placementStrategy: [{ type: 'spread', field: 'instanceId' }],
      });
      expect(out.tasks!.some((t) => t.containerInstanceArn === drained)).toBe(false);
    } finally {
      await runtime.ecs.send(
        new UpdateContainerInstancesStateCommand({
          cluster: CLUSTER,
          containerInstances: [drained],
          status: 'ACTIVE',
        }),
      );
    }
  });

  it('fails with RESOURCE:MEMORY on every instance when nothing has room', async () => {
    const out = await run({
      taskDefinition: 'sleeper',
      overrides: { containerOverrides: [{ name: 'main', memory: 4000 }] },
    });
    expect(out.tasks).toEqual([]);
    expect(out.failures).toHaveLength(3);
    expect(out.failures!.every((f) => f.reason === 'RESOURCE:MEMORY')).toBe(true);
  });

  it('returns the same tasks for a replayed clientToken and a ConflictException for other parameters', async () => {
    const first = await run({ taskDefinition: 'sleeper', count: 2, clientToken: 'replay-1' });
    const again = await run({ taskDefinition: 'sleeper', count: 2, clientToken: 'replay-1' });
    expect(again.tasks!.map((t) => t.taskArn)).toEqual(first.tasks!.map((t) => t.taskArn));
    await expect(run({ taskDefinition: 'sleeper', count: 3, clientToken: 'replay-1' })).rejects.toMatchObject(
      {
        name: 'ConflictException',
      },
    );
    const listed = await runtime.ecs.send(new ListTasksCommand({ cluster: CLUSTER }));
    expect(listed.taskArns).toHaveLength(2);
  });

  it('starts a task on a named instance with StartTask and filters by custom attributes', async () => {
    const target = instanceByZone.get('b')!;
    await runtime.ecs.send(
      new PutAttributesCommand({
        cluster: CLUSTER,
        attributes: [{ name: 'gpu', value: 'none', targetId: target }],
      }),
    );
    const out = await runtime.ecs.send(
      new StartTaskCommand({ cluster: CLUSTER, taskDefinition: 'sleeper', containerInstances: [target] }),
    );
    started.push(out.tasks![0].taskArn!);
    expect(out.tasks![0].containerInstanceArn).toBe(target);
    const filtered = await runtime.ecs.send(
      new ListContainerInstancesCommand({ cluster: CLUSTER, filter: 'attribute:gpu exists' }),
    );
    expect(filtered.containerInstanceArns).toEqual([target]);
  });

  it('gives a dynamic host port that is reachable on the host', async () => {
    const out = await run({ taskDefinition: 'web' });
    const arn = out.tasks![0].taskArn!;
    const running = await waitFor(
      'the web task to run with a host port',
      async () => {
        const described = await runtime.ecs.send(
          new DescribeTasksCommand({ cluster: CLUSTER, tasks: [arn] }),
        );
        const task = described.tasks![0];
        return task.lastStatus === 'RUNNING' && task.containers![0].networkBindings?.length
          ? task
          : undefined;
      },
      30_000,
    );
    const binding = running.containers![0].networkBindings![0];
    expect(binding.containerPort).toBe(8080);
    expect(binding.hostPort).toBeGreaterThan(0);
    const body = await waitFor('httpd to answer', async () => {
      const response = await fetch(`http://127.0.0.1:${binding.hostPort}/index.html`).catch(() => undefined);
      return response?.ok ? response.text() : undefined;
    });
    expect(body.trim()).toBe('hello-from-berth');
    const described = await runtime.ecs.send(
      new DescribeContainerInstancesCommand({
        cluster: CLUSTER,
        containerInstances: [running.containerInstanceArn!],
      }),
    );
    const ports = described.containerInstances![0].remainingResources!.find((r) => r.name === 'PORTS')!;
    expect(ports.stringSetValue).toContain(String(binding.hostPort));
  });
});
