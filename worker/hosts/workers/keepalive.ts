/**
 * The one agent frame a cluster's Durable Object lets the runtime answer without waking up
 * (`setWebSocketAutoResponse` in worker/index.ts). The frames are the protocol's own keepalive,
 * defined once in protocol/link.ts and sent by the agent as its heartbeat, so an idle cluster costs
 * no wake-ups. Any other ping still gets its pong, from the coordinator, at the cost of a wake-up.
 */
export {
  KEEPALIVE_PING as HIBERNATION_KEEPALIVE_PING,
  KEEPALIVE_PONG as HIBERNATION_KEEPALIVE_PONG,
} from '../../../protocol/link';
