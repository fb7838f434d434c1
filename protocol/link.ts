/**
 * The link itself, shared by both ends of the agent socket: where the agent dials, how big a frame
 * may be, how a connection is closed, how much work one connection may cause, and the heartbeat
 * (interval, silence before a cut, and the one keepalive frame a hibernating host answers for free).
 */
import type { AgentFrame, ControlFrame, FrameOf } from './frames';

export const PROTOCOL_VERSION = 1;

/** Agent socket endpoint path on the control plane. */
export const AGENT_CONNECT_PATH = '/agent/v1/connect';

/** Larger frames are refused: a task with 10 containers is a few KiB, a snapshot of 1,000 tasks a few hundred. */
export const MAX_FRAME_BYTES = 1024 * 1024;

/** WebSocket close codes the control plane uses, so an agent can tell a bad frame from a bad token. */
export const CLOSE_CODES = {
  normal: 1000,
  goingAway: 1001,
  protocolError: 1002,
  unsupportedData: 1003,
  frameTooLarge: 1009,
  /** Application codes (4000-4999). */
  unauthorized: 4001,
  clusterNotFound: 4004,
  replacedByNewConnection: 4009,
  deregistered: 4010,
  heartbeatTimeout: 4008,
  /** The connection sent more frames than its budget allows (see FRAME_BUDGET). */
  tooManyFrames: 4029,
  /** The join token expired or was used up between admission and registration (a race); the agent retries later. */
  joinTokenSpent: 4011,
  /** The join token registered too many instances in a short time; the agent retries later. */
  registrationRateLimited: 4030,
  /** An admin revoked this instance's credential: the agent stops and does not reconnect. */
  credentialRevoked: 4012,
} as const;

/**
 * A connect refused for good carries this header (HTTP header names are case-insensitive): the
 * instance's credential was revoked, so the agent stops instead of retrying or registering anew.
 */
export const CONNECT_REFUSAL = {
  header: 'x-berth-refusal',
  credentialRevoked: 'credential-revoked',
} as const;

/**
 * How much work one agent connection may cause: a token bucket of frames, refilled at
 * `perSecond` up to `burst`. A real agent sends a few frames a second (reports, pings) and a hello
 * snapshot; a connection that exceeds the bucket is closed with `tooManyFrames`, so one host can't
 * slow down the control plane for every other cluster.
 */
export const FRAME_BUDGET = { perSecond: 200, burst: 2_000 } as const;

/**
 * How often the agent sends its keepalive, until and unless the `welcome` names another interval
 * (the control plane's `BERTH_HEARTBEAT_INTERVAL_MS`, which tests shorten). The Node host probes a
 * quiet socket after one interval, too.
 */
export const HEARTBEAT_INTERVAL_MS = 10_000;

/**
 * Either end cuts a link on which nothing (frame, keepalive, transport ping or pong) arrived for
 * this many heartbeat intervals: one lost keepalive is a hiccup, three in a row is a half-open
 * socket that TCP alone may not notice for minutes.
 */
export const SILENT_INTERVALS_BEFORE_CUT = 3;

/**
 * The agent's heartbeat, byte for byte. A Durable Object can have the runtime answer one fixed
 * message without waking it (`setWebSocketAutoResponse`), and the match is on the whole string, so
 * the keepalive is a constant: a ping whose `sentAtMs` is 0. An idle cluster then costs no wake-ups.
 * The Node host answers it like any ping, with the same bytes as KEEPALIVE_PONG.
 */
export const KEEPALIVE_PING = JSON.stringify({ type: 'ping', sentAtMs: 0 } satisfies FrameOf<
  AgentFrame,
  'ping'
>);
/** The answer to KEEPALIVE_PING, from the Workers runtime or from the coordinator (a pong echoes `sentAtMs`). */
export const KEEPALIVE_PONG = JSON.stringify({ type: 'pong', sentAtMs: 0 } satisfies FrameOf<
  ControlFrame,
  'pong'
>);
