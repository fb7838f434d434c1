/**
 * The agent's control frame handlers (agent/handlers/): one per frame type, on a fake link, then
 * behind them the real task registry on a simulated runtime and a real state file, for the
 * commands it cannot accept.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CommandRefused } from '../../agent/errors';
import {
  type AgentTasks,
  CONTROL_FRAME_HANDLERS,
  type ControlFrameHandlers,
  type HandlerContext,
  handleControlFrame,
} from '../../agent/handlers';
import type { RunTask, StopTask, Welcome } from '../../agent/handlers/types';
import { SimulatedRuntime } from '../../agent/runtime/simulated-runtime';
import { STATE_FILE_NAME, StateStore } from '../../agent/state/state-file';
import { TaskRegistry } from '../../agent/tasks/task-registry';
import type { AgentFrame } from '../../protocol/frames';
import { controlFrameSchema } from '../../protocol/frames';
import { buildContainer, buildTask } from '../helpers/fake-control-plane';
import { waitFor } from '../helpers/wait';

const CLUSTER = 'handlers';

const runTask = (messageId = 'run-1'): RunTask => ({
  type: 'runTask',
  messageId,
  task: buildTask(CLUSTER, 'unit', [buildContainer({ name: 'main' })]),
});
const stopTask = (taskArn: string, messageId = 'stop-1'): StopTask => ({
  type: 'stopTask',
  messageId,
  taskArn,
  generation: 2,
  reason: 'stopped by the test',
});
const welcome = (heartbeatIntervalMs = 1_234): Welcome => ({
  type: 'welcome',
  containerInstanceArn: `arn:aws:ecs:us-east-1:123456789012:container-instance/${CLUSTER}/i-1`,
  instanceId: 'i-1',
  heartbeatIntervalMs,
  desiredTasks: [],
});

/** A link that records what the handlers do with it, and tasks that do nothing unless told. */
function fakeLink(tasks: Partial<AgentTasks> = {}) {
  const replies: AgentFrame[] = [];
  const logs: string[] = [];
  const events: string[] = [];
  const context: HandlerContext = {
    tasks: {
      reconcile: async () => {},
      runTask: async () => {},
      stopTask: async () => {},
      ...tasks,
    },
    streams: { open: () => {}, credit: () => {}, resize: () => {}, close: () => {} },
    reply: (frame) => replies.push(frame),
    welcomed: (heartbeatIntervalMs) => events.push(`welcomed at ${heartbeatIntervalMs} ms`),
    log: (line) => logs.push(line),
  };
  return { context, replies, logs, events };
}

describe('the handler map', () => {
  it('has one handler for every control frame type the protocol defines', () => {
    const types = controlFrameSchema.options.map((option) => option.shape.type.value);
    expect(Object.keys(CONTROL_FRAME_HANDLERS).sort()).toEqual([...types].sort());
  });

  it('fails type-checking when a frame type has no handler', () => {
    const { pong: _pong, ...withoutPong } = CONTROL_FRAME_HANDLERS;
    // @ts-expect-error: 'pong' is missing, which is the point: `tsc` fails on a map without it.
    const incomplete: ControlFrameHandlers = withoutPong;
    expect(incomplete).not.toHaveProperty('pong');
  });
});

describe('the control frame handlers', () => {
  it('acknowledge a runTask once the tasks have recorded it, and not before', async () => {
    let recorded: () => void = () => {};
    const { context, replies } = fakeLink({
      runTask: () => new Promise<void>((resolve) => (recorded = resolve)),
    });
    const handled = handleControlFrame(runTask('run-7'), context);
    await Promise.resolve();
    expect(replies).toEqual([]);
    recorded();
    await handled;
    expect(replies).toEqual([{ type: 'ack', messageId: 'run-7' }]);
  });

  it('acknowledge a stopTask once the tasks have recorded it', async () => {
    const stopped: StopTask[] = [];
    const { context, replies } = fakeLink({ stopTask: async (command) => void stopped.push(command) });
    await handleControlFrame(stopTask('arn:task', 'stop-3'), context);
    expect(stopped.map((c) => c.taskArn)).toEqual(['arn:task']);
    expect(replies).toEqual([{ type: 'ack', messageId: 'stop-3' }]);
  });

  it("answer a command the tasks refuse with a nack carrying the refusal's name and retryable", async () => {
    const { context, replies, logs } = fakeLink({
      runTask: async () => {
        throw new CommandRefused('StateFileWriteFailed', 'disk full', true);
      },
    });
    await handleControlFrame(runTask('run-8'), context);
    expect(replies).toEqual([
      {
        type: 'nack',
        messageId: 'run-8',
        error: { name: 'StateFileWriteFailed', retryable: true, message: 'disk full' },
      },
    ]);
    expect(logs.some((line) => line.includes('refused runTask run-8: StateFileWriteFailed'))).toBe(true);
  });

  it('answer an unexpected failure with a nack naming an InternalError, not retryable', async () => {
    const { context, replies } = fakeLink({
      stopTask: async () => {
        throw new TypeError('cannot read properties of undefined');
      },
    });
    await handleControlFrame(stopTask('arn:task', 'stop-9'), context);
    expect(replies).toEqual([
      {
        type: 'nack',
        messageId: 'stop-9',
        error: { name: 'InternalError', retryable: false, message: 'cannot read properties of undefined' },
      },
    ]);
  });

  it('answer a ping with a pong carrying its sentAtMs', async () => {
    const { context, replies } = fakeLink();
    await handleControlFrame({ type: 'ping', sentAtMs: 42 }, context);
    expect(replies).toEqual([{ type: 'pong', sentAtMs: 42 }]);
  });

  it('take a pong without answering it', async () => {
    const { context, replies, events } = fakeLink();
    await handleControlFrame({ type: 'pong', sentAtMs: 0 }, context);
    expect(replies).toEqual([]);
    expect(events).toEqual([]);
  });

  it("mark the link welcomed at the welcome's heartbeat interval before reconciling, and outlive a failed reconciliation", async () => {
    const { context, events, logs } = fakeLink({
      reconcile: async () => {
        events.push('reconciled');
        throw new Error('docker went away');
      },
    });
    await handleControlFrame(welcome(750), context);
    expect(events).toEqual(['welcomed at 750 ms', 'reconciled']);
    expect(logs.some((line) => line.includes('reconciling the welcome failed: docker went away'))).toBe(true);
  });
});

