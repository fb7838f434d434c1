/**
 * The Docker engine goes away under a running agent and comes back. Each test runs its own private
 * dockerd (tests/helpers/private-dockerd.ts), never the shared engine other test files use, with the
 * real agent process pointed at it through DOCKER_HOST. The invariants checked where they apply:
 *  1. an acknowledged write survives;  2. at most one container per task container;  3. restarts never
 *  stop a running container;  4. every task reaches a final status with its exit code and reason;
 *  5. a recorded status never moves backwards.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateClusterCommand,
  DescribeContainerInstancesCommand,
  type ECSClient,
  ListContainerInstancesCommand,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  type Task,
} from '@aws-sdk/client-ecs';
import type Docker from 'dockerode';
import { afterEach, describe, expect, it } from 'vitest';
import { CONTAINER_LABELS } from '../../../protocol/agent-protocol';
import { mintJoinToken } from '../../../worker/core/join-tokens/join-tokens';
import { type AgentProcess, spawnAgent } from '../../helpers/agent-process';
import { startTestControlPlane } from '../../helpers/control-plane';
import { TEST_IMAGE } from '../../helpers/docker';
import { describeAll, statusWatcher, waitForStatus } from '../../helpers/ecs-queries';
import { type PrivateDockerd, startPrivateDockerd } from '../../helpers/private-dockerd';
import { waitFor } from '../../helpers/wait';

const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

interface Rig {
  ecs: ECSClient;
  cluster: string;
  agent: AgentProcess;
  /** Registers a one-container task definition (no network: the private engine has no bridge) and runs it. */
  runTask(family: string, command: string[], stopTimeout?: number): Promise<string>;
  /** Every container of the task on the private engine, inspected. */
  containersOf(taskArn: string): Promise<Docker.ContainerInspectInfo[]>;
}

async function startRig(cluster: string, engine: PrivateDockerd): Promise<Rig> {
  const { plane, ecs, close } = await startTestControlPlane();
  cleanups.push(close);
  await ecs.send(new CreateClusterCommand({ clusterName: cluster }));
  const stateDir = mkdtempSync(join(tmpdir(), 'berth-docker-restart-'));
  const token = await mintJoinToken(plane.deps, cluster);
  const agent = spawnAgent({
    endpoint: plane.url,
    cluster,
    joinToken: token,
    stateDir,
    env: { DOCKER_HOST: engine.host },
  });
  cleanups.push(async () => {
    await agent.kill('SIGKILL');
    rmSync(stateDir, { recursive: true, force: true });
  });
  await waitFor('the agent to register', async () => {
    if (agent.child.exitCode !== null) throw new Error(`the agent exited:\n${agent.output()}`);
    const list = await ecs.send(new ListContainerInstancesCommand({ cluster }));
    if (!list.containerInstanceArns?.length) return false;
    const out = await ecs.send(
      new DescribeContainerInstancesCommand({ cluster, containerInstances: list.containerInstanceArns }),
    );
    return out.containerInstances![0].agentConnected;
  });
  return {
    ecs,
    cluster,
    agent,
    async runTask(family, command, stopTimeout = 1) {
      await ecs.send(
        new RegisterTaskDefinitionCommand({
          family,
          networkMode: 'none',
          containerDefinitions: [{ name: 'main', image: TEST_IMAGE, memory: 16, command, stopTimeout }],
        }),
      );
      const out = await ecs.send(new RunTaskCommand({ cluster, taskDefinition: family }));
      return out.tasks![0].taskArn!;
    },
    async containersOf(taskArn) {
      const listed = await engine.docker.listContainers({
        all: true,
        filters: { label: [`${CONTAINER_LABELS.taskArn}=${taskArn}`] },
      });
      return Promise.all(listed.map((c) => engine.docker.getContainer(c.Id).inspect()));
    },
  };
}

function expectStoppedWith(task: Task, exitCode: number) {
  expect(task.lastStatus).toBe('STOPPED');
  expect(task.stopCode).toBe('EssentialContainerExited');
  expect(task.stoppedReason).toBeTruthy();
  expect(task.containers![0].lastStatus).toBe('STOPPED');
  expect(task.containers![0].exitCode).toBe(exitCode);
}

/** The agent follows the engine again: a task run now starts, exits by itself and is recorded with its code. */
async function expectAgentFollowsTheEngine(rig: Rig) {
  const arn = await rig.runTask('after-the-restart', ['sh', '-c', 'sleep 1; exit 3']);
  const [task] = await waitForStatus(rig.ecs, rig.cluster, [arn], 'STOPPED');
  expectStoppedWith(task, 3);
}

