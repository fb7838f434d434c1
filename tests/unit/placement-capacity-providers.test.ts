import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CAPACITY_PROVIDER_ATTRIBUTE } from '../../protocol/attributes';
import {
  type CapacityProviderStrategyItem,
  type PlacementInstance,
  type ProviderPlacementRequest,
  placeTasks,
  placeTasksAcrossProviders,
  providerSequence,
} from '../../worker/core/placement';
import { aPlacementInstance, aPlacementRequest } from '../helpers/builders';

/** A deterministic RNG (mulberry32) so every fast-check run can be replayed from its seed. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const providerArn = (name: string) => `arn:aws:ecs:us-east-1:000000000000:capacity-provider/${name}`;

function inPool(id: string, provider: string | undefined, overrides: Partial<PlacementInstance> = {}) {
  return aPlacementInstance(id, {
    attributes: provider === undefined ? {} : { [CAPACITY_PROVIDER_ATTRIBUTE]: provider },
    ...overrides,
  });
}

function aProviderRequest(
  strategy: CapacityProviderStrategyItem[],
  overrides: Partial<ProviderPlacementRequest> = {},
): ProviderPlacementRequest {
  return { ...aPlacementRequest(), strategy, providerArn, ...overrides };
}

const countsOf = (providers: string[]) =>
  providers.reduce<Record<string, number>>((counts, name) => {
    counts[name] = (counts[name] ?? 0) + 1;
    return counts;
  }, {});
const idOf = (arn: string) => arn.split('/').pop();

describe('splitting tasks across capacity providers', () => {
  it('fills the base first, then deals the rest by weight', () => {
    const strategy = [
      { capacityProvider: 'A', base: 1, weight: 1 },
      { capacityProvider: 'B', weight: 3 },
    ];
    expect(providerSequence(9, strategy)).toEqual(['A', 'B', 'A', 'B', 'B', 'B', 'A', 'B', 'B']);
    expect(countsOf(providerSequence(9, strategy))).toEqual({ A: 3, B: 6 });
  });

  it('gives a provider of weight 0 its base and nothing more', () => {
    const strategy = [
      { capacityProvider: 'reserved', base: 2, weight: 0 },
      { capacityProvider: 'spot', weight: 1 },
    ];
    expect(countsOf(providerSequence(7, strategy))).toEqual({ reserved: 2, spot: 5 });
  });

  it('stops at the count even when the base is larger', () => {
    expect(
      providerSequence(2, [
        { capacityProvider: 'A', base: 5 },
        { capacityProvider: 'B', weight: 1 },
      ]),
    ).toEqual(['A', 'A']);
  });

  it('sends every task to a lone provider without a weight', () => {
    expect(providerSequence(3, [{ capacityProvider: 'only' }])).toEqual(['only', 'only', 'only']);
  });

  it('sends a single weighted task to the heaviest provider', () => {
    const strategy = [
      { capacityProvider: 'light', weight: 1 },
      { capacityProvider: 'heavy', weight: 3 },
    ];
    expect(providerSequence(1, strategy)).toEqual(['heavy']);
  });

  const strategies = fc
    .uniqueArray(
      fc.record({
        capacityProvider: fc.constantFrom('p0', 'p1', 'p2', 'p3', 'p4', 'p5'),
        weight: fc.oneof(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 1000 })),
      }),
      { minLength: 1, maxLength: 6, selector: (item) => item.capacityProvider },
    )
    .filter((items) => items.length === 1 || items.some((item) => item.weight > 0));
  const withBase = fc
    .tuple(strategies, fc.nat({ max: 12 }), fc.nat())
    .map(([items, base, at]): CapacityProviderStrategyItem[] =>
      items.map((item, index) => (index === at % items.length ? { ...item, base } : item)),
    );

  it('keeps every prefix of the weighted tasks within one task of each provider’s exact share', () => {
    fc.assert(
      fc.property(strategies, fc.integer({ min: 1, max: 60 }), (strategy, count) => {
        const sequence = providerSequence(count, strategy);
        expect(sequence).toHaveLength(count);
        const weights = strategy.map((item) => (strategy.length === 1 ? 1 : item.weight));
        const total = weights.reduce((sum, weight) => sum + weight, 0);
        const dealt = new Map<string, number>();
        sequence.forEach((provider, index) => {
          dealt.set(provider, (dealt.get(provider) ?? 0) + 1);
          strategy.forEach((item, i) => {
            const exact = ((index + 1) * weights[i]) / total;
            expect(Math.abs((dealt.get(item.capacityProvider) ?? 0) - exact)).toBeLessThan(1);
          });
        });
      }),
      { numRuns: 400 },
    );
  });

  it('honours the base before any weight, and never moves a task already dealt when one more is asked for', () => {
    fc.assert(
      fc.property(withBase, fc.integer({ min: 1, max: 30 }), (strategy, count) => {
        const sequence = providerSequence(count, strategy);
        const based = strategy.find((item) => (item.base ?? 0) > 0);
        if (based) {
          const baseTasks = Math.min(based.base ?? 0, count);
          expect(sequence.slice(0, baseTasks)).toEqual(Array(baseTasks).fill(based.capacityProvider));
        }
        for (const item of strategy) {
          if (item.weight === 0 && strategy.length > 1)
            expect(countsOf(sequence)[item.capacityProvider] ?? 0).toBe(Math.min(item.base ?? 0, count));
        }
        expect(providerSequence(count + 1, strategy).slice(0, count)).toEqual(sequence);
      }),
      { numRuns: 400 },
    );
  });
});

describe('placing tasks across capacity providers', () => {
  const strategy = [
    { capacityProvider: 'A', base: 1, weight: 1 },
    { capacityProvider: 'B', weight: 3 },
  ];

  it('places each provider’s share on its own pool and nowhere else', () => {
    const cluster = [
      inPool('a1', 'A'),
      inPool('b1', 'B'),
      inPool('b2', 'B'),
      inPool('unpooled', undefined),
      inPool('c1', 'C'),
    ];
    const result = placeTasksAcrossProviders(
      cluster,
      aProviderRequest(strategy, { count: 9, strategies: [{ type: 'spread', field: 'instanceId' }] }),
    );
    expect(result.failures).toEqual([]);
    expect(countsOf(result.placements.map((p) => p.capacityProvider))).toEqual({ A: 3, B: 6 });
    expect(countsOf(result.placements.map((p) => idOf(p.instanceArn) ?? ''))).toEqual({
      a1: 3,
      b1: 3,
      b2: 3,
    });
    for (const placed of result.placements)
      expect(idOf(placed.instanceArn)?.startsWith(placed.capacityProvider.toLowerCase())).toBe(true);
  });

  it('ranks within a pool by the call’s strategies', () => {
    const cluster = [
      inPool('b-roomy', 'B', { remainingMemoryMiB: 8192 }),
      inPool('b-tight', 'B', { remainingMemoryMiB: 1024 }),
      inPool('a-tighter', 'A', { remainingMemoryMiB: 600 }),
    ];
    const result = placeTasksAcrossProviders(
      cluster,
      aProviderRequest([{ capacityProvider: 'B', weight: 1 }], {
        strategies: [{ type: 'binpack', field: 'memory' }],
      }),
    );
    expect(result.placements.map((p) => idOf(p.instanceArn))).toEqual(['b-tight']);
  });

  it('reports an empty provider as EMPTY CAPACITY PROVIDER under its ARN, and places the other shares', () => {
    const result = placeTasksAcrossProviders([inPool('b1', 'B')], aProviderRequest(strategy, { count: 5 }));
    expect(result.failures).toEqual([
      {
        arn: providerArn('A'),
        reason: 'EMPTY CAPACITY PROVIDER',
        detail: `No container instance of the cluster has the attribute ${CAPACITY_PROVIDER_ATTRIBUTE}=A.`,
      },
    ]);
    expect(result.placements.map((p) => p.capacityProvider)).toEqual(['B', 'B', 'B']);
  });

  it('fails a share its pool cannot hold with the pool’s reasons instead of spilling to another provider', () => {
    const cluster = [inPool('a-full', 'A', { remainingMemoryMiB: 100 }), inPool('b1', 'B')];
    const result = placeTasksAcrossProviders(cluster, aProviderRequest(strategy, { count: 5 }));
    expect(result.failures).toEqual([{ arn: cluster[0].arn, reason: 'RESOURCE:MEMORY' }]);
    expect(result.placements.map((p) => p.capacityProvider)).toEqual(['B', 'B', 'B']);
  });

  const pooledCluster = fc
    .array(
      fc.record({
        provider: fc.constantFrom('p0', 'p1', 'p2', undefined),
        remainingMemoryMiB: fc.integer({ min: 0, max: 4096 }),
        agentConnected: fc.constantFrom(true, true, false),
      }),
      { maxLength: 12 },
    )
    .map((specs) =>
      specs.map((spec, index) =>
        inPool(`i-${index}`, spec.provider, {
          remainingMemoryMiB: spec.remainingMemoryMiB,
          agentConnected: spec.agentConnected,
        }),
      ),
    );
  const providerStrategy = fc
    .uniqueArray(
      fc.record({
        capacityProvider: fc.constantFrom('p0', 'p1', 'p2', 'p3'),
        base: fc.constantFrom(0, 0, 1, 3),
        weight: fc.integer({ min: 0, max: 4 }),
      }),
      { minLength: 1, maxLength: 4, selector: (item) => item.capacityProvider },
    )
    .filter((items) => items.length === 1 || items.some((item) => item.weight > 0));

  it('only ever places a task on an instance of the provider it was dealt to, at most its share', () => {
    fc.assert(
      fc.property(
        pooledCluster,
        providerStrategy,
        fc.integer({ min: 1, max: 10 }),
        fc.integer(),
        (cluster, items, count, seed) => {
          const result = placeTasksAcrossProviders(
            cluster,
            aProviderRequest(items, { count, memoryMiB: 512, random: seededRandom(seed) }),
          );
          const share = countsOf(providerSequence(count, items));
          const placed = countsOf(result.placements.map((p) => p.capacityProvider));
          for (const [provider, n] of Object.entries(placed)) expect(n).toBeLessThanOrEqual(share[provider]);
          for (const { instanceArn, capacityProvider } of result.placements) {
            const instance = cluster.find((i) => i.arn === instanceArn);
            expect(instance?.attributes[CAPACITY_PROVIDER_ATTRIBUTE]).toBe(capacityProvider);
          }
          // A share that fell short always says why.
          const shortOf = Object.keys(share).filter((provider) => (placed[provider] ?? 0) < share[provider]);
          expect(result.failures.length > 0).toBe(shortOf.length > 0);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('places exactly as placeTasks does when one provider pools the whole cluster', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 4096 }), { minLength: 1, maxLength: 10 }),
        fc.integer({ min: 1, max: 10 }),
        fc.integer(),
        (memory, count, seed) => {
          const cluster = memory.map((left, index) =>
            inPool(`i-${index}`, 'all', { remainingMemoryMiB: left }),
          );
          const wanted = {
            count,
            memoryMiB: 512,
            strategies: [{ type: 'binpack' as const, field: 'memory' }],
          };
          const across = placeTasksAcrossProviders(
            cluster,
            aProviderRequest([{ capacityProvider: 'all', weight: 1 }], {
              ...wanted,
              random: seededRandom(seed),
            }),
          );
          const direct = placeTasks(cluster, aPlacementRequest({ ...wanted, random: seededRandom(seed) }));
          expect(across.placements.map((p) => p.instanceArn)).toEqual(
            direct.placements.map((p) => p.instanceArn),
          );
          expect(across.failures).toEqual(direct.failures);
        },
      ),
    );
  });
});
