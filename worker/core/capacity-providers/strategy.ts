/**
 * Capacity provider strategies: ECS's rules for one (RunTask's, or a cluster's default), and which
 * one a RunTask places by. The split of tasks by base and weight is placement's
 * (placement/place-across-providers.ts); this file only decides what it is given.
 */
import type { ClusterRow } from '../../../db/schema';
import type { CapacityProviderStrategyItem, RunTaskRequest } from '../../ecs-types.generated';
import type { CoreDeps } from '../deps';
import { invalidParameter } from '../errors';
import {
  capacityProvidersOf,
  defaultStrategyOf,
  findCapacityProviders,
  refuseFargate,
} from './capacity-providers';

/** ECS: "A capacity provider strategy can contain a maximum of 20 capacity providers." */
export const MAX_STRATEGY_ITEMS = 20;

/** ECS's rules, each error naming the item; returns the items with base and weight filled in. */
export function validateStrategy(
  items: CapacityProviderStrategyItem[],
  field: string,
): Required<CapacityProviderStrategyItem>[] {
  if (items.length > MAX_STRATEGY_ITEMS) {
    throw invalidParameter(
      `${field}: a capacity provider strategy can contain at most ${MAX_STRATEGY_ITEMS} capacity providers`,
    );
  }
  const seen = new Set<string>();
  let withBase: string | undefined;
  const normalised = items.map((item, i) => {
    refuseFargate(item.capacityProvider, `${field}[${i}].capacityProvider`);
    if (seen.has(item.capacityProvider)) {
      throw invalidParameter(
        `${field}[${i}].capacityProvider: '${item.capacityProvider}' appears more than once`,
      );
    }
    seen.add(item.capacityProvider);
    const base = item.base ?? 0;
    if (base > 0) {
      if (withBase !== undefined) {
        throw invalidParameter(
          `${field}[${i}].base: only one capacity provider in a strategy can have a base ('${withBase}' already has one)`,
        );
      }
      withBase = item.capacityProvider;
    }
    return { capacityProvider: item.capacityProvider, base, weight: item.weight ?? 0 };
  });
  if (normalised.length > 1 && normalised.every((item) => item.weight === 0)) {
    throw invalidParameter(
      `${field}: at least one capacity provider must have a weight greater than 0 (a provider of weight 0 only takes its base)`,
    );
  }
  return normalised;
}

/**
 * The strategy a RunTask places by: the call's own; else, when the call names no launch type, the
 * cluster's default; undefined to place across the whole cluster as without capacity providers.
 * Every provider of the call's strategy must be associated with the cluster.
 */
export async function runTaskStrategy(
  deps: CoreDeps,
  cluster: ClusterRow,
  input: Pick<RunTaskRequest, 'launchType' | 'capacityProviderStrategy'>,
): Promise<Required<CapacityProviderStrategyItem>[] | undefined> {
  const given = input.capacityProviderStrategy ?? [];
  if (given.length === 0) {
    if (input.launchType !== undefined) return undefined;
    const fallback = defaultStrategyOf(cluster);
    return fallback.length > 0 ? fallback : undefined;
  }
  if (input.launchType !== undefined) {
    throw invalidParameter(
      'launchType, capacityProviderStrategy: Specifying both a launch type and capacity provider strategy is not supported. Remove one and try again.',
    );
  }
  const strategy = validateStrategy(given, 'capacityProviderStrategy');
  const associated = capacityProvidersOf(cluster);
  const strangers = strategy.filter((item) => !associated.includes(item.capacityProvider));
  if (strangers.length > 0) {
    const known = new Set(
      (
        await findCapacityProviders(
          deps,
          strangers.map((item) => item.capacityProvider),
        )
      ).map((row) => (row.status === 'ACTIVE' ? row.name : '')),
    );
    const stranger = strangers[0].capacityProvider;
    const field = `capacityProviderStrategy[${strategy.findIndex((item) => item.capacityProvider === stranger)}].capacityProvider`;
    throw invalidParameter(
      known.has(stranger)
        ? `${field}: capacity provider '${stranger}' is not associated with cluster '${cluster.name}'; associate it with PutClusterCapacityProviders first`
        : `${field}: capacity provider '${stranger}' does not exist`,
    );
  }
  return strategy;
}
