/**
 * DeleteCapacityProvider, account-level. As in ECS, a provider still associated with a cluster is
 * not deleted and the call does not fail either: it answers the provider, still ACTIVE, with
 * `updateStatus` DELETE_FAILED and ECS's reason naming the cluster (clients such as Terraform wait
 * on exactly that). Otherwise the provider becomes INACTIVE at once (ECS gets there through
 * DELETE_IN_PROGRESS; Berth has nothing to tear down). Its instances keep the attribute, and keep
 * running their tasks.
 */
import { and, eq, sql } from 'drizzle-orm';
import { capacityProviders } from '../../../db/schema';
import type {
  DeleteCapacityProviderRequest,
  DeleteCapacityProviderResponse,
} from '../../ecs-types.generated';
import type { CoreDeps } from '../deps';
import { invalidParameter } from '../errors';
import { clustersHolding } from './association';
import { requireActiveCapacityProvider, toEcsCapacityProvider } from './capacity-providers';

/** A few tries cover a cluster dropping the provider between this call's write and its read. */
const MAX_DELETE_ATTEMPTS = 3;

export async function deleteCapacityProvider(
  deps: CoreDeps,
  input: DeleteCapacityProviderRequest,
): Promise<DeleteCapacityProviderResponse> {
  if (input.cluster !== undefined) {
    throw invalidParameter(
      'cluster: only Managed Instances capacity providers are deleted from a cluster; Berth has none, so leave cluster out',
    );
  }
  for (let attempt = 1; ; attempt++) {
    // Read each time: a concurrent delete makes this the "does not exist" ClientException.
    const provider = await requireActiveCapacityProvider(deps, input.capacityProvider, 'capacityProvider');
    // The condition PutClusterCapacityProviders writes under, mirrored: held by no ACTIVE cluster.
    const [deleted] = await deps.db
      .update(capacityProviders)
      .set({ status: 'INACTIVE', updateStatus: 'DELETE_COMPLETE', updateStatusReason: null })
      .where(
        and(
          eq(capacityProviders.arn, provider.arn),
          eq(capacityProviders.status, 'ACTIVE'),
          sql`not exists (select 1 from clusters c, json_each(c.capacity_providers_json) held
              where c.status = 'ACTIVE' and held.value = ${provider.name})`,
        ),
      )
      .returning();
    if (deleted) return { capacityProvider: toEcsCapacityProvider(deleted, { tags: false }) };

    const holder = (await clustersHolding(deps, [provider.name])).get(provider.name);
    if (holder === undefined && attempt < MAX_DELETE_ATTEMPTS) continue;
    const [failed] = await deps.db
      .update(capacityProviders)
      .set({
        updateStatus: 'DELETE_FAILED',
        updateStatusReason: `The capacity provider cannot be deleted because it is associated with cluster: ${holder ?? 'unknown'}. Remove the capacity provider from the cluster and try again.`,
      })
      .where(and(eq(capacityProviders.arn, provider.arn), eq(capacityProviders.status, 'ACTIVE')))
      .returning();
    if (failed) return { capacityProvider: toEcsCapacityProvider(failed, { tags: false }) };
  }
}
