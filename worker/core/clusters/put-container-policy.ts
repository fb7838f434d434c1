/**
 * PutContainerPolicy, a cluster command: run by the cluster's room, so a RunTask queued behind it
 * sees the new policy and one queued before it ran under the old one.
 */
import { eq } from 'drizzle-orm';
import { clusters } from '../../../db/schema';
import type { ClusterCommand } from '../cluster/command-context';
import { type ContainerPolicy, containerPolicyOf, validateContainerPolicy } from './container-policy';

export interface ContainerPolicyOutput extends ContainerPolicy {
  clusterArn: string;
}

export const putContainerPolicy: ClusterCommand<{ policy: unknown }, ContainerPolicyOutput> = async (
  ctx,
  input,
) => {
  const policy = validateContainerPolicy(input.policy);
  await ctx.deps.db
    .update(clusters)
    .set({ containerPolicyJson: JSON.stringify(policy) })
    .where(eq(clusters.arn, ctx.cluster.arn));
  return { clusterArn: ctx.cluster.arn, ...policy };
};

export function containerPolicyOutput(cluster: {
  arn: string;
  containerPolicyJson: string;
}): ContainerPolicyOutput {
  return { clusterArn: cluster.arn, ...containerPolicyOf(cluster) };
}
