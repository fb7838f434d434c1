/**
 * Who may open an agent socket, decided once for both hosts (the Node upgrade handler and the
 * Worker in front of the Durable Objects) before any WebSocket exists:
 * - an unknown, inactive or malformed cluster is 404;
 * - a join token of the cluster admits a host that will register as a NEW instance;
 * - an instance credential admits exactly the instance it was issued to, if that instance is still
 *   registered (410 once it was deregistered: the agent then registers afresh with its join token)
 *   and its credential was not revoked (403: the agent stops, see revoke-credential.ts);
 * - anything else is 401.
 * Refusals of a known join token or instance are written to the audit log; a token nobody minted
 * is not (anyone can make one up, and the log is not theirs to fill).
 * The identity travels with the socket, so the hello that follows cannot claim to be someone else.
 */
import { and, eq } from 'drizzle-orm';
import { containerInstances, joinTokens } from '../../../db/schema';
import { CONNECT_REFUSAL } from '../../../protocol/link';
import { type AuditEntry, recordAuditEvents } from '../audit/audit-log';
import { clusterNameOf, requireCluster } from '../clusters/clusters';
import type { CoreDeps } from '../deps';
import { EcsError } from '../errors';
import { joinTokenIdOf, joinTokenSha256 } from '../join-tokens/join-tokens';
import { sha256Hex } from '../sha256';
import { claimedInstanceId, credentialMatches, isInstanceCredential } from './instance-credentials';

/** What a socket was admitted as; fixed for the life of the socket. */
export type AgentIdentity =
  /** A host holding a join token: its hello registers a new container instance. */
  | { kind: 'joinToken'; tokenSha256: string; sourceAddress?: string }
  /** A registered instance that proved its credential. */
  | { kind: 'instance'; instanceArn: string; sourceAddress?: string };

/** The audit log's action for an agent's connect (refusals) and registration. */
export const AGENT_CONNECT_ACTION = 'berth:ConnectAgent';
export const AGENT_REGISTER_ACTION = 'berth:RegisterContainerInstance';

export type AgentAdmission =
  | { accepted: true; clusterName: string; identity: AgentIdentity }
  | {
      accepted: false;
      status: 401 | 403 | 404 | 410;
      message: string;
      /** Sent as CONNECT_REFUSAL.header, so the agent can tell a revoked credential from any other 403. */
      refusal?: typeof CONNECT_REFUSAL.credentialRevoked;
    };

export interface AgentConnectRequest {
  /** The `cluster` query parameter. */
  cluster: string | null;
  /** The `Authorization` header. */
  authorization: string | null;
  /** Where the connect came from (Node: the socket's address; Workers: CF-Connecting-IP), for the audit log. */
  sourceAddress?: string;
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
        credentialRevokedAtMs: containerInstances.credentialRevokedAtMs,
      })
      .from(containerInstances)
      .where(
        and(eq(containerInstances.clusterArn, cluster.arn), eq(containerInstances.instanceId, instanceId)),
      );
    if (!row) return unauthorized;
    const refused = async (result: string, refusal: AgentAdmission) => {
      await auditRefusal(deps, request, {
        principalName: `instance/${instanceId}`,
        clusterName: cluster.name,
        resource: row.arn,
        result,
      });
      return refusal;
    };
    if (!(await credentialMatches(token, row.credentialSha256))) return refused('Unauthorized', unauthorized);
    if (row.status === 'INACTIVE') {
      return refused('InstanceDeregistered', {
        accepted: false,
        status: 410,
        message: 'Gone: the container instance was deregistered',
      });
    }
    if (row.credentialRevokedAtMs !== null) {
      return refused('CredentialRevoked', {
        accepted: false,
        status: 403,
        message: 'Forbidden: the container instance credential was revoked',
        refusal: CONNECT_REFUSAL.credentialRevoked,
      });
    }
    return {
      accepted: true,
      clusterName: cluster.name,
      identity: { kind: 'instance', instanceArn: row.arn, sourceAddress: request.sourceAddress },
    };
  }
  const tokenSha256 = await joinTokenSha256(deps, cluster.name, token);
  if (!tokenSha256) {
    await auditJoinTokenRefusal(deps, request, cluster, token);
    return unauthorized;
  }
  return {
    accepted: true,
    clusterName: cluster.name,
    identity: { kind: 'joinToken', tokenSha256, sourceAddress: request.sourceAddress },
  };
}

async function auditRefusal(
  deps: CoreDeps,
  request: AgentConnectRequest,
  entry: Omit<AuditEntry, 'action' | 'sourceAddress'>,
): Promise<void> {
  await recordAuditEvents(deps, [
    { ...entry, action: AGENT_CONNECT_ACTION, sourceAddress: request.sourceAddress },
  ]);
}

/** A join token that exists but admits nothing here (expired, used up, revoked, another cluster's). */
async function auditJoinTokenRefusal(
  deps: CoreDeps,
  request: AgentConnectRequest,
  cluster: { arn: string; name: string },
  token: string,
): Promise<void> {
  if (!token.startsWith('berth_jt_') || token.length > 256) return;
  const tokenSha256 = await sha256Hex(token);
  const [known] = await deps.db.select().from(joinTokens).where(eq(joinTokens.tokenSha256, tokenSha256));
  if (!known) return;
  const nowMs = deps.now();
  const reason =
    known.revokedAtMs !== null
      ? 'revoked'
      : known.clusterName !== cluster.name
        ? `minted for cluster ${known.clusterName}`
        : known.expiresAtMs !== null && known.expiresAtMs <= nowMs
          ? 'expired'
          : 'used up';
  await auditRefusal(deps, request, {
    principalName: `join-token/${joinTokenIdOf(tokenSha256)}`,
    clusterName: cluster.name,
    resource: cluster.arn,
    result: 'Unauthorized',
    detail: { joinTokenId: joinTokenIdOf(tokenSha256), reason },
  });
}
