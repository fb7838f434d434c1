/**
 * What the core needs on Workers, built from the Worker's bindings: a libSQL database reached over
 * HTTP (Turso or sqld in production, the project's own libSQL HTTP server locally), the clock, and
 * the ARN scope. Migrations are not applied here: they run from Node before the Worker starts.
 */
import { createClient } from '@libsql/client/web';
import { drizzle } from 'drizzle-orm/libsql/web';
import * as schema from '../../../db/schema';
import { type ConfigVariables, parseBerthConfig } from '../../config';
import { parseServerKey } from '../../core/auth/secret-box';
import { type BerthConfig, type CoreDeps, randomHexId } from '../../core/deps';

/** The Worker's vars and secrets (see wrangler.toml): the settings of worker/config.ts plus the database. */
export interface WorkersVars extends ConfigVariables {
  /** Secret: the libSQL server, e.g. libsql://berth-<org>.turso.io or http://127.0.0.1:8080. */
  LIBSQL_URL: string;
  /** Secret: the database token; empty for a local server without auth. */
  LIBSQL_AUTH_TOKEN?: string;
  /** Secret: base64 of 32 random bytes; encrypts access key secrets at rest (`wrangler secret put BERTH_SERVER_KEY`). */
  BERTH_SERVER_KEY?: string;
}

const serverKeys = new WeakMap<WorkersVars, Uint8Array>();

/** The server key from its secret binding, parsed once per bindings object. */
export function serverKeyFor(vars: WorkersVars): Uint8Array {
  let key = serverKeys.get(vars);
  if (!key) {
    if (!vars.BERTH_SERVER_KEY) {
      throw new Error(
        'BERTH_SERVER_KEY is not set: `wrangler secret put BERTH_SERVER_KEY` (see docs/security.md)',
      );
    }
    key = parseServerKey(vars.BERTH_SERVER_KEY, 'BERTH_SERVER_KEY');
    serverKeys.set(vars, key);
  }
  return key;
}

/** The settings, parsed by the same parser as on Node: a bad var is an error naming it. */
export function configFromVars(vars: WorkersVars): BerthConfig {
  return parseBerthConfig({ ...vars });
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
