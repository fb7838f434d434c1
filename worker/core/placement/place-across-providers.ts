/**
 * Places a RunTask's tasks across the capacity providers of a capacity provider strategy, the way
 * ECS reads `base` and `weight`, then within each provider's pool of instances with `placeTasks`.
 * Pure, like `placeTasks`: no I/O, the random source injected.
 *
 * 1. **Split** (`providerSequence`): the tasks go first to the providers with a base, in strategy
 *    order, until each has its base (ECS allows a base on one provider only; the caller checks
 *    that). The rest are dealt one at a time to the provider furthest below its weighted share:
 *    after `k` weighted tasks, provider `i` should hold `k * w_i / W`, so the next task goes to the
 *    provider with the largest `(k + 1) * w_i - W * n_i` (an integer, so no rounding), ties to the
 *    earlier provider in the strategy. Every prefix of the deal stays within one task of the
 *    exact shares, and a provider of weight 0 receives only its base. A strategy without any
 *    weight (a single provider, as ECS allows) takes every task.
 * 2. **Pools**: provider `X`'s instances are those whose `berth.capacity-provider` attribute is
 *    `X`. Each provider's share is placed by `placeTasks` over its pool alone, so the call's
 *    strategies and constraints rank and filter within a pool as they do across a cluster today.
 * 3. **No spill-over**: a share that its pool cannot hold fails with the pool's reasons (one per
 *    instance, as `placeTasks` gives them, or `EMPTY CAPACITY PROVIDER` under the provider's ARN
 *    when no instance carries its name). It does not move to another provider: the strategy fixes
 *    the split, as in ECS.
 *
 * Cost: O(count × providers) for the split, and one `placeTasks` per provider over its own pool,
 * which together cost no more than one `placeTasks` over the cluster.
 */
import { CAPACITY_PROVIDER_ATTRIBUTE } from '../../../protocol/attributes';
import type { CapacityProviderStrategyItem } from '../../ecs-types.generated';
import { placeTasks } from './place-tasks';
import type { PlacementFailure, PlacementInstance, PlacementRequest } from './types';

/**
 * The model's item: `base` is the tasks placed on this provider before any weight applies, `weight`
 * its relative share of the tasks after the bases; each 0 when omitted.
 */
export type { CapacityProviderStrategyItem };

export interface ProviderPlacementRequest extends PlacementRequest {
  /** Validated: no provider twice, and some weight above 0 unless there is a single provider. */
  strategy: readonly CapacityProviderStrategyItem[];
  /** The ARN a whole provider's failure (`EMPTY CAPACITY PROVIDER`) is reported under. */
  providerArn: (name: string) => string;
}

export interface ProviderPlacementResult {
  /** In the order the split dealt the tasks: base tasks first. */
  placements: { instanceArn: string; capacityProvider: string }[];
  failures: PlacementFailure[];
}

/** The provider of each of `count` tasks, in the order they are dealt (see the header). */
export function providerSequence(count: number, strategy: readonly CapacityProviderStrategyItem[]): string[] {
  const sequence: string[] = [];
  for (const item of strategy) {
    const base = Math.min(item.base ?? 0, count - sequence.length);
    for (let task = 0; task < base; task++) sequence.push(item.capacityProvider);
  }
  const anyWeight = strategy.some((item) => (item.weight ?? 0) > 0);
  // Without any weight (a lone provider), every provider weighs the same.
  const weights = strategy.map((item) => (anyWeight ? (item.weight ?? 0) : 1));
  const totalWeight = weights.reduce((sum, weight) => sum + weight, 0);
  const dealt = new Array<number>(strategy.length).fill(0);
  for (let k = 0; sequence.length < count && totalWeight > 0; k++) {
    let chosen = -1;
    let largestShortfall = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < strategy.length; i++) {
      if (weights[i] === 0) continue;
      const shortfall = (k + 1) * weights[i] - totalWeight * dealt[i];
      if (shortfall > largestShortfall) {
        largestShortfall = shortfall;
        chosen = i;
      }
    }
    dealt[chosen]++;
    sequence.push(strategy[chosen].capacityProvider);
  }
  return sequence;
}

export function placeTasksAcrossProviders(
  instances: readonly PlacementInstance[],
  request: ProviderPlacementRequest,
): ProviderPlacementResult {
  const { strategy, providerArn, ...placement } = request;
  const sequence = providerSequence(request.count, strategy);
  const share = new Map<string, number>();
  for (const provider of sequence) share.set(provider, (share.get(provider) ?? 0) + 1);

  const placedBy = new Map<string, string[]>();
  const failures: PlacementFailure[] = [];
  for (const item of strategy) {
    const count = share.get(item.capacityProvider) ?? 0;
    if (count === 0) continue;
    const pool = instances.filter(
      (instance) => instance.attributes[CAPACITY_PROVIDER_ATTRIBUTE] === item.capacityProvider,
    );
    if (pool.length === 0) {
      failures.push({
        arn: providerArn(item.capacityProvider),
        reason: 'EMPTY CAPACITY PROVIDER',
        detail: `No container instance of the cluster has the attribute ${CAPACITY_PROVIDER_ATTRIBUTE}=${item.capacityProvider}.`,
      });
      continue;
    }
    const result = placeTasks(pool, { ...placement, count });
    placedBy.set(
      item.capacityProvider,
      result.placements.map((placed) => placed.instanceArn),
    );
    failures.push(...result.failures);
  }

  const placements: ProviderPlacementResult['placements'] = [];
  const taken = new Map<string, number>();
  for (const capacityProvider of sequence) {
    const next = taken.get(capacityProvider) ?? 0;
    const instanceArn = placedBy.get(capacityProvider)?.[next];
    if (instanceArn === undefined) continue;
    taken.set(capacityProvider, next + 1);
    placements.push({ instanceArn, capacityProvider });
  }
  return { placements, failures };
}
