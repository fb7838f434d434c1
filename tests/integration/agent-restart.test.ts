/**
 * What survives an agent restart and a reconnect: re-adopted containers, exits that happened while
 * nobody watched, seq that keeps growing, and reconciliation that stops only what the control plane
 * says should stop.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningAgent, startAgent } from '../../agent';
import type { AgentFrame } from '../../protocol/frames';
import type { DesiredTask, ObservedTask } from '../../protocol/task-frames';
import {
  buildContainer,
  buildTask,
  ensureTestImage,
  FakeControlPlane,
  removeTestContainers,
} from '../helpers/fake-control-plane';
import { waitFor } from '../helpers/wait';

const CLUSTER = `agent-restart-${randomBytes(4).toString('hex')}`;
const JOIN_TOKEN = 'agent-restart-token';
const TEST_RUN = randomBytes(6).toString('hex');
const docker = new Docker();

let plane: FakeControlPlane;
let agent: RunningAgent;
let stateDir: string;

const task = (containers: Parameters<typeof buildTask>[2]) => buildTask(CLUSTER, TEST_RUN, containers);
const inspect = (id: string) => docker.getContainer(id).inspect();

function start() {
  return startAgent({
    endpoint: plane.url,
    cluster: CLUSTER,
    joinToken: JOIN_TOKEN,
    attributes: [],
    cpu: 2048,
    memoryMiB: 1000,
    stateDir,
    log: () => {},
  });
}

/** The newest thing the agent said about a task on a connection, in a hello snapshot or a report. */
function taskIn(frame: AgentFrame, taskArn: string): { seq?: number; task: ObservedTask } | undefined {
  if (frame.type === 'hello') {
    const found = frame.tasks.find((t) => t.taskArn === taskArn);
    return found && { task: found };
  }
  if (frame.type === 'taskState' && frame.task.taskArn === taskArn)
    return { seq: frame.seq, task: frame.task };
  return undefined;
}

async function runUntilRunning(desired: DesiredTask) {
  plane.runTask(desired);
  const running = await plane.waitForTaskState(desired.taskArn, 'RUNNING');
  return running.task.containers[0].runtimeId!;
}

beforeAll(async () => {
  await ensureTestImage();
  plane = await FakeControlPlane.start({ cluster: CLUSTER, joinToken: JOIN_TOKEN });
  stateDir = mkdtempSync(join(tmpdir(), 'berth-agent-restart-'));
  agent = await start();
  await plane.waitForHello();
  await waitFor('the agent to be welcomed', () => agent.connected());
});

afterAll(async () => {
  await agent?.stop();
  await plane?.close();
  await removeTestContainers(TEST_RUN);
  rmSync(stateDir, { recursive: true, force: true });
});

