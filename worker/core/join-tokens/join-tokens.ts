/**
 * Join tokens let an agent register into one cluster. Only a SHA-256 of each token is stored;
 * the token itself is shown once, when minted.
 */
import { and, eq } from 'drizzle-orm';
import { joinTokens } from '../../../db/schema';
import { requireCluster } from '../clusters/clusters';
import type { CoreDeps } from '../deps';

const TOKEN_PREFIX = 'berth_jt_';

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

export async function mintJoinToken(deps: CoreDeps, clusterName: string): Promise<string> {
  const cluster = await requireCluster(deps, clusterName);
  const token = `${TOKEN_PREFIX}${deps.newId()}${deps.newId()}`;
  await deps.db
    .insert(joinTokens)
    .values({ tokenSha256: await sha256Hex(token), clusterName: cluster.name, createdAtMs: deps.now() });
  return token;
}

export async function isValidJoinToken(deps: CoreDeps, clusterName: string, token: string): Promise<boolean> {
  if (!token.startsWith(TOKEN_PREFIX)) return false;
  const rows = await deps.db
    .select({ clusterName: joinTokens.clusterName })
    .from(joinTokens)
    .where(and(eq(joinTokens.tokenSha256, await sha256Hex(token)), eq(joinTokens.clusterName, clusterName)));
  return rows.length > 0;
}
