/**
 * The shape of the agent's frame handlers: one per control frame type, in a map typed against the
 * protocol's union, so a frame type added to the protocol without a handler fails type-checking.
 */
import type { AgentFrame, ControlFrame, FrameOf } from '../../protocol/frames';
import type { AgentStreams } from '../streams/agent-streams';

export type Welcome = FrameOf<ControlFrame, 'welcome'>;
export type RunTask = FrameOf<ControlFrame, 'runTask'>;
export type StopTask = FrameOf<ControlFrame, 'stopTask'>;

/** What the handlers act on: the task registry (agent/tasks/task-registry.ts), or a fake in tests. */
export interface AgentTasks {
  /** Keeps the welcome's identity and reconciles with its desired state. */
  reconcile(welcome: Welcome): Promise<void>;
  /**
   * Takes the command in memory before returning (so commands are taken in the order they are
   * handed over, even when nobody awaits), then resolves once it is recorded in the state file;
   * rejects with CommandRefused when it cannot be.
   */
  runTask(command: RunTask): Promise<void>;
  stopTask(command: StopTask): Promise<void>;
}

/** What a handler may use, bound to the one connection its frame arrived on. */
export interface HandlerContext {
  tasks: AgentTasks;
  /** The exec and logs streams of the frame's connection. */
  streams: Pick<AgentStreams, 'open' | 'credit' | 'resize' | 'close'>;
  /** Sends on the frame's connection, welcomed or not (pong, ack, nack); dropped once it is closed. */
  reply(frame: AgentFrame): void;
  /** The link's part of a welcome: reports may flow, backoff resets, heartbeats at the given interval. */
  welcomed(heartbeatIntervalMs: number): void;
  log(line: string): void;
}

export type ControlFrameHandler<T extends ControlFrame['type']> = (
  frame: FrameOf<ControlFrame, T>,
  context: HandlerContext,
) => Promise<void>;

export type ControlFrameHandlers = { [T in ControlFrame['type']]: ControlFrameHandler<T> };