describe('commands the task registry cannot accept (simulated runtime, real state file)', () => {
  const cleanups: (() => void | Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function setUp() {
    const stateDir = mkdtempSync(join(tmpdir(), 'berth-agent-handlers-'));
    cleanups.push(() => rmSync(stateDir, { recursive: true, force: true }));
    const runtime = new SimulatedRuntime();
    const store = await StateStore.open(stateDir, CLUSTER);
    const registry = new TaskRegistry(store, {
      runtime,
      cluster: CLUSTER,
      now: Date.now,
      log: () => {},
      send: () => false,
    });
    cleanups.push(() => registry.close());
    await registry.reconcile(welcome());
    const link = fakeLink(registryTasks(registry));
    return { stateDir, runtime, store, registry, ...link };
  }

  const registryTasks = (registry: TaskRegistry): AgentTasks => ({
    reconcile: (frame) => registry.reconcile(frame),
    runTask: (command) => registry.runTask(command),
    stopTask: (command) => registry.stopTask(command),
  });

  it('nack a runTask that cannot be written to the state file as retryable, and run the task once a resend is recorded', async () => {
    const { stateDir, runtime, context, replies } = await setUp();
    const command = runTask('run-1');
    rmSync(stateDir, { recursive: true, force: true });

    await handleControlFrame(command, context);
    expect(replies).toEqual([
      {
        type: 'nack',
        messageId: 'run-1',
        error: expect.objectContaining({ name: 'StateFileWriteFailed', retryable: true }),
      },
    ]);
    expect(runtime.runningCount()).toBe(0);

    mkdirSync(stateDir);
    await handleControlFrame(command, context);
    expect(replies.at(-1)).toEqual({ type: 'ack', messageId: 'run-1' });
    const state = JSON.parse(readFileSync(join(stateDir, STATE_FILE_NAME), 'utf8')) as {
      tasks: { taskArn: string }[];
    };
    expect(state.tasks.map((t) => t.taskArn)).toEqual([command.task.taskArn]);
    await waitFor('the task to run', () => runtime.runningCount() === 1);
  });

  it('record a burst of commands handed over together in one write of the state file, and run them all', async () => {
    const { stateDir, runtime, store, context, replies } = await setUp();
    const writesBefore = store.writes;
    const commands = Array.from({ length: 50 }, (_, i) => runTask(`run-${i}`));
    // As the link hands them over: each taken at once, none waiting for the one before to be recorded.
    await Promise.all(commands.map((command) => handleControlFrame(command, context)));
    expect(replies.map((frame) => frame.type === 'ack' && frame.messageId)).toEqual(
      commands.map((c) => c.messageId),
    );
    // One write for the fifty commands; the tasks' first reports may have begun a second by now.
    expect(store.writes - writesBefore).toBeLessThanOrEqual(2);
    const state = JSON.parse(readFileSync(join(stateDir, STATE_FILE_NAME), 'utf8')) as {
      tasks: { taskArn: string }[];
    };
    expect(state.tasks.map((t) => t.taskArn)).toEqual(commands.map((c) => c.task.taskArn));
    await waitFor('every task to run', () => runtime.runningCount() === 50);
  });

  it('nack commands as AgentStopping, retryable, once the agent is stopping', async () => {
    const { registry, context, replies } = await setUp();
    await registry.close();
    const command = runTask('run-2');
    await handleControlFrame(command, context);
    await handleControlFrame(stopTask(command.task.taskArn, 'stop-2'), context);
    expect(replies.map((frame) => frame.type === 'nack' && [frame.messageId, frame.error.name])).toEqual([
      ['run-2', 'AgentStopping'],
      ['stop-2', 'AgentStopping'],
    ]);
  });
});
