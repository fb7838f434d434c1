/**
 * Hibernation and restarts in real workerd. A cluster's Durable Object that goes idle is dropped
 * from memory while its agent sockets stay open, and must still know its agents when a RunTask or
 * an agent's own message wakes it: the agent there is hand-driven (hello, then silence) so the test
 * decides when the object may hibernate, and the object logs every start, which shows that it did.
 * A restart of workerd drops every socket: a real agent must reconnect and keep its tasks.
 */
import {
  DescribeContainerInstancesCommand,
  DescribeTasksCommand,
  ListContainerInstancesCommand,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  StopTaskCommand,
  type Task,
} from '@aws-sdk/client-ecs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCluster } from '../../worker/core/clusters/clusters';
import { HIBERNATION_KEEPALIVE_PING } from '../../worker/hosts/workers/keepalive';
import { type AgentProcess, spawnAgent } from '../helpers/agent-process';
import { containersOfTask, docker, removeTaskContainers, TEST_IMAGE } from '../helpers/docker';
import { connectRawAgent, helloFrame, type RawAgent } from '../helpers/raw-agent';
import { waitFor } from '../helpers/wait';
import { type RunningWorkersRuntime, startWorkersRuntime } from '../helpers/workers-runtime';

const CLUSTER = 'sleepy';
/** workerd evicts an idle Durable Object after about 10 s; hibernatable sockets do not keep it. */
const WORKERD_HIBERNATION_IDLE_MS = 10_000;
const IDLE_LONG_ENOUGH_MS = WORKERD_HIBERNATION_IDLE_MS + 3_000;
const KEEPALIVE_EVERY_MS = 2_000;

/** Lets time pass with no frame that reaches the object; keepalive pings are answered by the runtime alone. */
async function idleWithKeepalives(agent: RawAgent): Promise<number> {
  const pongsBefore = agent.received.filter((f) => f.type === 'pong').length;
  const keepalive = setInterval(() => agent.send(HIBERNATION_KEEPALIVE_PING), KEEPALIVE_EVERY_MS);
  await new Promise((resolve) => setTimeout(resolve, IDLE_LONG_ENOUGH_MS));
  clearInterval(keepalive);
  return agent.received.filter((f) => f.type === 'pong').length - pongsBefore;
}

describe('a hibernating cluster Durable Object in workerd', () => {
  let runtime: RunningWorkersRuntime;
  let agent: RawAgent;
  let containerInstanceArn: string;
  let taskDefinition: string;

  const objectStarts = () =>
    runtime.workerLog().filter((line) => line.includes('coordinator object started')).length;

  beforeAll(async () => {
    runtime = await startWorkersRuntime();
    await createCluster(runtime.plane.deps, { clusterName: CLUSTER });
    const registered = await runtime.ecs.send(
      new RegisterTaskDefinitionCommand({
        family: 'sleepy-task',
        containerDefinitions: [{ name: 'main', image: 'berth-test/busybox:latest', memory: 32 }],
      }),
    );
    taskDefinition = registered.taskDefinition!.taskDefinitionArn!;
    agent = await connectRawAgent(runtime.endpoint, CLUSTER, await runtime.mintJoinToken(CLUSTER));
    agent.send(helloFrame({ resources: { cpu: 2048, memoryMiB: 4096 } }));
    containerInstanceArn = (await agent.waitForFrame('welcome')).containerInstanceArn;
  });

  afterAll(async () => {
    agent?.close();
    await runtime?.close();
  });

  it(
    'wakes for a RunTask and sends it to the agent it knows only from the socket attachment, then takes its report',
    async () => {
      const startsBefore = objectStarts();
      // The runtime answers these without waking the object, so they must not keep it awake either.
      expect(await idleWithKeepalives(agent)).toBeGreaterThan(0);

      const run = await runtime.ecs.send(new RunTaskCommand({ cluster: CLUSTER, taskDefinition }));
      const task = run.tasks![0];
      expect(task.containerInstanceArn).toBe(containerInstanceArn);
      const command = await agent.waitForFrame('runTask', (f) => f.task.taskArn === task.taskArn);
      expect(objectStarts()).toBeGreaterThan(startsBefore);

      const startsBeforeReport = objectStarts();
      await idleWithKeepalives(agent);
      agent.send({
        type: 'taskState',
        seq: 0,
        task: {
          taskArn: task.taskArn!,
          generation: command.task.generation,
          lastStatus: 'RUNNING',
          containers: [{ name: 'main', lastStatus: 'RUNNING', runtimeId: 'raw-container' }],
          startedAtMs: Date.now(),
        },
      });
      const running = await waitFor('the report to be recorded', async () => {
        const described = await runtime.ecs.send(
          new DescribeTasksCommand({ cluster: CLUSTER, tasks: [task.taskArn!] }),
        );
        return described.tasks?.[0].lastStatus === 'RUNNING' ? described.tasks[0] : undefined;
      });
      expect(running.containers![0].runtimeId).toBe('raw-container');
      // Woken by the agent's own message this time, not by an API call, and it still knew the agent.
      await waitFor('the wake-up to be logged', () => objectStarts() > startsBeforeReport);
    },
    3 * IDLE_LONG_ENOUGH_MS + 30_000,
  );
});

