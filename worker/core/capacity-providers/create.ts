/**
 * CreateCapacityProvider, account-level (no cluster's room): a new, ACTIVE, unassociated provider.
 * Its pool is whatever instances carry its name, from the moment it exists; it is placed on only
 * once PutClusterCapacityProviders associates it with their cluster.
 */
import { eq } from 'drizzle-orm';
import { capacityProviders } from '../../../db/schema';
import type {
  CreateCapacityProviderRequest,
  CreateCapacityProviderResponse,
} from '../../ecs-types.generated';
import type { CoreDeps } from '../deps';
import { clientError, invalidParameter } from '../errors';
import { validateTags } from '../tags';
import { withEcsDefaults } from './auto-scaling-group';
import {
  capacityProviderArnOf,
  toEcsCapacityProvider,
  validateNewCapacityProviderName,
} from './capacity-providers';

export async function createCapacityProvider(
  deps: CoreDeps,
  input: CreateCapacityProviderRequest,
): Promise<CreateCapacityProviderResponse> {
  validateNewCapacityProviderName(input.name);
  // The two ECS fields that only Managed Instances providers use: refused by name, not ignored.
  if (input.managedInstancesProvider !== undefined) {
    throw invalidParameter(
      'managedInstancesProvider: Amazon ECS Managed Instances are not available in Berth; give autoScalingGroupProvider (a Berth capacity provider is a pool of container instances)',
    );
  }
  if (input.cluster !== undefined) {
    throw invalidParameter(
      'cluster: only Managed Instances capacity providers belong to a cluster when created; associate this one with PutClusterCapacityProviders',
    );
  }
  if (!input.autoScalingGroupProvider) {
    throw invalidParameter(
      'autoScalingGroupProvider: required field is missing (Berth stores it and scales nothing with it; the provider is the pool of container instances with the attribute berth.capacity-provider=<name>)',
    );
  }
  const autoScalingGroupProvider = withEcsDefaults(
    input.autoScalingGroupProvider,
    'autoScalingGroupProvider',
  );
  const tags = validateTags(input.tags);
  const arn = capacityProviderArnOf(deps, input.name);
  const fields = {
    status: 'ACTIVE' as const,
    autoScalingGroupProviderJson: JSON.stringify(autoScalingGroupProvider),
    updateStatus: null,
    updateStatusReason: null,
    tagsJson: JSON.stringify(tags),
    createdAtMs: deps.now(),
  };
  // A deleted (INACTIVE) provider's name may be used again; an ACTIVE one's may not.
  const [row] = await deps.db
    .insert(capacityProviders)
    .values({ arn, name: input.name, ...fields })
    .onConflictDoUpdate({
      target: capacityProviders.arn,
      set: fields,
      setWhere: eq(capacityProviders.status, 'INACTIVE'),
    })
    .returning();
  if (!row) {
    throw clientError(
      `The specified capacity provider already exists. To change the configuration of an existing capacity provider, update the capacity provider. (name: '${input.name}')`,
    );
  }
  return { capacityProvider: toEcsCapacityProvider(row, { tags: true }) };
}
