/**
 * Revoking an instance's credential, a cluster command (admins, through the Berth API): the
 * instance's socket is closed at once with `credentialRevoked` (4012), and every later connect with
 * that credential is refused with 403 at admission (worker/core/agents/agent-admission.ts). The
 * instance stays registered but shows as disconnected (agentConnected false, as if its grace had
 * run out): its tasks keep their status as after any disconnect, and placement avoids it. To take
 * it out of the cluster, deregister it; the host can only come back by registering afresh with a
 * join token, which its agent does not do on its own.
 */
import { eq } from 'drizzle-orm';
import { containerInstances } from '../../../db/schema';
import { CLOSE_CODES } from '../../../protocol/agent-protocol';
import type { ContainerInstance } from '../../ecs-types.generated';
import { arnInCluster } from '../arn';
import type { ClusterCommand } from '../cluster/command-context';
import { invalidParameter } from '../errors';
import { AGENT_GRACE } from './agent-grace';
import { describeContainerInstances } from './container-instances';

export interface RevokeInstanceCredentialInput {
  /** The instance's id or ARN. */
  containerInstance: string;
}

export const revokeInstanceCredential: ClusterCommand<
  RevokeInstanceCredentialInput,
  { containerInstance: ContainerInstance; credentialRevokedAt: string }
> = async (ctx, input) => {
  const { deps, cluster, view } = ctx;
  const reference = input.containerInstance;
  if (typeof reference !== 'string' || reference.length === 0 || reference.length > 1600) {
    throw invalidParameter('containerInstance: the id or ARN of a container instance is required');
  }
  const arn = arnInCluster(deps.config, 'container-instance', cluster.name, reference);
  const instance = view.instances.get(arn);
  if (!instance) {
    throw invalidParameter(
      `containerInstance: ${reference.slice(0, 128)} is not a registered container instance of ${cluster.name}`,
    );
  }
  const revokedAtMs = instance.row.credentialRevokedAtMs ?? deps.now();
  const [row] = await deps.db
    .update(containerInstances)
    .set({
      credentialRevokedAtMs: revokedAtMs,
      agentConnected: false,
      version: instance.row.version + 1,
    })
    .where(eq(containerInstances.arn, arn))
    .returning();
  view.upsertInstance(row);
  await ctx.deadlines.cancel(AGENT_GRACE, arn);
  ctx.disconnectAgent(arn, CLOSE_CODES.credentialRevoked, 'the container instance credential was revoked');
  ctx.log(`credential of container instance ${row.instanceId} revoked in ${cluster.name}`);
  const described = await describeContainerInstances(deps, {
    cluster: cluster.name,
    containerInstances: [row.arn],
  });
  return {
    containerInstance: described.containerInstances[0]!,
    credentialRevokedAt: new Date(revokedAtMs).toISOString(),
  };
};
