/**
 * What the core needs on Workers, built from the Worker's bindings: a libSQL database reached over
 * HTTP (Turso or sqld in production, the project's own libSQL HTTP server locally), the clock, and
 * the ARN scope. Migrations are not applied here: they run from Node before the Worker starts.
 */
import { createClient } from '@libsql/client/web';
import { drizzle } from 'drizzle-orm/libsql/web';
import * as schema from '../../db/schema';
import { parseAllowedHosts } from '../api/allowed-hosts';
import { parseByteCount } from '../api/body-limit';
import { type BerthConfig, type CoreDeps, DEFAULT_BERTH_CONFIG, randomHexId } from '../core/deps';

/** The Worker's vars and secrets (see wrangler.toml). */
export interface WorkersVars {
  /** Secret: the libSQL server, e.g. libsql://berth-<org>.turso.io or http://127.0.0.1:8080. */
  LIBSQL_URL: string;
  /** Secret: the database token; empty for a local server without auth. */
  LIBSQL_AUTH_TOKEN?: string;
  BERTH_REGION?: string;
  BERTH_ACCOUNT_ID?: string;
  /** How long an agent may be away before its instance shows agentConnected: false. */
  BERTH_AGENT_GRACE_MS?: string;
  BERTH_HEARTBEAT_INTERVAL_MS?: string;
  /** The largest request body the API reads, in bytes (default 1 MiB). */
  BERTH_MAX_REQUEST_BODY_BYTES?: string;
  /**
   * Comma-separated host names the Worker answers to besides the loopback names, e.g.
   * `*.workers.dev,berth.example.com`. Unset, it answers to loopback names only (see wrangler.toml
   * for why the default there is `*.workers.dev`).
   */
  ALLOWED_HOSTS?: string;
}

export function configFromVars(vars: WorkersVars): BerthConfig {
  const region = vars.BERTH_REGION || DEFAULT_BERTH_CONFIG.region;
  const accountId = vars.BERTH_ACCOUNT_ID || DEFAULT_BERTH_CONFIG.accountId;
  if (!/^[a-z]{2}(-[a-z]+)+-\d+$/.test(region))
    throw new Error(`BERTH_REGION: '${region}' is not a region name`);
  if (!/^\d{12}$/.test(accountId)) throw new Error(`BERTH_ACCOUNT_ID: '${accountId}' is not 12 digits`);
  const agentDisconnectGraceMs = Number(
    vars.BERTH_AGENT_GRACE_MS || DEFAULT_BERTH_CONFIG.agentDisconnectGraceMs,
  );
  if (!Number.isInteger(agentDisconnectGraceMs) || agentDisconnectGraceMs < 0) {
    throw new Error(
      `BERTH_AGENT_GRACE_MS: '${vars.BERTH_AGENT_GRACE_MS}' is not a whole number of milliseconds`,
    );
  }
  const heartbeatIntervalMs = vars.BERTH_HEARTBEAT_INTERVAL_MS
    ? Number(vars.BERTH_HEARTBEAT_INTERVAL_MS)
    : undefined;
  if (
    heartbeatIntervalMs !== undefined &&
    (!Number.isInteger(heartbeatIntervalMs) || heartbeatIntervalMs <= 0)
  ) {
    throw new Error(
      `BERTH_HEARTBEAT_INTERVAL_MS: '${vars.BERTH_HEARTBEAT_INTERVAL_MS}' is not a positive whole number of milliseconds`,
    );
  }
  // Left undefined when unset, so the app's defaults apply (the same as on Node).
  const maxRequestBodyBytes = vars.BERTH_MAX_REQUEST_BODY_BYTES
    ? parseByteCount(vars.BERTH_MAX_REQUEST_BODY_BYTES, 'BERTH_MAX_REQUEST_BODY_BYTES')
    : undefined;
  const allowedHosts = vars.ALLOWED_HOSTS
    ? parseAllowedHosts(vars.ALLOWED_HOSTS, 'ALLOWED_HOSTS')
    : undefined;
  return {
    region,
    accountId,
    agentDisconnectGraceMs,
    heartbeatIntervalMs,
    maxRequestBodyBytes,
    allowedHosts,
  };
}

export function createWorkersDeps(vars: WorkersVars): CoreDeps {
  if (!vars.LIBSQL_URL)
    throw new Error('LIBSQL_URL is not set: `wrangler secret put LIBSQL_URL` (see docs/workers.md)');
  // The HTTP client holds no connection, only a URL and a token, so one client serves every request.
  const client = createClient({ url: vars.LIBSQL_URL, authToken: vars.LIBSQL_AUTH_TOKEN || undefined });
  return { db: drizzle(client, { schema }), config: configFromVars(vars), now: Date.now, newId: randomHexId };
}

const depsByVars = new WeakMap<WorkersVars, CoreDeps>();

/** One CoreDeps per bindings object: the runtime hands every request of an isolate the same `env`. */
export function workersDepsFor(vars: WorkersVars): CoreDeps {
  let deps = depsByVars.get(vars);
  if (!deps) {
    deps = createWorkersDeps(vars);
    depsByVars.set(vars, deps);
  }
  return deps;
}
