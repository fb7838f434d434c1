/**
 * The end-to-end scenarios of the task lifecycle, written once and run against every runtime:
 * a real control plane, a real agent process, real Docker, and the AWS SDK as the client.
 */
import {
  CreateClusterCommand,
  DescribeContainerInstancesCommand,
  DescribeTasksCommand,
  ListContainerInstancesCommand,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
  type RegisterTaskDefinitionCommandInput,
  RunTaskCommand,
  StopTaskCommand,
  type Task,
  waitUntilTasksRunning,
  waitUntilTasksStopped,
} from '@aws-sdk/client-ecs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentProcess, spawnAgent } from '../../helpers/agent-process';
import { signedFetch, type TestCredentials } from '../../helpers/credentials';
import { containersOfTask, docker, removeTaskContainers, TEST_IMAGE } from '../../helpers/docker';
import { waitForConnectedInstance } from '../../helpers/ecs-queries';
import type { RunningRuntime, RuntimeHarness } from '../../helpers/runtimes';
import { waitFor } from '../../helpers/wait';

const CLUSTER = 'default';

interface StreamedEvent {
  id: number;
  event: {
    'detail-type': string;
    source: string;
    detail: { taskArn: string; lastStatus: string; version: number };
  };
}

/** Reads a Server-Sent Events stream until `enough` says so (or 20 s pass), then closes it. */
async function readEvents(
  credentials: TestCredentials,
  url: string,
  enough: (events: StreamedEvent[]) => boolean,
  headers: Record<string, string> = {},
): Promise<StreamedEvent[]> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), 20_000);
  const response = await signedFetch(url, { headers, signal: abort.signal }, credentials);
  expect(response.headers.get('content-type')).toMatch(/text\/event-stream/);
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  const events: StreamedEvent[] = [];
  let buffer = '';
  try {
    while (!enough(events)) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
        const lines = buffer.slice(0, end).split('\n');
        buffer = buffer.slice(end + 2);
        const id = lines.find((l) => l.startsWith('id: '));
        const data = lines.find((l) => l.startsWith('data: '));
        if (id && data) events.push({ id: Number(id.slice(4)), event: JSON.parse(data.slice(6)) });
      }
    }
  } finally {
    clearTimeout(timer);
    abort.abort();
  }
  return events;
}

