import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type {
  HostPort,
  PlacementInstance,
  PlacementRequest,
  PlacementStrategy,
} from '../../worker/core/placement';
import { placeTasks } from '../../worker/core/placement';

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

const hostPort = fc.record({
  port: fc.constantFrom(80, 443, 8080),
  protocol: fc.constantFrom('tcp', 'udp'),
}) as fc.Arbitrary<HostPort>;

const instances = fc
  .array(
    fc.record({
      status: fc.constantFrom('ACTIVE', 'ACTIVE', 'ACTIVE', 'DRAINING'),
      agentConnected: fc.constantFrom(true, true, true, false),
      remainingCpu: fc.integer({ min: 0, max: 4096 }),
      remainingMemoryMiB: fc.integer({ min: 0, max: 8192 }),
      usedHostPorts: fc.array(hostPort, { maxLength: 2 }),
      zone: fc.constantFrom('a', 'b', 'c'),
      webTasks: fc.integer({ min: 0, max: 3 }),
    }),
    { maxLength: 12 },
  )
  .map((specs) =>
    specs.map(
      (spec, index): PlacementInstance => ({
        arn: `arn:aws:ecs:local:000000000000:container-instance/default/i-${index}`,
        id: `i-${index}`,
        status: spec.status as PlacementInstance['status'],
        agentConnected: spec.agentConnected,
        agentVersion: '1.0.0',
        registeredAtMs: 0,
        attributes: { zone: spec.zone },
        remainingCpu: spec.remainingCpu,
        remainingMemoryMiB: spec.remainingMemoryMiB,
        usedHostPorts: spec.usedHostPorts,
        runningTasksCount: spec.webTasks,
        pendingTasksCount: 0,
        taskGroups: Array.from({ length: spec.webTasks }, () => 'family:web'),
      }),
    ),
  );

const strategies = fc.array(
  fc.constantFrom<PlacementStrategy>(
    { type: 'random' },
    { type: 'binpack', field: 'cpu' },
    { type: 'binpack', field: 'memory' },
    { type: 'spread', field: 'instanceId' },
    { type: 'spread', field: 'attribute:zone' },
  ),
  { maxLength: 5 },
);

const requests = fc.record({
  count: fc.integer({ min: 1, max: 10 }),
  cpu: fc.integer({ min: 0, max: 2048 }),
  memoryMiB: fc.integer({ min: 1, max: 4096 }),
  hostPorts: fc.uniqueArray(hostPort, { maxLength: 2, selector: (p) => `${p.port}/${p.protocol}` }),
  strategies,
  seed: fc.integer(),
});

function emptyInstances(
  count: number,
  overrides: (index: number) => Partial<PlacementInstance> = () => ({}),
) {
  return Array.from(
    { length: count },
    (_, index): PlacementInstance => ({
      arn: `arn:i-${index}`,
      id: `i-${index}`,
      status: 'ACTIVE',
      agentConnected: true,
      agentVersion: '1.0.0',
      registeredAtMs: 0,
      attributes: {},
      // Room for every task a property places; the properties vary these where they matter.
      remainingCpu: 65_536,
      remainingMemoryMiB: 131_072,
      usedHostPorts: [],
      runningTasksCount: 0,
      pendingTasksCount: 0,
      taskGroups: [],
      ...overrides(index),
    }),
  );
}

function request(overrides: Partial<PlacementRequest>): PlacementRequest {
  return {
    count: 1,
    cpu: 256,
    memoryMiB: 512,
    hostPorts: [],
    group: 'family:web',
    strategies: [],
    constraints: [],
    random: seededRandom(1),
    ...overrides,
  };
}

describe('placement properties', () => {
  it('never over-commits CPU, memory or a static host port, and explains every shortfall', () => {
    fc.assert(
      fc.property(instances, requests, (cluster, { seed, ...wanted }) => {
        const result = placeTasks(cluster, request({ ...wanted, random: seededRandom(seed) }));
        const placedPerArn = new Map<string, number>();
        for (const { instanceArn } of result.placements)
          placedPerArn.set(instanceArn, (placedPerArn.get(instanceArn) ?? 0) + 1);
        for (const instance of cluster) {
          const placed = placedPerArn.get(instance.arn) ?? 0;
          if (placed === 0) continue;
          expect(instance.status).toBe('ACTIVE');
          expect(instance.agentConnected).toBe(true);
          if (wanted.cpu > 0) expect(placed * wanted.cpu).toBeLessThanOrEqual(instance.remainingCpu);
          expect(placed * wanted.memoryMiB).toBeLessThanOrEqual(instance.remainingMemoryMiB);
          if (wanted.hostPorts.length > 0) {
            expect(placed).toBe(1);
            const taken = instance.usedHostPorts.map((p) => `${p.port}/${p.protocol}`);
            for (const p of wanted.hostPorts) expect(taken).not.toContain(`${p.port}/${p.protocol}`);
          }
        }
        const shortfall = result.placements.length < wanted.count;
        expect(result.failures.length > 0).toBe(shortfall && cluster.length > 0);
        if (shortfall) expect(result.failures.map((f) => f.arn)).toEqual(cluster.map((i) => i.arn));
      }),
      { numRuns: 400 },
    );
  });

  it('balances spread on instanceId over identical empty instances to within one task', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 60 }),
        fc.integer(),
        (size, tasks, seed) => {
          const cluster = emptyInstances(size);
          const result = placeTasks(
            cluster,
            request({
              count: tasks,
              strategies: [{ type: 'spread', field: 'instanceId' }],
              random: seededRandom(seed),
            }),
          );
          expect(result.placements).toHaveLength(tasks);
          const perInstance = cluster.map(
            (i) => result.placements.filter((p) => p.instanceArn === i.arn).length,
          );
          expect(Math.max(...perInstance) - Math.min(...perInstance)).toBeLessThanOrEqual(1);
        },
      ),
    );
  });

  it('binpack always picks the fullest instance that fits', () => {
    const cpuLeft = fc.array(fc.integer({ min: 0, max: 4096 }), { minLength: 1, maxLength: 15 });
    fc.assert(
      fc.property(cpuLeft, fc.integer({ min: 1, max: 2048 }), fc.integer(), (left, cpu, seed) => {
        const cluster = emptyInstances(left.length, (index) => ({ remainingCpu: left[index] }));
        const result = placeTasks(
          cluster,
          request({ cpu, strategies: [{ type: 'binpack', field: 'cpu' }], random: seededRandom(seed) }),
        );
        const fitting = left.filter((value) => value >= cpu);
        if (fitting.length === 0) {
          expect(result.placements).toEqual([]);
          return;
        }
        const chosen = cluster.find((i) => i.arn === result.placements[0].instanceArn);
        expect(chosen?.remainingCpu).toBe(Math.min(...fitting));
      }),
    );
  });
});
