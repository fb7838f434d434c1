/**
 * A hello registers its host as a new container instance or refreshes the instance the socket was
 * admitted as (see worker/core/agents/agent-admission.ts). Who the agent is comes from admission,
 * never from the hello: a join token only ever creates a new instance, with an id and a credential
 * chosen here, and an instance credential only ever resumes its own instance.
 */
import { and, count, eq, gt } from 'drizzle-orm';
import { type ContainerInstanceRow, containerInstances } from '../../../db/schema';
import { type AgentFrame, DEFAULT_RESERVED_PORTS, type FrameOf } from '../../../protocol/agent-protocol';
import { AGENT_REGISTER_ACTION, type AgentIdentity } from '../agents/agent-admission';
import { issueInstanceCredential } from '../agents/instance-credentials';
import { containerInstanceArn } from '../arn';
import { recordAuditEvents, SUCCESS } from '../audit/audit-log';
import type { ClusterView } from '../cluster/cluster-view';
import type { CoreDeps } from '../deps';
import { instanceEventInsert } from '../events/instance-events';
import { joinTokenIdOf, spendJoinToken } from '../join-tokens/join-tokens';

type Hello = FrameOf<AgentFrame, 'hello'>;

/**
 * A generous rate for a real fleet (an autoscaling burst registers tens of hosts a minute) that
 * still stops one leaked join token from minting thousands of instances.
 */
export const REGISTRATIONS_PER_TOKEN_PER_MINUTE = 120;
const RATE_WINDOW_MS = 60_000;

/** Attributes in this namespace describe the host as first registered; a later hello can't rewrite them. */
const RESERVED_ATTRIBUTE_PREFIX = 'ecs.';

export type Registration =
  | { outcome: 'registered'; row: ContainerInstanceRow; credential: string }
  /** `evented`: the agent was marked disconnected, so connecting again is a state change with its event. */
  | { outcome: 'resumed'; row: ContainerInstanceRow; evented: boolean }
  | {
      outcome: 'refused';
      reason: 'deregistered' | 'revoked' | 'rateLimited' | 'tokenSpent';
      message: string;
    };

/**
 * Registers or resumes, and writes a registration (a new instance, or a join token refused at
 * registration) to the audit log. A resume is not a registration and is not recorded.
 */
export async function registerInstance(
  deps: CoreDeps,
  cluster: { arn: string; name: string },
  view: ClusterView,
  identity: AgentIdentity,
  hello: Hello,
): Promise<Registration> {
  const registration = await registerOrResume(deps, cluster, view, identity, hello);
  if (identity.kind !== 'joinToken') return registration;
  if (registration.outcome === 'resumed') return registration;
  const joinTokenId = joinTokenIdOf(identity.tokenSha256);
  await recordAuditEvents(deps, [
    {
      principalName: `join-token/${joinTokenId}`,
      action: AGENT_REGISTER_ACTION,
      clusterName: cluster.name,
      resource: registration.outcome === 'registered' ? registration.row.arn : cluster.arn,
      result:
        registration.outcome === 'registered'
          ? SUCCESS
          : registration.reason === 'tokenSpent'
            ? 'JoinTokenSpent'
            : 'RegistrationRateLimited',
      sourceAddress: identity.sourceAddress,
      detail: {
        joinTokenId,
        hostname: hello.hostname,
        ...(registration.outcome === 'registered'
          ? { instanceId: registration.row.instanceId }
          : { reason: registration.message }),
      },
    },
  ]);
  return registration;
}

