import type { LibSQLDatabase } from 'drizzle-orm/libsql';
import type * as schema from '../../db/schema';
import type { ArnScope } from './arn';

export type Db = LibSQLDatabase<typeof schema>;

export interface BerthConfig extends ArnScope {
  /** How long an instance may be silent before agentConnected goes false. */
  agentDisconnectGraceMs: number;
  /** How often agent and control plane ping each other (default HEARTBEAT_INTERVAL_MS); tests shorten it. */
  heartbeatIntervalMs?: number;
  /** An ExecuteCommand session ends after this long without input or output (default 20 min, as ECS). */
  execIdleTimeoutMs?: number;
  /** New instances one join token may register per minute (default REGISTRATIONS_PER_TOKEN_PER_MINUTE). */
  registrationsPerJoinTokenPerMinute?: number;
  /** The largest request body the API reads, in bytes (default DEFAULT_MAX_REQUEST_BODY_BYTES). */
  maxRequestBodyBytes?: number;
  /**
   * Host names the API answers to besides the loopback names, which are always allowed (see
   * worker/api/allowed-hosts.ts). Requests addressed to any other `Host` are refused.
   */
  allowedHosts?: readonly string[];
  /**
   * How long after RUNNING a service task without a health verdict counts as healthy (default
   * TASK_HEALTHY_AFTER_RUNNING_MS, ECS's 40 s); tests shorten it.
   */
  taskHealthyAfterMs?: number;
  /**
   * How long DescribeServices keeps describing an INACTIVE service before it is purged and answers
   * MISSING (default INACTIVE_SERVICE_RETENTION_MS, 1 hour); tests shorten it.
   */
  inactiveServiceRetentionMs?: number;
  /**
   * The first wait of a service's failed-start back-off, doubled with every consecutive task that
   * stops before RUNNING, up to 15 minutes (default DEFAULT_THROTTLE_BASE_MS); tests shorten it.
   */
  serviceThrottleBaseMs?: number;
  /** Sustained API requests per second per access key (default 100); 0 turns the limit off. */
  apiRequestsPerSecondPerKey?: number;
  /** Requests a key may make at once after a quiet spell (default 200). */
  apiBurstPerKey?: number;
  /** Event streams one access key may hold open (default 10); 0 turns the cap off. */
  eventStreamsPerKey?: number;
  /** Node only: how long a client may take to send a request's headers (default 10 s; slowloris). */
  headersTimeoutMs?: number;
  /** Node only: how long a client may take to send a whole request, body included (default 30 s). */
  requestTimeoutMs?: number;
  /** How many days audit events are kept (default DEFAULT_AUDIT_RETENTION_DAYS, 90). */
  auditRetentionDays?: number;
  /**
   * How long a service's deploy-hook deliveries are gathered into one deployment (default
   * DEFAULT_HOOK_DEBOUNCE_MS, 2 s); tests shorten it.
   */
  hookDebounceMs?: number;
  /**
   * How long an event webhook delivery is retried before it fails and its subscription is disabled
   * (default EVENT_DELIVERY_RETRY_FOR_MS, 24 hours); tests shorten it.
   */
  eventDeliveryRetryForMs?: number;
  /** The first wait before a failed delivery is retried, doubled with every attempt (default 5 s). */
  eventDeliveryFirstRetryMs?: number;
  /** How long one delivery attempt may take before it counts as failed (default 10 s). */
  eventDeliveryTimeoutMs?: number;
}

/**
 * 1 MiB: ECS's own request limits are far below this for every action (a whole task definition
 * is at most 64 KiB), and it bounds what one request can make the control plane hold.
 */
export const DEFAULT_MAX_REQUEST_BODY_BYTES = 1024 * 1024;

/** Defaults shared by both entries, so ARNs and timings are identical on Node and on Workers. */
export const DEFAULT_BERTH_CONFIG: BerthConfig = {
  region: 'us-east-1',
  accountId: '000000000000',
  agentDisconnectGraceMs: 30_000,
};

/** Everything domain code needs from its host, injected so both runtimes and unit tests can supply their own. */
export interface CoreDeps {
  db: Db;
  config: BerthConfig;
  /** Epoch milliseconds. */
  now: () => number;
  /** A fresh random id: 32 lowercase hex digits, as ECS task ids are. */
  newId: () => string;
}

export function randomHexId(): string {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
