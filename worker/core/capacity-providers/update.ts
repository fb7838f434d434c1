/**
 * UpdateCapacityProvider, account-level: replaces the fields of the stored `autoScalingGroupProvider`
 * that the call names (within `managedScaling`, field by field), as ECS does, and answers
 * UPDATE_COMPLETE. Berth scales and protects nothing with these settings (see
 * auto-scaling-group.ts), so no placement changes; the pool is still the instances with the name.
 */
import { and, eq } from 'drizzle-orm';
import { capacityProviders } from '../../../db/schema';
import type {
  UpdateCapacityProviderRequest,
  UpdateCapacityProviderResponse,
} from '../../ecs-types.generated';
import type { CoreDeps } from '../deps';
import { EcsError, invalidParameter } from '../errors';
import { type AutoScalingGroupProvider, withEcsDefaults } from './auto-scaling-group';
import { requireActiveCapacityProvider, toEcsCapacityProvider } from './capacity-providers';

/** Each retry means another update landed in between; this many in a row takes a flood of writers. */
const MAX_UPDATE_ATTEMPTS = 10;

export async function updateCapacityProvider(
  deps: CoreDeps,
  input: UpdateCapacityProviderRequest,
): Promise<UpdateCapacityProviderResponse> {
  if (input.managedInstancesProvider !== undefined) {
    throw invalidParameter(
      'managedInstancesProvider: Amazon ECS Managed Instances are not available in Berth; update autoScalingGroupProvider',
    );
  }
  if (input.cluster !== undefined) {
    throw invalidParameter(
      'cluster: only Managed Instances capacity providers are updated within a cluster; Berth has none, so leave cluster out',
    );
  }
  const update = input.autoScalingGroupProvider;
  if (!update) throw invalidParameter('autoScalingGroupProvider: required field is missing');
  for (let attempt = 0; attempt < MAX_UPDATE_ATTEMPTS; attempt++) {
    const provider = await requireActiveCapacityProvider(deps, input.name, 'name');
    const current = JSON.parse(provider.autoScalingGroupProviderJson) as AutoScalingGroupProvider;
    const next = withEcsDefaults(
      { ...current, ...update, managedScaling: { ...current.managedScaling, ...update.managedScaling } },
      'autoScalingGroupProvider',
    );
    // Compare-and-swap on the stored settings, so two concurrent updates both land, one after the other.
    const [row] = await deps.db
      .update(capacityProviders)
      .set({
        autoScalingGroupProviderJson: JSON.stringify(next),
        updateStatus: 'UPDATE_COMPLETE',
        updateStatusReason: null,
      })
      .where(
        and(
          eq(capacityProviders.arn, provider.arn),
          eq(capacityProviders.status, 'ACTIVE'),
          eq(capacityProviders.autoScalingGroupProviderJson, provider.autoScalingGroupProviderJson),
        ),
      )
      .returning();
    if (row) return { capacityProvider: toEcsCapacityProvider(row, { tags: false }) };
  }
  throw new EcsError(
    'ServerException',
    `The capacity provider '${input.name}' kept changing under concurrent updates; try again.`,
  );
}
