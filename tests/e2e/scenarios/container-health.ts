/**
 * Container health checks end to end, run against every runtime: the task definition's check runs
 * in real Docker (sent as an explicit HealthConfig), the agent reports Docker's verdicts, and
 * DescribeTasks shows them through the AWS SDK; `dependsOn: HEALTHY` is observed from Docker's own
 * start times. ECS's shortest interval is 5 s, so each verdict takes a probe of up to 5 s: the two
 * scenarios run concurrently on one agent.
 */
import {
  CreateClusterCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  RegisterTaskDefinitionCommand,
  type RegisterTaskDefinitionCommandInput,
  RunTaskCommand,
  type Task,
} from '@aws-sdk/client-ecs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentProcess, spawnAgent } from '../../helpers/agent-process';
import { containersOfTask, docker, removeTaskContainers, TEST_IMAGE } from '../../helpers/docker';
import { waitForConnectedInstance } from '../../helpers/ecs-queries';
import type { RunningRuntime, RuntimeHarness } from '../../helpers/runtimes';
import { SseReader } from '../../helpers/sse-reader';
import { waitFor } from '../../helpers/wait';

const CLUSTER = 'default';
/** The file the check looks for appears a second after the container starts. */
const CREATES_OK_AFTER_A_SECOND = ['sh', '-c', 'sleep 1; touch /tmp/ok; exec sleep 3600'];
const FILE_CHECK = { command: ['CMD-SHELL', 'test -f /tmp/ok'], interval: 5, timeout: 2, retries: 1 };
/** A verdict comes with the next probe: one interval, plus the agent's report and the SDK's poll. */
const VERDICT_TIMEOUT_MS = 20_000;

export function defineContainerHealthScenarios(harness: RuntimeHarness) {
  describe(`container health checks on the ${harness.name} runtime`, () => {
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

    async function run(taskDefinition: string): Promise<string> {
      const out = await runtime.ecs.send(new RunTaskCommand({ cluster: CLUSTER, taskDefinition }));
      expect(out.failures).toEqual([]);
      const taskArn = out.tasks![0].taskArn!;
      startedTasks.push(taskArn);
      return taskArn;
    }

    const describeTask = async (taskArn: string): Promise<Task> =>
      (await runtime.ecs.send(new DescribeTasksCommand({ cluster: CLUSTER, tasks: [taskArn] }))).tasks![0];

    const waitForHealth = (taskArn: string, healthStatus: string) =>
      waitFor(
        `task ${taskArn} to be ${healthStatus}`,
        async () => {
          const task = await describeTask(taskArn);
          return task.healthStatus === healthStatus ? task : undefined;
        },
        VERDICT_TIMEOUT_MS,
        250,
      ).catch((error) => {
        throw new Error(`${(error as Error).message}\nagent output:\n${agent.output()}`);
      });

    async function inspectContainer(taskArn: string, name: string) {
      const summary = (await containersOfTask(taskArn)).find((c) => c.Names[0].endsWith(`-${name}`));
      return docker.getContainer(summary!.Id).inspect();
    }

    it.concurrent('echoes ECS’s defaults for the timings a health check leaves out', async () => {
      const arn = await register('check-defaults', [
        { name: 'app', image: TEST_IMAGE, memory: 32, healthCheck: { command: ['CMD', 'true'] } },
      ]);
      const { taskDefinition } = await runtime.ecs.send(
        new DescribeTaskDefinitionCommand({ taskDefinition: arn }),
      );
      expect(taskDefinition!.containerDefinitions![0].healthCheck).toEqual({
        command: ['CMD', 'true'],
        interval: 30,
        timeout: 5,
        retries: 3,
      });
    });

    it.concurrent('turns a task HEALTHY once its check passes and UNHEALTHY when it starts failing', async () => {
      const taskArn = await run(
        await register('file-check', [
          {
            name: 'app',
            image: TEST_IMAGE,
            memory: 32,
            command: CREATES_OK_AFTER_A_SECOND,
            healthCheck: FILE_CHECK,
          },
        ]),
      );
      const healthy = await waitForHealth(taskArn, 'HEALTHY');
      expect(healthy.lastStatus).toBe('RUNNING');
      expect(healthy.containers![0].healthStatus).toBe('HEALTHY');

      // Docker got ECS's values, in nanoseconds, not its own defaults (a 30 s timeout).
      const app = await inspectContainer(taskArn, 'app');
      expect(app.Config.Healthcheck).toMatchObject({
        Test: FILE_CHECK.command,
        Interval: 5e9,
        Timeout: 2e9,
        Retries: 1,
      });

      const exec = await docker.getContainer(app.Id).exec({ Cmd: ['rm', '/tmp/ok'] });
      await exec.start({});
      const unhealthy = await waitForHealth(taskArn, 'UNHEALTHY');
      expect(unhealthy.containers![0].healthStatus).toBe('UNHEALTHY');
      // A standalone task is left running, as in ECS: only a service replaces an unhealthy task.
      expect(unhealthy.lastStatus).toBe('RUNNING');
      expect(unhealthy.version).toBeGreaterThan(healthy.version!);

      // Each verdict is a task change: an "ECS Task State Change" event carries it.
      const healthInEvents: string[] = [];
      const events = await SseReader.open(
        `${runtime.endpoint}/berth/v1/clusters/${CLUSTER}/task-events?after=0`,
        runtime.credentials,
      );
      try {
        while (healthInEvents.at(-1) !== 'UNHEALTHY') {
          const message = await events.next();
          const detail = message.data && (JSON.parse(message.data).detail as Task);
          if (detail && detail.taskArn === taskArn) healthInEvents.push(detail.healthStatus!);
        }
      } finally {
        events.close();
      }
      expect(healthInEvents.filter((h, i) => h !== healthInEvents[i - 1]).slice(-2)).toEqual([
        'HEALTHY',
        'UNHEALTHY',
      ]);
    });

    it.concurrent('starts a container that depends on another being HEALTHY only after its first passing check', async () => {
      const taskArn = await run(
        await register('healthy-order', [
          {
            name: 'web',
            image: TEST_IMAGE,
            memory: 32,
            command: ['sh', '-c', 'exec sleep 3600'],
            dependsOn: [{ containerName: 'db', condition: 'HEALTHY' }],
          },
          {
            name: 'db',
            image: TEST_IMAGE,
            memory: 32,
            command: CREATES_OK_AFTER_A_SECOND,
            healthCheck: FILE_CHECK,
          },
        ]),
      );
      const task = await waitFor(
        `task ${taskArn} to run`,
        async () => {
          const described = await describeTask(taskArn);
          return described.lastStatus === 'RUNNING' ? described : undefined;
        },
        VERDICT_TIMEOUT_MS,
        250,
      );
      // web has no check, so the task's health is UNKNOWN even with db HEALTHY (UNKNOWN outranks HEALTHY).
      expect(task.containers!.find((c) => c.name === 'db')!.healthStatus).toBe('HEALTHY');
      expect(task.healthStatus).toBe('UNKNOWN');

      const db = await inspectContainer(taskArn, 'db');
      const web = await inspectContainer(taskArn, 'web');
      const firstPass = db.State.Health!.Log.find((probe) => probe.ExitCode === 0)!;
      expect(Date.parse(web.State.StartedAt)).toBeGreaterThanOrEqual(Date.parse(firstPass.End));
      expect(Date.parse(web.State.StartedAt) - Date.parse(db.State.StartedAt)).toBeGreaterThan(1_000);
    });
  });
}
