/**
 * Where every frame from the control plane goes: one handler per frame type. The map is typed
 * against the protocol's ControlFrame union, so a new frame type fails type-checking until it has
 * a handler here.
 */
import type { ControlFrame } from '../../protocol/frames';
import { onPing } from './ping';
import { onPong } from './pong';
import { onRunTask } from './run-task';
import { onStopTask } from './stop-task';
import type { ControlFrameHandler, ControlFrameHandlers, HandlerContext } from './types';
import { onWelcome } from './welcome';

export type { AgentTasks, ControlFrameHandlers, HandlerContext } from './types';

export const CONTROL_FRAME_HANDLERS: ControlFrameHandlers = {
  welcome: onWelcome,
  runTask: onRunTask,
  stopTask: onStopTask,
  ping: onPing,
  pong: onPong,
  // Streams (protocol/streams.ts) are taken at once; their work runs beside the frame queue.
  streamOpen: async (frame, context) => context.streams.open(frame),
  streamCredit: async (frame, context) => context.streams.credit(frame),
  streamResize: async (frame, context) => context.streams.resize(frame),
  streamClose: async (frame, context) => context.streams.close(frame),
};

/**
 * Frames whose handlers take the command in memory at once and answer it later, once it is durable
 * (a state-file write). The link takes the next frame without waiting for that answer, so a burst
 * of commands shares one write instead of queueing a write each; the commands are still taken in
 * arrival order, and never before an earlier welcome has been reconciled.
 */
export const ANSWERED_WHEN_DURABLE: ReadonlySet<ControlFrame['type']> = new Set(['runTask', 'stopTask']);

export function handleControlFrame(frame: ControlFrame, context: HandlerContext): Promise<void> {
  // TypeScript cannot tie `frame.type` to the handler's parameter across the union; the map's type does.
  const handler = CONTROL_FRAME_HANDLERS[frame.type] as ControlFrameHandler<ControlFrame['type']>;
  return handler(frame, context);
}