export function defineTaskLifecycleScenarios(harness: RuntimeHarness) {
  describe(`task lifecycle on the ${harness.name} runtime`, () => {
    let runtime: RunningRuntime;
    let agent: AgentProcess;
    const startedTasks: string[] = [];
    const suffix = Math.random().toString(36).slice(2, 8);

    beforeAll(async () => {
      runtime = await harness.start();
      await runtime.ecs.send(new CreateClusterCommand({ clusterName: CLUSTER }));
      agent = spawnAgent({
        endpoint: runtime.endpoint,
        cluster: CLUSTER,
        joinToken: await runtime.mintJoinToken(CLUSTER),
        attributes: ['berth.test=lifecycle'],
      });
      await waitForConnectedInstance(runtime.ecs, CLUSTER, () => agent.output());
    });

    afterAll(async () => {
      await agent?.kill();
      await removeTaskContainers(startedTasks);
      await runtime?.close();
    });

    async function register(
      family: string,
      containers: RegisterTaskDefinitionCommandInput['containerDefinitions'],
    ) {
      const out = await runtime.ecs.send(
        new RegisterTaskDefinitionCommand({
          family: `${family}-${suffix}`,
          containerDefinitions: containers,
        }),
      );
      return out.taskDefinition!.taskDefinitionArn!;
    }

    async function run(taskDefinition: string): Promise<Task> {
      const out = await runtime.ecs.send(new RunTaskCommand({ cluster: CLUSTER, taskDefinition }));
      expect(out.failures).toEqual([]);
      const task = out.tasks![0];
      startedTasks.push(task.taskArn!);
      return task;
    }

    async function describeTask(taskArn: string): Promise<Task> {
      const out = await runtime.ecs.send(new DescribeTasksCommand({ cluster: CLUSTER, tasks: [taskArn] }));
      return out.tasks![0];
    }

    async function waitForStatus(taskArn: string, status: string, timeoutMs = 30_000): Promise<Task> {
      return waitFor(
        `task ${taskArn} to be ${status}`,
        async () => {
          const task = await describeTask(taskArn);
          return task.lastStatus === status ? task : undefined;
        },
        timeoutMs,
      );
    }

    it('runs a task in Docker, reports RUNNING, and stops it on StopTask with UserInitiated', async () => {
      // The shell traps SIGTERM and exits 42, which proves StopTask sends SIGTERM before any SIGKILL.
      const definition = await register('sleeper', [
        {
          name: 'main',
          image: TEST_IMAGE,
          memory: 32,
          command: ['sh', '-c', 'trap "exit 42" TERM; while true; do sleep 1; done'],
        },
      ]);
      const task = await run(definition);
      expect(task.lastStatus).toBe('PENDING');
      expect(task.desiredStatus).toBe('RUNNING');
      expect(task.taskArn).toMatch(/^arn:aws:ecs:us-east-1:\d{12}:task\/default\/[0-9a-f]{32}$/);

      await waitUntilTasksRunning(
        { client: runtime.ecs, maxWaitTime: 30, minDelay: 1, maxDelay: 1 },
        { cluster: CLUSTER, tasks: [task.taskArn!] },
      );
      const running = await describeTask(task.taskArn!);
      expect(running.startedAt).toBeInstanceOf(Date);
      const [container] = await containersOfTask(task.taskArn!);
      expect(container.State).toBe('running');
      expect(running.containers![0].runtimeId).toBe(container.Id);

      const listed = await runtime.ecs.send(new ListTasksCommand({ cluster: CLUSTER }));
      expect(listed.taskArns).toContain(task.taskArn);

      const stopped = await runtime.ecs.send(
        new StopTaskCommand({ cluster: CLUSTER, task: task.taskArn!, reason: 'test is done' }),
      );
      expect(stopped.task!.desiredStatus).toBe('STOPPED');
      await waitUntilTasksStopped(
        { client: runtime.ecs, maxWaitTime: 60, minDelay: 1, maxDelay: 1 },
        { cluster: CLUSTER, tasks: [task.taskArn!] },
      );
      const final = await describeTask(task.taskArn!);
      expect(final.stopCode).toBe('UserInitiated');
      expect(final.stoppedReason).toBe('test is done');
      expect(final.stoppedAt).toBeInstanceOf(Date);
      expect(final.stoppingAt).toBeInstanceOf(Date);
      expect(final.containers![0].exitCode).toBe(42);
      const [after] = await containersOfTask(task.taskArn!);
      expect(after.State).toBe('exited');
      const stoppedList = await runtime.ecs.send(
        new ListTasksCommand({ cluster: CLUSTER, desiredStatus: 'STOPPED' }),
      );
      expect(stoppedList.taskArns).toContain(task.taskArn);
    });

    it('stops the task with EssentialContainerExited and the exit code when its essential container exits', async () => {
      const definition = await register('exits-3', [
        { name: 'main', image: TEST_IMAGE, memory: 32, command: ['sh', '-c', 'exit 3'] },
      ]);
      const task = await run(definition);
      const final = await waitForStatus(task.taskArn!, 'STOPPED');
      expect(final.stopCode).toBe('EssentialContainerExited');
      expect(final.containers![0].exitCode).toBe(3);
      expect(final.desiredStatus).toBe('STOPPED');
    });

    it('starts a container only after the container it depends on has completed', async () => {
      const definition = await register('depends', [
        {
          name: 'setup',
          image: TEST_IMAGE,
          memory: 32,
          essential: false,
          command: ['sh', '-c', 'sleep 1; exit 0'],
        },
        {
          name: 'app',
          image: TEST_IMAGE,
          memory: 32,
          command: ['sleep', '600'],
          stopTimeout: 1,
          dependsOn: [{ containerName: 'setup', condition: 'SUCCESS' }],
        },
      ]);
      const task = await run(definition);
      const running = await waitForStatus(task.taskArn!, 'RUNNING');
      const byName = new Map(running.containers!.map((c) => [c.name, c]));
      expect(byName.get('setup')!.exitCode).toBe(0);
      const setup = await docker.getContainer(byName.get('setup')!.runtimeId!).inspect();
      const app = await docker.getContainer(byName.get('app')!.runtimeId!).inspect();
      expect(Date.parse(app.State.StartedAt)).toBeGreaterThanOrEqual(Date.parse(setup.State.FinishedAt));
      await runtime.ecs.send(new StopTaskCommand({ cluster: CLUSTER, task: task.taskArn! }));
      await waitForStatus(task.taskArn!, 'STOPPED');
    });

    it('stops a task whose image cannot be pulled with CannotPullContainerError instead of hanging', async () => {
      const definition = await register('no-image', [
        { name: 'main', image: '127.0.0.1:1/berth/does-not-exist:latest', memory: 32 },
      ]);
      const task = await run(definition);
      const final = await waitForStatus(task.taskArn!, 'STOPPED', 60_000);
      expect(final.stopCode).toBe('TaskFailedToStart');
      expect(final.stoppedReason).toMatch(/CannotPullContainerError/);
      expect(final.containers![0].reason).toMatch(/CannotPullContainerError/);
    });

    it('streams every task state change as an ECS Task State Change event, resumable by Last-Event-ID', async () => {
      const definition = await register('evented', [
        { name: 'main', image: TEST_IMAGE, memory: 32, command: ['sh', '-c', 'sleep 1; exit 5'] },
      ]);
      const task = await run(definition);
      await waitForStatus(task.taskArn!, 'STOPPED');
      const events = await readEvents(
        runtime.credentials,
        `${runtime.endpoint}/berth/v1/clusters/${CLUSTER}/task-events?after=0`,
        (e) =>
          e.some((x) => x.event.detail.taskArn === task.taskArn && x.event.detail.lastStatus === 'STOPPED'),
      );
      const mine = events.filter((x) => x.event.detail.taskArn === task.taskArn);
      expect(mine[0].event['detail-type']).toBe('ECS Task State Change');
      expect(mine[0].event.source).toBe('aws.ecs');
      expect(mine.map((x) => x.event.detail.lastStatus)).toEqual(
        expect.arrayContaining(['PENDING', 'RUNNING', 'STOPPED']),
      );
      const versions = mine.map((x) => x.event.detail.version);
      expect(versions).toEqual([...versions].sort((a, b) => a - b));
      expect(new Set(versions).size).toBe(versions.length);
      const ids = events.map((x) => x.id);
      expect(ids).toEqual([...ids].sort((a, b) => a - b));
      // Resuming after an event id gives exactly what came after it.
      const middle = ids[Math.floor(ids.length / 2)];
      const resumed = await readEvents(
        runtime.credentials,
        `${runtime.endpoint}/berth/v1/clusters/${CLUSTER}/task-events`,
        (e) => e.length >= ids.filter((id) => id > middle).length,
        { 'Last-Event-ID': String(middle) },
      );
      expect(resumed.map((x) => x.id).slice(0, ids.filter((id) => id > middle).length)).toEqual(
        ids.filter((id) => id > middle),
      );
    });

    it('reports the connected agent as a container instance with its resources and attributes', async () => {
      const list = await runtime.ecs.send(new ListContainerInstancesCommand({ cluster: CLUSTER }));
      const described = await runtime.ecs.send(
        new DescribeContainerInstancesCommand({
          cluster: CLUSTER,
          containerInstances: list.containerInstanceArns,
        }),
      );
      const instance = described.containerInstances![0];
      expect(instance.agentConnected).toBe(true);
      expect(instance.status).toBe('ACTIVE');
      const cpu = instance.registeredResources!.find((r) => r.name === 'CPU')!.integerValue!;
      expect(cpu % 1024).toBe(0);
      const attributes = new Map(instance.attributes!.map((a) => [a.name, a.value]));
      expect(attributes.get('berth.test')).toBe('lifecycle');
      expect(attributes.get('ecs.os-type')).toBe('linux');
      expect(instance.versionInfo!.dockerVersion).toMatch(/\d+\.\d+/);
    });
  });
}