describe('an agent restart', () => {
  it('re-adopts running containers and reports an exit that happened while it was down with the real exit code', async () => {
    const sleeper = task([buildContainer({ name: 'main', command: ['sleep', '600'] })]);
    const waiter = task([
      buildContainer({
        name: 'main',
        command: ['sh', '-c', 'while [ ! -f /tmp/go ]; do sleep 0.1; done; exit 7'],
      }),
    ]);
    const sleeperId = await runUntilRunning(sleeper);
    const waiterId = await runUntilRunning(waiter);
    const sleeperStartedAt = (await inspect(sleeperId)).State.StartedAt;
    const lastSeqBefore = Math.max(...plane.reportsOf(waiter.taskArn).map((r) => r.seq));

    await agent.stop();
    expect((await inspect(sleeperId)).State.Running).toBe(true);
    const exec = await docker.getContainer(waiterId).exec({ Cmd: ['touch', '/tmp/go'] });
    await exec.start({ Detach: true });
    await waitFor(
      'the waiter to exit while the agent is down',
      async () => !(await inspect(waiterId)).State.Running,
    );

    const connectionsBefore = plane.connections;
    agent = await start();
    const hello = await plane.waitForHello(connectionsBefore);
    expect(hello.instanceId).toBe(plane.instanceId);
    expect(hello.resources).toEqual({ cpu: 2048, memoryMiB: 1000 });
    const adopted = hello.tasks.find((t) => t.taskArn === sleeper.taskArn);
    expect(adopted).toMatchObject({ lastStatus: 'RUNNING', containers: [{ runtimeId: sleeperId }] });

    const stopped = await plane.waitForFrame(
      'the waiter reported STOPPED after the restart',
      (frame, received) =>
        received.connection > connectionsBefore &&
        taskIn(frame, waiter.taskArn)?.task.lastStatus === 'STOPPED',
    );
    const report = taskIn(stopped, waiter.taskArn)!;
    expect(report.task.stopCode).toBe('EssentialContainerExited');
    expect(report.task.containers).toMatchObject([
      { runtimeId: waiterId, lastStatus: 'STOPPED', exitCode: 7 },
    ]);
    if (report.seq !== undefined) expect(report.seq).toBeGreaterThan(lastSeqBefore);

    const sleeperNow = await inspect(sleeperId);
    expect(sleeperNow.State.Running).toBe(true);
    expect(sleeperNow.State.StartedAt).toBe(sleeperStartedAt);
    expect(sleeperNow.RestartCount).toBe(0);
    const containers = await docker.listContainers({
      all: true,
      filters: { label: [`com.berth.task-arn=${sleeper.taskArn}`] },
    });
    expect(containers).toHaveLength(1);
  });

  it('keeps the seq of every task growing across restarts, the hello snapshot included', async () => {
    const desired = task([buildContainer({ name: 'main', command: ['sleep', '600'] })]);
    await runUntilRunning(desired);
    await waitFor('the RUNNING report to be on disk', () => {
      const state = JSON.parse(readFileSync(join(stateDir, 'state.json'), 'utf8'));
      return (
        state.tasks.find((t: { taskArn: string }) => t.taskArn === desired.taskArn)?.observed.lastStatus ===
        'RUNNING'
      );
    });
    const seqBefore = Math.max(...plane.reportsOf(desired.taskArn).map((r) => r.seq));

    await agent.stop();
    const connectionsBefore = plane.connections;
    agent = await start();
    await plane.waitForHello(connectionsBefore);
    await waitFor('the agent to be welcomed again', () => agent.connected());
    plane.stopTask(desired.taskArn, 2);
    const stopped = await plane.waitForTaskState(desired.taskArn, 'STOPPED');
    // The hello counted as report seqBefore + 1, so the next report must be newer still.
    expect(stopped.seq).toBeGreaterThan(seqBefore + 1);
  });

  it('ignores a command it had already accepted before the restart', async () => {
    const desired = task([buildContainer({ name: 'main', command: ['sleep', '600'] })]);
    const containerId = await runUntilRunning(desired);
    await agent.stop();
    const connectionsBefore = plane.connections;
    agent = await start();
    await plane.waitForHello(connectionsBefore);
    await waitFor('the agent to be welcomed again', () => agent.connected());
    const reportsBefore = plane.reportsOf(desired.taskArn).length;

    const duplicate = plane.runTask(desired);
    await plane.waitForFrame(
      'the ack of the duplicate',
      (f) => f.type === 'ack' && f.messageId === duplicate,
    );
    expect(plane.reportsOf(desired.taskArn).slice(reportsBefore)).toEqual([]);
    expect((await inspect(containerId)).RestartCount).toBe(0);
  });
});

describe('reconciliation on reconnect', () => {
  it('keeps running a task the welcome does not mention', async () => {
    const desired = task([buildContainer({ name: 'main', command: ['sleep', '600'] })]);
    const containerId = await runUntilRunning(desired);
    plane.welcomeTasks = () => [];
    try {
      const connectionsBefore = plane.connections;
      plane.disconnect();
      await plane.waitForHello(connectionsBefore);
      // Commands are handled after the welcome, in order: once this one is acked, the welcome was reconciled.
      const probe = plane.stopTask(task([buildContainer({ name: 'x' })]).taskArn, 1);
      await plane.waitForFrame('the probe ack', (f) => f.type === 'ack' && f.messageId === probe);
    } finally {
      plane.welcomeTasks = undefined;
    }
    expect((await inspect(containerId)).State.Running).toBe(true);
    expect(plane.reportsOf(desired.taskArn).some((r) => r.task.lastStatus === 'STOPPED')).toBe(false);
  });

  it('stops a task the welcome says is desired STOPPED at a newer generation', async () => {
    const desired = task([buildContainer({ name: 'main', command: ['sleep', '600'] })]);
    const containerId = await runUntilRunning(desired);
    // The control plane decided to stop it, but the command never reached the agent: the next welcome carries it.
    plane.desired.set(desired.taskArn, {
      ...desired,
      generation: 2,
      desiredStatus: 'STOPPED',
      stoppedReason: 'stopped while away',
    });
    const connectionsBefore = plane.connections;
    plane.disconnect();
    await plane.waitForHello(connectionsBefore);
    const stopped = await plane.waitForTaskState(desired.taskArn, 'STOPPED');
    expect(stopped.task.stoppedReason).toBe('stopped while away');
    expect(stopped.task.generation).toBe(2);
    expect((await inspect(containerId)).State.Running).toBe(false);
  });
});
