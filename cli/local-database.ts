import { userInfo } from 'node:os';
import { type DatabaseLocation, openDatabase } from '../db/node-database';
import { parseBerthConfig } from '../worker/config';
import { recordAuditEvents, SUCCESS } from '../worker/core/audit/audit-log';
import { createCluster } from '../worker/core/clusters/clusters';
import { type CoreDeps, randomHexId } from '../worker/core/deps';
import { type JoinTokenLimits, joinTokenIdOf, mintJoinToken } from '../worker/core/join-tokens/join-tokens';
import { sha256Hex } from '../worker/core/sha256';
import { flag, type ParsedArgs } from './args';

export function localDatabase(args: ParsedArgs): DatabaseLocation {
  return {
    dataDir: flag(args, 'data-dir') ?? process.env.BERTH_DATA_DIR ?? './.berth',
    url: flag(args, 'database-url') ?? process.env.BERTH_DATABASE_URL,
    authToken: flag(args, 'database-token') ?? process.env.BERTH_DATABASE_TOKEN,
  };
}

/** Mints a token straight in the database, so it works with or without a running server. */
/** `90s`, `15m`, `24h`, `7d` → milliseconds; a clear error for anything else. */
export function parseDuration(text: string, flagName: string): number {
  const match = /^(\d{1,7})(s|m|h|d)$/.exec(text.trim());
  if (!match || Number(match[1]) === 0) {
    throw new Error(`${flagName}: '${text}' is not a duration like 90s, 15m, 24h or 7d`);
  }
  return (
    Number(match[1]) * { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as 's' | 'm' | 'h' | 'd']
  );
}

export async function mintJoinTokenLocally(
  location: DatabaseLocation,
  clusterName: string,
  limits: JoinTokenLimits = {},
): Promise<string> {
  const database = await openDatabase(location);
  try {
    // Same region and account as the server, so the cluster ARN it may create matches.
    const config = parseBerthConfig(process.env);
    const deps = { db: database.db, config, now: Date.now, newId: randomHexId };
    if (clusterName === 'default') await createCluster(deps, { clusterName });
    return await mintAuditedJoinToken(deps, clusterName, limits);
  } finally {
    database.close();
  }
}

/**
 * Mints a join token with the database's own access (no access key: `berth join-token`, and
 * `berth start` for its local agent) and records it in the audit log under the operator's login.
 */
export async function mintAuditedJoinToken(
  deps: CoreDeps,
  clusterName: string,
  limits: JoinTokenLimits = {},
): Promise<string> {
  const token = await mintJoinToken(deps, clusterName, limits);
  const joinTokenId = joinTokenIdOf(await sha256Hex(token));
  await recordAuditEvents(deps, [
    {
      principalName: `local/${loginName()}`,
      action: 'berth:CreateJoinToken',
      clusterName,
      resource: `join-token/${joinTokenId}`,
      result: SUCCESS,
      detail: { joinTokenId, ttlMs: limits.ttlMs ?? null, uses: limits.uses ?? null },
    },
  ]);
  return token;
}

/** The operator's login name; `os.userInfo()` throws where the user has no passwd entry (containers). */
function loginName(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? 'unknown';
  }
}
