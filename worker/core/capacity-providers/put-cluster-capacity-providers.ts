/**
 * PutClusterCapacityProviders, a cluster command: it changes which pools RunTask may place on, so
 * it runs in the cluster's room, one at a time with RunTask. The lists replace the old ones, as
 * in ECS; a provider may leave the cluster only while no task that has not stopped runs on its
 * instances (ECS's ResourceInUseException), which the room's view answers without a query.
 */
import { CAPACITY_PROVIDER_ATTRIBUTE } from '../../../protocol/attributes';
import type {
  PutClusterCapacityProvidersRequest,
  PutClusterCapacityProvidersResponse,
} from '../../ecs-types.generated';
import type { ClusterCommand, CommandContext } from '../cluster/command-context';
import { describeClusters } from '../clusters/clusters';
import { EcsError } from '../errors';
import { validateClusterCapacityProviders, writeClusterCapacityProviders } from './association';
import { capacityProvidersOf } from './capacity-providers';

export const putClusterCapacityProviders: ClusterCommand<
  PutClusterCapacityProvidersRequest,
  PutClusterCapacityProvidersResponse
> = async (ctx, input) => {
  const wanted = validateClusterCapacityProviders(input);
  const leaving = capacityProvidersOf(ctx.cluster).filter((name) => !wanted.capacityProviders.includes(name));
  refuseLeavingInUse(ctx, leaving);
  await writeClusterCapacityProviders(ctx.deps, ctx.cluster.arn, wanted);
  const described = await describeClusters(ctx.deps, { clusters: [ctx.cluster.name] });
  return { cluster: described.clusters[0] };
};

function refuseLeavingInUse(ctx: CommandContext, leaving: string[]): void {
  if (leaving.length === 0) return;
  for (const task of ctx.view.taskRows.values()) {
    const instance = task.containerInstanceArn
      ? ctx.view.instances.get(task.containerInstanceArn)
      : undefined;
    const pool = instance?.attributes[CAPACITY_PROVIDER_ATTRIBUTE];
    if (pool && leaving.includes(pool)) {
      throw new EcsError(
        'ResourceInUseException',
        `The specified capacity provider is in use and cannot be removed. (capacityProviders: '${pool}' still runs task ${task.arn})`,
      );
    }
  }
}
