/**
 * Join tokens let an agent register into one cluster. Only a SHA-256 of each token is stored;
 * the token itself is shown once, when minted. A token expires (24 h after minting by default) and
 * may be limited to N registrations; an instance that registered keeps its own credential, so an
 * expired token never cuts off a host that joined with it.
 */
import { and, asc, eq, gt, isNull, like, or, sql } from 'drizzle-orm';
import { joinTokens } from '../../../db/schema';
import { requireCluster } from '../clusters/clusters';
import type { CoreDeps } from '../deps';
import { invalidParameter } from '../errors';
import { sha256Hex } from '../sha256';

const TOKEN_PREFIX = 'berth_jt_';

/** How long a join token registers instances unless minted with another `ttlMs`. */
export const DEFAULT_JOIN_TOKEN_TTL_MS = 24 * 60 * 60 * 1000;

export interface JoinTokenLimits {
  /** How long it is valid; null: no expiry. Default DEFAULT_JOIN_TOKEN_TTL_MS. */
  ttlMs?: number | null;
  /** How many instances it may register; undefined: no limit. */
  uses?: number;
}

export async function mintJoinToken(
  deps: CoreDeps,
  clusterName: string,
  limits: JoinTokenLimits = {},
): Promise<string> {
  const cluster = await requireCluster(deps, clusterName);
  const token = `${TOKEN_PREFIX}${deps.newId()}${deps.newId()}`;
  const nowMs = deps.now();
  const ttlMs = limits.ttlMs === undefined ? DEFAULT_JOIN_TOKEN_TTL_MS : limits.ttlMs;
  await deps.db.insert(joinTokens).values({
    tokenSha256: await sha256Hex(token),
    clusterName: cluster.name,
    createdAtMs: nowMs,
    expiresAtMs: ttlMs === null ? null : nowMs + ttlMs,
    usesLeft: limits.uses ?? null,
  });
  return token;
}

/** Not expired, not used up and not revoked, at `nowMs`. */
const stillValid = (nowMs: number) =>
  and(
    or(isNull(joinTokens.expiresAtMs), gt(joinTokens.expiresAtMs, nowMs)),
    or(isNull(joinTokens.usesLeft), gt(joinTokens.usesLeft, 0)),
    isNull(joinTokens.revokedAtMs),
  );

/**
 * Takes one registration from the token, atomically: false when it expired or was used up since
 * the connection was admitted (two hosts racing for its last use).
 */
export async function spendJoinToken(deps: CoreDeps, tokenSha256: string): Promise<boolean> {
  const spent = await deps.db
    .update(joinTokens)
    .set({
      usesLeft: sql`case when ${joinTokens.usesLeft} is null then null else ${joinTokens.usesLeft} - 1 end`,
    })
    .where(and(eq(joinTokens.tokenSha256, tokenSha256), stillValid(deps.now())))
    .returning({ tokenSha256: joinTokens.tokenSha256 });
  return spent.length > 0;
}

/** The stored hash of a valid join token minted for this cluster, or undefined (unknown, expired or used up). */
export async function joinTokenSha256(
  deps: CoreDeps,
  clusterName: string,
  token: string,
): Promise<string | undefined> {
  if (!token.startsWith(TOKEN_PREFIX)) return undefined;
  const tokenSha256 = await sha256Hex(token);
  const rows = await deps.db
    .select({ clusterName: joinTokens.clusterName })
    .from(joinTokens)
    .where(
      and(
        eq(joinTokens.tokenSha256, tokenSha256),
        eq(joinTokens.clusterName, clusterName),
        stillValid(deps.now()),
      ),
    );
  return rows.length > 0 ? tokenSha256 : undefined;
}

export async function isValidJoinToken(deps: CoreDeps, clusterName: string, token: string): Promise<boolean> {
  return (await joinTokenSha256(deps, clusterName, token)) !== undefined;
}

/**
 * A token's public id: `jt-` and the first 16 hex digits of its SHA-256. Naming a token in lists,
 * revocations and the audit log without its secret (the hash of a 256-bit secret reveals nothing).
 */
export const joinTokenIdOf = (tokenSha256: string) => `jt-${tokenSha256.slice(0, 16)}`;
const JOIN_TOKEN_ID = /^jt-([0-9a-f]{16})$/;

export interface JoinTokenSummary {
  id: string;
  cluster: string;
  createdAt: string;
  /** null: never expires. */
  expiresAt: string | null;
  /** null: unlimited. */
  usesLeft: number | null;
  revoked: boolean;
  revokedAt?: string;
  /** What admission would say now. */
  status: 'active' | 'expired' | 'used-up' | 'revoked';
}

type JoinTokenRow = typeof joinTokens.$inferSelect;

function summaryOf(row: JoinTokenRow, nowMs: number): JoinTokenSummary {
  const iso = (ms: number) => new Date(ms).toISOString();
  const status =
    row.revokedAtMs !== null
      ? 'revoked'
      : row.expiresAtMs !== null && row.expiresAtMs <= nowMs
        ? 'expired'
        : row.usesLeft !== null && row.usesLeft <= 0
          ? 'used-up'
          : 'active';
  return {
    id: joinTokenIdOf(row.tokenSha256),
    cluster: row.clusterName,
    createdAt: iso(row.createdAtMs),
    expiresAt: row.expiresAtMs === null ? null : iso(row.expiresAtMs),
    usesLeft: row.usesLeft,
    revoked: row.revokedAtMs !== null,
    ...(row.revokedAtMs !== null ? { revokedAt: iso(row.revokedAtMs) } : {}),
    status,
  };
}

/** Every token (of one cluster, if named), oldest first; never a secret. */
export async function listJoinTokens(deps: CoreDeps, clusterName?: string): Promise<JoinTokenSummary[]> {
  const rows = await deps.db
    .select()
    .from(joinTokens)
    .where(clusterName === undefined ? undefined : eq(joinTokens.clusterName, clusterName))
    .orderBy(asc(joinTokens.createdAtMs));
  const nowMs = deps.now();
  return rows.map((row) => summaryOf(row, nowMs));
}

/** Revokes a token by its id: admission refuses it from now on (401), as an expired one. */
export async function revokeJoinToken(deps: CoreDeps, id: string): Promise<JoinTokenSummary> {
  const prefix = JOIN_TOKEN_ID.exec(typeof id === 'string' ? id : '')?.[1];
  if (!prefix) {
    throw invalidParameter(
      `joinTokenId: '${String(id).slice(0, 64)}' is not a join token id (jt- and 16 hex digits, from berth join-tokens list)`,
    );
  }
  const nowMs = deps.now();
  // The prefix is checked hex, so it carries no LIKE wildcard.
  const matching = like(joinTokens.tokenSha256, `${prefix}%`);
  await deps.db
    .update(joinTokens)
    .set({ revokedAtMs: nowMs })
    .where(and(matching, isNull(joinTokens.revokedAtMs)));
  const [row] = await deps.db.select().from(joinTokens).where(matching);
  if (!row) throw invalidParameter(`joinTokenId: no join token '${id}'`);
  return summaryOf(row, nowMs);
}
