/**
 * Every delay and deadline only the agent uses, in one place, each with the reason for its value.
 * The heartbeat (interval, silence before a cut, the keepalive) is shared with the control plane
 * and lives in protocol/link.ts.
 */

/** A WebSocket upgrade that hangs this long is abandoned and retried. */
export const CONNECT_TIMEOUT_MS = 10_000;

/** Reconnect delays: exponential from the base, capped, with full jitter so a fleet does not reconnect in step. */
export const RECONNECT_BASE_DELAY_MS = 250;
export const RECONNECT_MAX_DELAY_MS = 10_000;
/**
 * A rejected join token or an unknown cluster will not fix itself in a second: retry slowly so a
 * misconfigured fleet does not hammer the control plane, but keep retrying so a fixed token is picked up.
 */
export const REJECTED_BASE_DELAY_MS = 5_000;
export const REJECTED_MAX_DELAY_MS = 60_000;

/** Reconnecting to a Docker engine that went away (engine restart, socket gone). */
export const DOCKER_RECONNECT_BASE_DELAY_MS = 250;
export const DOCKER_RECONNECT_MAX_DELAY_MS = 10_000;

/** A pull that takes longer than this fails the task instead of leaving it PENDING forever. */
export const IMAGE_PULL_TIMEOUT_MS = 10 * 60_000;
/** ECS_CONTAINER_STOP_TIMEOUT's default: SIGTERM, then SIGKILL after this long. */
export const DEFAULT_STOP_TIMEOUT_SECONDS = 30;
/** `docker stop` waits the stop timeout itself; this is the extra margin before the agent gives up on the call. */
export const STOP_CALL_MARGIN_MS = 15_000;

/**
 * A stopped task stays in the state file this long after the control plane confirmed it, so a late
 * command for it is still recognised as stale instead of starting the task again.
 */
export const STOPPED_TASK_RETENTION_MS = 60 * 60_000;