async function registerOrResume(
  deps: CoreDeps,
  cluster: { arn: string; name: string },
  view: ClusterView,
  identity: AgentIdentity,
  hello: Hello,
): Promise<Registration> {
  if (identity.kind === 'instance') {
    const known = view.instances.get(identity.instanceArn);
    // Deregistered between admission and hello.
    if (!known)
      return { outcome: 'refused', reason: 'deregistered', message: 'container instance deregistered' };
    // Revoked between admission and hello.
    if (known.row.credentialRevokedAtMs !== null) {
      return {
        outcome: 'refused',
        reason: 'revoked',
        message: 'the container instance credential was revoked',
      };
    }
    const changes = {
      agentConnected: true,
      agentVersion: hello.agentVersion,
      dockerVersion: hello.dockerVersion,
      hostname: hello.hostname,
      registeredCpu: hello.resources.cpu,
      registeredMemoryMiB: hello.resources.memoryMiB,
      attributesJson: JSON.stringify(mergeAttributes(known.row.attributesJson, hello.attributes)),
      reservedPortsJson: reservedPortsOf(hello),
      lastSeenAtMs: deps.now(),
      version: known.row.version + 1,
    };
    const row: ContainerInstanceRow = { ...known.row, ...changes };
    const update = deps.db
      .update(containerInstances)
      .set(changes)
      .where(eq(containerInstances.arn, known.row.arn));
    // A reconnect within the grace period changes no state: no event for every NAT blip.
    const evented = !known.row.agentConnected;
    if (evented) await deps.db.batch([update, instanceEventInsert(deps, row, known.allocations)]);
    else await update;
    view.upsertInstance(row);
    return { outcome: 'resumed', row, evented };
  }

  const nowMs = deps.now();
  const limit = deps.config.registrationsPerJoinTokenPerMinute ?? REGISTRATIONS_PER_TOKEN_PER_MINUTE;
  const [recent] = await deps.db
    .select({ n: count() })
    .from(containerInstances)
    .where(
      and(
        eq(containerInstances.registeredByTokenSha256, identity.tokenSha256),
        gt(containerInstances.registeredAtMs, nowMs - RATE_WINDOW_MS),
      ),
    );
  if ((recent?.n ?? 0) >= limit) {
    return {
      outcome: 'refused',
      reason: 'rateLimited',
      message: `join token registered ${limit} instances in the last minute; retry later`,
    };
  }
  if (!(await spendJoinToken(deps, identity.tokenSha256))) {
    return { outcome: 'refused', reason: 'tokenSpent', message: 'join token expired or used up' };
  }
  const instanceId = deps.newId();
  const { credential, credentialSha256 } = await issueInstanceCredential(instanceId, deps.newId);
  const row: ContainerInstanceRow = {
    arn: containerInstanceArn(deps.config, cluster.name, instanceId),
    clusterArn: cluster.arn,
    instanceId,
    hostname: hello.hostname,
    status: 'ACTIVE',
    agentConnected: true,
    agentVersion: hello.agentVersion,
    dockerVersion: hello.dockerVersion,
    registeredCpu: hello.resources.cpu,
    registeredMemoryMiB: hello.resources.memoryMiB,
    attributesJson: JSON.stringify(hello.attributes),
    customAttributesJson: '[]',
    reservedPortsJson: reservedPortsOf(hello),
    tagsJson: '[]',
    credentialSha256,
    credentialRevokedAtMs: null,
    registeredByTokenSha256: identity.tokenSha256,
    registeredAtMs: nowMs,
    lastSeenAtMs: nowMs,
    version: 1,
  };
  await deps.db.batch([deps.db.insert(containerInstances).values(row), instanceEventInsert(deps, row)]);
  view.upsertInstance(row);
  return { outcome: 'registered', row, credential };
}

type Attribute = Hello['attributes'][number];

/** The stored `ecs.*` attributes, then the agent's own (`--attribute`) ones from this hello. */
function mergeAttributes(storedJson: string, reported: Attribute[]): Attribute[] {
  const stored = JSON.parse(storedJson) as Attribute[];
  return [
    ...stored.filter((a) => a.name.startsWith(RESERVED_ATTRIBUTE_PREFIX)),
    ...reported.filter((a) => !a.name.startsWith(RESERVED_ATTRIBUTE_PREFIX)),
  ];
}

function reservedPortsOf(hello: Hello): string {
  const ports = new Set(hello.reservedPorts ?? DEFAULT_RESERVED_PORTS);
  return JSON.stringify([...ports].sort((a, b) => a - b));
}
