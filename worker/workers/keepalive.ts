/**
 * The one agent frame a cluster's Durable Object can answer without waking up. The runtime's
 * auto-response matches a whole message byte for byte, so it can only answer a fixed string; the
 * protocol's ping carries `sentAtMs`, so only a ping with `sentAtMs: 0` qualifies, and the reply is
 * a valid pong. An agent that sends pings with real timestamps still gets its pong, from the
 * coordinator, at the cost of a wake-up per ping (see docs/workers.md).
 */
import type { AgentFrame, ControlFrame, FrameOf } from '../../protocol/agent-protocol';

export const HIBERNATION_KEEPALIVE_PING = JSON.stringify({ type: 'ping', sentAtMs: 0 } satisfies FrameOf<
  AgentFrame,
  'ping'
>);
export const HIBERNATION_KEEPALIVE_PONG = JSON.stringify({ type: 'pong', sentAtMs: 0 } satisfies FrameOf<
  ControlFrame,
  'pong'
>);
