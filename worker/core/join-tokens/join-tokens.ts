/**
 * Join tokens let an agent register into one cluster. Only a SHA-256 of each token is stored;
 * the token itself is shown once, when minted. A token expires (24 h after minting by default) and
 * may be limited to N registrations; an instance that registered keeps its own credential, so an
 * expired token never cuts off a host that joined with it.
 */
import { and, eq, gt, isNull, or, sql } from 'drizzle-orm';
import { joinTokens } from '../../../db/schema';
import { requireCluster } from '../clusters/clusters';
import type { CoreDeps } from '../deps';
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

/** Not expired and not used up, at `nowMs`. */
const stillValid = (nowMs: number) =>
  and(
    or(isNull(joinTokens.expiresAtMs), gt(joinTokens.expiresAtMs, nowMs)),
    or(isNull(joinTokens.usesLeft), gt(joinTokens.usesLeft, 0)),
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