describe('a real agent whose socket to the cluster object drops when workerd restarts', () => {
  const cluster = 'reconnecting';
  let runtime: RunningWorkersRuntime;
  let agent: AgentProcess;
  const startedTasks: string[] = [];

  const agentConnections = () =>
    runtime.workerLog().filter((line) => line.includes(`connected to ${cluster}`)).length;

  async function describeTask(taskArn: string): Promise<Task> {
    const out = await runtime.ecs.send(new DescribeTasksCommand({ cluster, tasks: [taskArn] }));
    return out.tasks![0];
  }

  beforeAll(async () => {
    runtime = await startWorkersRuntime();
    await createCluster(runtime.plane.deps, { clusterName: cluster });
    agent = spawnAgent({
      endpoint: runtime.endpoint,
      cluster,
      joinToken: await runtime.mintJoinToken(cluster),
    });
    await waitFor('the agent to connect', () => agentConnections() === 1, 30_000).catch((error) => {
      throw new Error(`${(error as Error).message}\nagent output:\n${agent.output()}`);
    });
  });

  afterAll(async () => {
    await agent?.kill();
    await removeTaskContainers(startedTasks);
    await runtime?.close();
  });

  it('reconnects, keeps its running task in the same container, and still takes a StopTask', async () => {
    const registered = await runtime.ecs.send(
      new RegisterTaskDefinitionCommand({
        family: 'survivor',
        containerDefinitions: [
          {
            name: 'main',
            image: TEST_IMAGE,
            memory: 32,
            // PID 1 ignores SIGTERM unless it traps it; the exit code shows the stop arrived as SIGTERM.
            command: ['sh', '-c', 'trap "exit 42" TERM; while true; do sleep 1; done'],
          },
        ],
      }),
    );
    const run = await runtime.ecs.send(
      new RunTaskCommand({ cluster, taskDefinition: registered.taskDefinition!.taskDefinitionArn! }),
    );
    const taskArn = run.tasks![0].taskArn!;
    startedTasks.push(taskArn);
    await waitFor(
      'the task to run',
      async () => (await describeTask(taskArn)).lastStatus === 'RUNNING',
      30_000,
    );
    const [before] = await containersOfTask(taskArn);
    const startedAtBefore = (await docker.getContainer(before.Id).inspect()).State.StartedAt;

    await runtime.plane.restartWorker();
    await waitFor('the agent to reconnect to the restarted object', () => agentConnections() === 2, 30_000);

    const kept = await describeTask(taskArn);
    expect(kept.lastStatus).toBe('RUNNING');
    expect(kept.desiredStatus).toBe('RUNNING');
    const [after] = await containersOfTask(taskArn);
    expect(after.Id).toBe(before.Id);
    expect((await docker.getContainer(after.Id).inspect()).State.StartedAt).toBe(startedAtBefore);
    const list = await runtime.ecs.send(new ListContainerInstancesCommand({ cluster }));
    expect(list.containerInstanceArns).toHaveLength(1);
    const described = await runtime.ecs.send(
      new DescribeContainerInstancesCommand({ cluster, containerInstances: list.containerInstanceArns }),
    );
    expect(described.containerInstances![0].agentConnected).toBe(true);

    await runtime.ecs.send(new StopTaskCommand({ cluster, task: taskArn, reason: 'after the restart' }));
    const stopped = await waitFor(
      'the task to stop',
      async () => {
        const task = await describeTask(taskArn);
        return task.lastStatus === 'STOPPED' ? task : undefined;
      },
      60_000,
    );
    expect(stopped.stoppedReason).toBe('after the restart');
    expect(stopped.containers![0].exitCode).toBe(42);
  }, 120_000);
});