describe('a Docker engine restart under a running agent', () => {
  it('keeps the running containers of a live-restore engine through its kill -9, and reports the exit that happened while it was down', async () => {
    const engine = await startPrivateDockerd({ liveRestore: true });
    cleanups.push(engine.destroy);
    const rig = await startRig('engine-live-restore', engine);
    const { ecs, cluster } = rig;
    const long = await rig.runTask('long', ['sleep', '3600']);
    const exiting = await rig.runTask('exits-while-down', ['sh', '-c', 'sleep 6; exit 7']);
    const expectNeverBackwards = statusWatcher(ecs, cluster, () => [long, exiting]);
    const running = await waitForStatus(ecs, cluster, [long, exiting], 'RUNNING');
    const [longBefore] = await rig.containersOf(long);
    const [exitingBefore] = await rig.containersOf(exiting);

    await engine.kill('SIGKILL');
    // The exit must fall inside the engine's downtime, or this test proves nothing.
    expect(isAlive(exitingBefore.State.Pid), 'the exiting container outlived the engine').toBe(true);
    await waitFor('the container to exit while the engine is down', () => !isAlive(exitingBefore.State.Pid));
    expect(isAlive(longBefore.State.Pid), 'the long container survived the engine').toBe(true);
    expect((await describeAll(ecs, cluster, [exiting]))[0].lastStatus).toBe('RUNNING');
    await engine.start();

    const [exited] = await waitForStatus(ecs, cluster, [exiting], 'STOPPED', 30_000);
    expectStoppedWith(exited, 7);
    const [longTask] = await describeAll(ecs, cluster, [long]);
    expect(longTask.lastStatus).toBe('RUNNING');
    expect(longTask.containers![0].runtimeId).toBe(running[0].containers![0].runtimeId);
    const [longAfter] = await rig.containersOf(long);
    // The same process, never restarted: same pid, same start time.
    expect(longAfter.State.Running).toBe(true);
    expect(longAfter.State.Pid).toBe(longBefore.State.Pid);
    expect(longAfter.State.StartedAt).toBe(longBefore.State.StartedAt);
    await expectAgentFollowsTheEngine(rig);
    for (const arn of [long, exiting]) expect(await rig.containersOf(arn)).toHaveLength(1);
    expect((await rig.containersOf(exiting))[0].Id).toBe(exitingBefore.Id);
    expect(rig.agent.child.exitCode, rig.agent.output()).toBeNull();
    await expectNeverBackwards();
  }, 60_000);

  it('reports the containers an engine without live-restore stopped as it shut down, with their real exit codes, and never re-creates them', async () => {
    const engine = await startPrivateDockerd({ liveRestore: false });
    cleanups.push(engine.destroy);
    const rig = await startRig('engine-no-live-restore', engine);
    const { ecs, cluster } = rig;
    // PID 1 ignores SIGTERM unless it traps it: one container exits with its own code, the other is killed.
    const traps = await rig.runTask(
      'traps-term',
      ['sh', '-c', 'trap "exit 42" TERM; while true; do sleep 1; done'],
      10,
    );
    const ignores = await rig.runTask('ignores-term', ['sleep', '3600'], 1);
    const expectNeverBackwards = statusWatcher(ecs, cluster, () => [traps, ignores]);
    await waitForStatus(ecs, cluster, [traps, ignores], 'RUNNING');
    const [trapsBefore] = await rig.containersOf(traps);
    const [ignoresBefore] = await rig.containersOf(ignores);

    await engine.kill('SIGTERM');
    // The engine itself stopped them as it shut down.
    expect([trapsBefore, ignoresBefore].map((c) => isAlive(c.State.Pid))).toEqual([false, false]);
    await engine.start();

    const [trapsTask, ignoresTask] = await waitForStatus(ecs, cluster, [traps, ignores], 'STOPPED', 30_000);
    expectStoppedWith(trapsTask, 42);
    expectStoppedWith(ignoresTask, 137);
    await expectAgentFollowsTheEngine(rig);
    for (const [arn, before] of [
      [traps, trapsBefore],
      [ignores, ignoresBefore],
    ] as const) {
      const containers = await rig.containersOf(arn);
      expect(containers.map((c) => c.Id)).toEqual([before.Id]);
      expect(containers[0].State.Running).toBe(false);
      expect(containers[0].State.StartedAt).toBe(before.State.StartedAt);
    }
    expect(rig.agent.child.exitCode, rig.agent.output()).toBeNull();
    await expectNeverBackwards();
  }, 60_000);
});
