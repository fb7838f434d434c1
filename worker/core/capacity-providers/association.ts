/**
 * Which capacity providers a cluster may place on, and its default strategy: checked the way ECS
 * checks PutClusterCapacityProviders and CreateCluster, and written in one conditional statement.
 *
 * As with ECS's Auto Scaling group providers, a provider belongs to at most one cluster at a time
 * (its pool is instances, and an instance is in one cluster), and only an ACTIVE provider can be
 * associated. DeleteCapacityProvider is account-level and does not run in any cluster's room, so
 * the association is written only if, at the moment of writing, every provider is still ACTIVE and
 * held by no other cluster; DeleteCapacityProvider's own write has the mirror condition. Whichever
 * lands first wins and the other explains why it did not.
 */
import { and, eq, type SQL, sql } from 'drizzle-orm';
import { type ClusterRow, capacityProviders, clusters } from '../../../db/schema';
import type { CapacityProviderStrategyItem, CreateClusterRequest } from '../../ecs-types.generated';
import type { CoreDeps } from '../deps';
import { EcsError, invalidParameter } from '../errors';
import { findCapacityProviders, refuseFargate } from './capacity-providers';
import { validateStrategy } from './strategy';

/** ECS's quota of capacity providers per cluster. */
export const MAX_CAPACITY_PROVIDERS_PER_CLUSTER = 20;

export interface ClusterCapacityProviders {
  capacityProviders: string[];
  /** Each item with its base and weight filled in. */
  defaultCapacityProviderStrategy: Required<CapacityProviderStrategyItem>[];
}

/** The lists as the caller gave them, checked without the database; ECS's field names in every error. */
export function validateClusterCapacityProviders(
  input: Pick<CreateClusterRequest, 'capacityProviders' | 'defaultCapacityProviderStrategy'>,
): ClusterCapacityProviders {
  const names = input.capacityProviders ?? [];
  if (names.length > MAX_CAPACITY_PROVIDERS_PER_CLUSTER) {
    throw invalidParameter(
      `capacityProviders: The maximum number of capacity providers per cluster has been exceeded (${names.length} given, at most ${MAX_CAPACITY_PROVIDERS_PER_CLUSTER}).`,
    );
  }
  names.forEach((name, i) => {
    refuseFargate(name, `capacityProviders[${i}]`);
    if (names.indexOf(name) !== i)
      throw invalidParameter(`capacityProviders[${i}]: '${name}' is listed twice`);
  });
  const strategy = validateStrategy(
    input.defaultCapacityProviderStrategy ?? [],
    'defaultCapacityProviderStrategy',
  );
  strategy.forEach((item, i) => {
    if (!names.includes(item.capacityProvider)) {
      throw invalidParameter(
        `defaultCapacityProviderStrategy[${i}].capacityProvider: '${item.capacityProvider}' is not in capacityProviders; a capacity provider must be associated with the cluster to be in its default strategy`,
      );
    }
  });
  return { capacityProviders: names, defaultCapacityProviderStrategy: strategy };
}

/** Another ACTIVE cluster that holds any of `names`, per name. */
export async function clustersHolding(
  deps: CoreDeps,
  names: string[],
  exceptClusterArn?: string,
): Promise<Map<string, string>> {
  if (names.length === 0) return new Map();
  const rows = await deps.db.all<{ provider: string; cluster: string }>(
    sql`select held.value as provider, c.name as cluster
        from clusters c, json_each(c.capacity_providers_json) held
        where c.status = 'ACTIVE' and c.arn <> ${exceptClusterArn ?? ''} and held.value in ${names}`,
  );
  return new Map(rows.map((row) => [row.provider, row.cluster]));
}

/** Why the providers can't be associated with the cluster now, or undefined when they can. */
async function refusal(deps: CoreDeps, clusterArn: string, names: string[]): Promise<EcsError | undefined> {
  const rows = new Map((await findCapacityProviders(deps, names)).map((row) => [row.name, row]));
  const held = await clustersHolding(deps, names, clusterArn);
  for (const [i, name] of names.entries()) {
    const row = rows.get(name);
    if (!row) {
      return invalidParameter(
        `capacityProviders[${i}]: capacity provider '${name}' does not exist; create it with CreateCapacityProvider first`,
      );
    }
    if (row.status !== 'ACTIVE') {
      return invalidParameter(
        `capacityProviders[${i}]: capacity provider '${name}' is ${row.status}; only an ACTIVE capacity provider can be associated with a cluster`,
      );
    }
    const other = held.get(name);
    if (other !== undefined) {
      return invalidParameter(
        `capacityProviders[${i}]: capacity provider '${name}' is already associated with cluster '${other}'; a capacity provider can be associated with one cluster only`,
      );
    }
  }
  return undefined;
}

/** Throws why the providers can't be associated with the cluster now, if they can't. */
export async function assertAssociable(deps: CoreDeps, clusterArn: string, names: string[]): Promise<void> {
  const refused = await refusal(deps, clusterArn, names);
  if (refused) throw refused;
}

/** Every provider ACTIVE and held by no other ACTIVE cluster, evaluated inside the write itself. */
function associable(clusterArn: string, names: string[]): SQL | undefined {
  if (names.length === 0) return undefined;
  return and(
    sql`(select count(*) from ${capacityProviders} where ${capacityProviders.status} = 'ACTIVE' and ${capacityProviders.name} in ${names}) = ${names.length}`,
    sql`not exists (select 1 from clusters other, json_each(other.capacity_providers_json) held
        where other.status = 'ACTIVE' and other.arn <> ${clusterArn} and held.value in ${names})`,
  );
}

/**
 * Replaces the cluster's providers and default strategy, if they can be associated; otherwise throws
 * the reason (checked before the write for a clear message, and again if the write found it changed).
 */
export async function writeClusterCapacityProviders(
  deps: CoreDeps,
  clusterArn: string,
  wanted: ClusterCapacityProviders,
): Promise<ClusterRow> {
  await assertAssociable(deps, clusterArn, wanted.capacityProviders);
  const [row] = await deps.db
    .update(clusters)
    .set({
      capacityProvidersJson: JSON.stringify(wanted.capacityProviders),
      defaultCapacityProviderStrategyJson: JSON.stringify(wanted.defaultCapacityProviderStrategy),
    })
    .where(
      and(
        eq(clusters.arn, clusterArn),
        eq(clusters.status, 'ACTIVE'),
        associable(clusterArn, wanted.capacityProviders),
      ),
    )
    .returning();
  if (row) return row;
  throw (
    (await refusal(deps, clusterArn, wanted.capacityProviders)) ??
    new EcsError('ClusterNotFoundException', 'Cluster not found.')
  );
}
