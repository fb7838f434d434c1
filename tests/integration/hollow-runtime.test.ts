/**
 * A hollow host: the real agent with the simulated container runtime, against a real control plane.
 * What the scale benchmarks rely on: tasks reach RUNNING and STOPPED through the whole real path,
 * with no Docker anywhere.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateClusterCommand,
  DescribeContainerInstancesCommand,
  DescribeTasksCommand,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  StopTaskCommand,
  type Task,
} from '@aws-sdk/client-ecs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningAgent, startAgent } from '../../agent';
import {
  SIMULATED_ENGINE_VERSION,
  SimulatedRuntime,
  STOPPED_EXIT_CODE,
} from '../../agent/runtime/simulated-runtime';
import { mintJoinToken } from '../../worker/core/join-tokens/join-tokens';
import { startTestControlPlane, type TestControlPlane } from '../helpers/control-plane';
import { waitFor } from '../helpers/wait';

const CLUSTER = 'hollow';
const START_DELAY_MS = 50;

describe('a hollow host (real agent, simulated runtime)', () => {
  let test: TestControlPlane;
  let agent: RunningAgent;
  let runtime: SimulatedRuntime;
  let stateDir: string;

  const describeTask = async (taskArn: string): Promise<Task> =>
    (await test.ecs.send(new DescribeTasksCommand({ cluster: CLUSTER, tasks: [taskArn] }))).tasks![0];

  const waitForStatus = (taskArn: string, status: string) =>
    waitFor(`task ${taskArn} to be ${status}`, async () => {
      const task = await describeTask(taskArn);
      return task.lastStatus === status ? task : undefined;
    });

  const runOne = async () => {
    const out = await test.ecs.send(new RunTaskCommand({ cluster: CLUSTER, taskDefinition: 'hollow' }));
    expect(out.failures).toEqual([]);
    return out.tasks![0].taskArn!;
  };

  beforeAll(async () => {
    test = await startTestControlPlane();
    await test.ecs.send(new CreateClusterCommand({ clusterName: CLUSTER }));
    await test.ecs.send(
      new RegisterTaskDefinitionCommand({
        family: 'hollow',
        containerDefinitions: [{ name: 'main', image: 'no-such-registry.invalid/app:1', memory: 64 }],
      }),
    );
    stateDir = mkdtempSync(join(tmpdir(), 'berth-hollow-it-'));
    runtime = new SimulatedRuntime({ startDelayMs: START_DELAY_MS, presentImages: [] });
    agent = await startAgent({
      endpoint: test.plane.url,
      cluster: CLUSTER,
      joinToken: await mintJoinToken(test.plane.deps, CLUSTER),
      attributes: [],
      cpu: 1_000_000,
      memoryMiB: 1_000_000,
      stateDir,
      runtime,
      log: () => {},
    });
    await waitFor('the hollow host to be welcomed', () => agent.connected());
  });

  afterAll(async () => {
    await agent?.stop();
    await test?.close();
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  });

  it('registers with the resources it was given and the simulated engine version', async () => {
    const out = await test.ecs.send(
      new DescribeContainerInstancesCommand({ cluster: CLUSTER, containerInstances: [agent.instanceId()!] }),
    );
    const instance = out.containerInstances![0];
    expect(instance.registeredResources?.find((r) => r.name === 'CPU')?.integerValue).toBe(1_000_000);
    expect(instance.registeredResources?.find((r) => r.name === 'MEMORY')?.integerValue).toBe(1_000_000);
    expect(instance.versionInfo?.dockerVersion).toContain(SIMULATED_ENGINE_VERSION);
  });

  it('takes a task to RUNNING through the real control plane, after the simulated start delay', async () => {
    const taskArn = await runOne();
    const task = await waitForStatus(taskArn, 'RUNNING');
    expect(runtime.runningCount()).toBeGreaterThanOrEqual(1);
    expect(task.containers![0].runtimeId).toMatch(/^[0-9a-f]{64}$/);
    // The image was missing, so the agent pulled it (simulated) and reported the pull times.
    expect(task.pullStartedAt).toBeDefined();
    expect(task.pullStoppedAt).toBeDefined();
    expect(task.startedAt!.getTime() - task.pullStoppedAt!.getTime()).toBeGreaterThanOrEqual(
      START_DELAY_MS - 5,
    );
  });

  it('stops a RUNNING task on StopTask, recording the exit code of the stopped container', async () => {
    const taskArn = await runOne();
    await waitForStatus(taskArn, 'RUNNING');
    const runningBefore = runtime.runningCount();
    await test.ecs.send(new StopTaskCommand({ cluster: CLUSTER, task: taskArn, reason: 'hollow test' }));
    const task = await waitForStatus(taskArn, 'STOPPED');
    expect(task.stopCode).toBe('UserInitiated');
    expect(task.stoppedReason).toBe('hollow test');
    expect(task.containers![0].exitCode).toBe(STOPPED_EXIT_CODE);
    expect(runtime.runningCount()).toBe(runningBefore - 1);
  });

  it('runs ten tasks of one RunTask call at once', async () => {
    const out = await test.ecs.send(
      new RunTaskCommand({ cluster: CLUSTER, taskDefinition: 'hollow', count: 10 }),
    );
    const arns = out.tasks!.map((t) => t.taskArn!);
    expect(arns).toHaveLength(10);
    await waitFor('all ten tasks to be RUNNING', async () => {
      const described = await test.ecs.send(new DescribeTasksCommand({ cluster: CLUSTER, tasks: arns }));
      return described.tasks!.every((t) => t.lastStatus === 'RUNNING');
    });
  });
});
