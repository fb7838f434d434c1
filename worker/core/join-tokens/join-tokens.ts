/**
 * Join tokens let an agent register into one cluster. Only a SHA-256 of each token is stored;
 * the token itself is shown once, when minted.
 */
import { and, eq } from 'drizzle-orm';
import { joinTokens } from '../../../db/schema';
import { requireCluster } from '../clusters/clusters';
import type { CoreDeps } from '../deps';
import { sha256Hex } from '../sha256';

const TOKEN_PREFIX = 'berth_jt_';

export async function mintJoinToken(deps: CoreDeps, clusterName: string): Promise<string> {
  const cluster = await requireCluster(deps, clusterName);
  const token = `${TOKEN_PREFIX}${deps.newId()}${deps.newId()}`;
  await deps.db
    .insert(joinTokens)
    .values({ tokenSha256: await sha256Hex(token), clusterName: cluster.name, createdAtMs: deps.now() });
  return token;
}

/** The stored hash of a join token minted for this cluster, or undefined when the token is not one. */
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
    .where(and(eq(joinTokens.tokenSha256, tokenSha256), eq(joinTokens.clusterName, clusterName)));
  return rows.length > 0 ? tokenSha256 : undefined;
}

export async function isValidJoinToken(deps: CoreDeps, clusterName: string, token: string): Promise<boolean> {
  return (await joinTokenSha256(deps, clusterName, token)) !== undefined;
}
