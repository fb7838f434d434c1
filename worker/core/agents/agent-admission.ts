/**
 * Who may open an agent socket, decided once for both hosts (the Node upgrade handler and the
 * Worker in front of the Durable Objects) before any WebSocket exists:
 * - an unknown, inactive or malformed cluster is 404;
 * - a join token of the cluster admits a host that will register as a NEW instance;
 * - an instance credential admits exactly the instance it was issued to, if that instance is still
 *   registered (410 once it was deregistered: the agent then registers afresh with its join token);
 * - anything else is 401.
 * The identity travels with the socket, so the hello that follows cannot claim to be someone else.
 */
import { and, eq } from 'drizzle-orm';
import { containerInstances } from '../../../db/schema';
import { clusterNameOf, requireCluster } from '../clusters/clusters';
import type { CoreDeps } from '../deps';
import { EcsError } from '../errors';
import { joinTokenSha256 } from '../join-tokens/join-tokens';
import { claimedInstanceId, credentialMatches, isInstanceCredential } from './instance-credentials';

/** What a socket was admitted as; fixed for the life of the socket. */
export type AgentIdentity =
  /** A host holding a join token: its hello registers a new container instance. */
  | { kind: 'joinToken'; tokenSha256: string }
  /** A registered instance that proved its credential. */
  | { kind: 'instance'; instanceArn: string };

export type AgentAdmission =
  | { accepted: true; clusterName: string; identity: AgentIdentity }
  | { accepted: false; status: 401 | 404 | 410; message: string };

export interface AgentConnectRequest {
  /** The `cluster` query parameter. */
  cluster: string | null;
  /** The `Authorization` header. */
  authorization: string | null;
}

export async function admitAgent(deps: CoreDeps, request: AgentConnectRequest): Promise<AgentAdmission> {
  let cluster: { arn: string; name: string };
  try {
    cluster = await requireCluster(deps, clusterNameOf(request.cluster ?? undefined));
  } catch (error) {
    if (error instanceof EcsError) return { accepted: false, status: 404, message: 'Cluster Not Found' };
    throw error;
  }
  const token = (request.authorization ?? '').replace(/^Bearer\s+/i, '');
  const unauthorized = { accepted: false, status: 401, message: 'Unauthorized' } as const;
  if (isInstanceCredential(token)) {
    const instanceId = claimedInstanceId(token);
    if (!instanceId) return unauthorized;
    const [row] = await deps.db
      .select({
        arn: containerInstances.arn,
        status: containerInstances.status,
        credentialSha256: containerInstances.credentialSha256,
      })
      .from(containerInstances)
      .where(
        and(eq(containerInstances.clusterArn, cluster.arn), eq(containerInstances.instanceId, instanceId)),
      );
    if (!row || !(await credentialMatches(token, row.credentialSha256))) return unauthorized;
    if (row.status === 'INACTIVE') {
      return { accepted: false, status: 410, message: 'Gone: the container instance was deregistered' };
    }
    return {
      accepted: true,
      clusterName: cluster.name,
      identity: { kind: 'instance', instanceArn: row.arn },
    };
  }
  const tokenSha256 = await joinTokenSha256(deps, cluster.name, token);
  if (!tokenSha256) return unauthorized;
  return { accepted: true, clusterName: cluster.name, identity: { kind: 'joinToken', tokenSha256 } };
}
