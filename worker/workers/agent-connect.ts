/**
 * Who may open an agent socket: the checks the Worker makes before it forwards the upgrade to the
 * cluster's Durable Object. They match the Node entry's: an unknown or inactive cluster is 404, a
 * join token that is missing, unknown or minted for another cluster is 401.
 */
import { clusterNameOf, requireCluster } from '../core/clusters/clusters';
import type { CoreDeps } from '../core/deps';
import { EcsError } from '../core/errors';
import { isValidJoinToken } from '../core/join-tokens/join-tokens';

export type AgentConnectDecision =
  | { accepted: true; clusterName: string }
  | { accepted: false; status: 401 | 404 | 426; message: string };

export async function decideAgentConnect(deps: CoreDeps, request: Request): Promise<AgentConnectDecision> {
  if (request.headers.get('Upgrade')?.toLowerCase() !== 'websocket') {
    return { accepted: false, status: 426, message: 'Upgrade Required: agents connect with a WebSocket' };
  }
  const url = new URL(request.url);
  let clusterName: string;
  try {
    clusterName = clusterNameOf(url.searchParams.get('cluster') ?? undefined);
    await requireCluster(deps, clusterName);
  } catch (error) {
    if (error instanceof EcsError) return { accepted: false, status: 404, message: 'Cluster Not Found' };
    throw error;
  }
  const token = (request.headers.get('Authorization') ?? '').replace(/^Bearer\s+/i, '');
  if (!(await isValidJoinToken(deps, clusterName, token))) {
    return { accepted: false, status: 401, message: 'Unauthorized' };
  }
  return { accepted: true, clusterName };
}
