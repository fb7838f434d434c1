/**
 * UpdateContainerInstancesState, a cluster command: ACTIVE or DRAINING. A draining instance takes
 * no new tasks; its running tasks keep running (there are no services yet to replace them).
 */
import { eq } from 'drizzle-orm';
import { type ContainerInstanceRow, containerInstances } from '../../../db/schema';
import type { Failure, UpdateContainerInstancesStateRequest } from '../../ecs-types.generated';
import { arnInCluster } from '../arn';
import type { ClusterCommand, CommandContext } from '../cluster/command-context';
import { invalidParameter } from '../errors';
import { instanceEventInsert } from '../events/instance-events';
import { type DescribedContainerInstances, describeContainerInstances } from './container-instances';

export const updateContainerInstancesState: ClusterCommand<
  UpdateContainerInstancesStateRequest,
  DescribedContainerInstances
> = async (ctx, input) => {
  if (input.status !== 'ACTIVE' && input.status !== 'DRAINING') {
    throw invalidParameter(`status: must be ACTIVE or DRAINING, got ${input.status}`);
  }
  const { updated, failures } = await setInstanceStatus(ctx, input.containerInstances, input.status);
  // Describing nothing is an error to the API (as in ECS), and here simply nothing to describe.
  if (updated.length === 0) return { containerInstances: [], failures };
  const described = await describeContainerInstances(ctx.deps, {
    cluster: ctx.cluster.name,
    containerInstances: updated.map((r) => r.arn),
  });
  return { containerInstances: described.containerInstances, failures };
};

async function setInstanceStatus(ctx: CommandContext, references: string[], status: 'ACTIVE' | 'DRAINING') {
  const { deps, cluster, view } = ctx;
  if (references.length < 1 || references.length > 10) {
    throw invalidParameter('containerInstances: between 1 and 10 container instances must be given');
  }
  const updated: ContainerInstanceRow[] = [];
  const failures: Failure[] = [];
  let changed = false;
  for (const reference of references) {
    const arn = arnInCluster(deps.config, 'container-instance', cluster.name, reference);
    const instance = view.instances.get(arn);
    if (!instance) {
      failures.push({ arn, reason: 'MISSING' });
      continue;
    }
    if (instance.row.status === status) {
      updated.push(instance.row);
      continue;
    }
    const row = { ...instance.row, status, version: instance.row.version + 1 };
    await deps.db.batch([
      deps.db
        .update(containerInstances)
        .set({ status, version: row.version })
        .where(eq(containerInstances.arn, arn)),
      instanceEventInsert(deps, row, instance.allocations),
    ]);
    view.upsertInstance(row);
    updated.push(row);
    changed = true;
  }
  if (changed) ctx.eventsWritten();
  return { updated, failures };
}
