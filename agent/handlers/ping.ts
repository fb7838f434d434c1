import type { ControlFrameHandler } from './types';

/** The control plane's heartbeat: answered at once with its own `sentAtMs`, welcomed or not. */
export const onPing: ControlFrameHandler<'ping'> = async (ping, context) => {
  context.reply({ type: 'pong', sentAtMs: ping.sentAtMs });
};
