import { describe, expect, it } from 'vitest';
import { EcsError } from '../../worker/core/errors';
import type { PlacementConstraint, PlacementStrategy } from '../../worker/core/placement';
import { placeTasks, validatePlacement } from '../../worker/core/placement';
import { aPlacementInstance, aPlacementRequest } from '../helpers/builders';

const anInstance = aPlacementInstance;
const aRequest = aPlacementRequest;

const idsOf = (result: ReturnType<typeof placeTasks>): string[] =>
  result.placements.map((placement) => placement.instanceArn.split('/').pop() ?? '');
const reasonsOf = (result: ReturnType<typeof placeTasks>): Record<string, string> =>
  Object.fromEntries(result.failures.map((failure) => [failure.arn.split('/').pop(), failure.reason]));
function countsOf(ids: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const id of ids) counts[id] = (counts[id] ?? 0) + 1;
  return counts;
}

describe('placeTasks filtering', () => {
  it('reports every container instance that could not take the task, with the first reason that excluded it', () => {
    const result = placeTasks(
      [
        anInstance('draining', { status: 'DRAINING', remainingCpu: 0 }),
        anInstance('deregistered', { status: 'INACTIVE' }),
        anInstance('disconnected', { agentConnected: false }),
        anInstance('no-cpu', { remainingCpu: 100, remainingMemoryMiB: 100 }),
        anInstance('no-memory', { remainingMemoryMiB: 100 }),
        anInstance('port-80', { usedHostPorts: [{ port: 80, protocol: 'tcp' }] }),
      ],
      aRequest({ hostPorts: [{ port: 80, protocol: 'tcp' }] }),
    );
    expect(result.placements).toEqual([]);
    expect(reasonsOf(result)).toEqual({
      draining: 'INACTIVE',
      deregistered: 'INACTIVE',
      disconnected: 'AGENT',
      'no-cpu': 'RESOURCE:CPU',
      'no-memory': 'RESOURCE:MEMORY',
      'port-80': 'RESOURCE:PORTS',
    });
  });

  it('lets a port in use under the other protocol through', () => {
    const result = placeTasks(
      [anInstance('udp-53', { usedHostPorts: [{ port: 53, protocol: 'udp' }] })],
      aRequest({ hostPorts: [{ port: 53, protocol: 'tcp' }] }),
    );
    expect(idsOf(result)).toEqual(['udp-53']);
  });

  it('places tasks that need no CPU on an instance with none left', () => {
    expect(idsOf(placeTasks([anInstance('full', { remainingCpu: 0 })], aRequest({ cpu: 0 })))).toEqual([
      'full',
    ]);
  });

  it('never over-commits: it places what fits and reports each instance once for the rest', () => {
    const instances = [anInstance('a', { remainingCpu: 512 }), anInstance('b', { remainingCpu: 600 })];
    const result = placeTasks(instances, aRequest({ count: 6 }));
    expect(countsOf(idsOf(result))).toEqual({ a: 2, b: 2 });
    expect(result.failures).toEqual([
      { arn: instances[0].arn, reason: 'RESOURCE:CPU' },
      { arn: instances[1].arn, reason: 'RESOURCE:CPU' },
    ]);
  });

  it('gives a static host port to one task per instance', () => {
    const result = placeTasks(
      [anInstance('a')],
      aRequest({ count: 2, hostPorts: [{ port: 8080, protocol: 'tcp' }] }),
    );
    expect(idsOf(result)).toEqual(['a']);
    expect(reasonsOf(result)).toEqual({ a: 'RESOURCE:PORTS' });
  });

  it('returns no placements and no failures for a cluster without instances', () => {
    expect(placeTasks([], aRequest({ count: 3 }))).toEqual({ placements: [], failures: [] });
  });
});

describe('placeTasks constraints', () => {
  it('keeps tasks on the members of a memberOf expression', () => {
    const instances = [
      anInstance('windows', { attributes: { 'ecs.os-type': 'windows' } }),
      anInstance('linux', { attributes: { 'ecs.os-type': 'linux' } }),
    ];
    const result = placeTasks(
      instances,
      aRequest({
        count: 2,
        constraints: [{ type: 'memberOf', expression: 'attribute:ecs.os-type == linux' }],
      }),
    );
    expect(idsOf(result)).toEqual(['linux', 'linux']);
    const none = placeTasks(
      instances,
      aRequest({ constraints: [{ type: 'memberOf', expression: 'attribute:ecs.os-type == plan9' }] }),
    );
    expect(reasonsOf(none)).toEqual({ windows: 'MemberOf', linux: 'MemberOf' });
  });

  it('lets task:group expressions see the tasks this call already placed', () => {
    const antiAffinity: PlacementConstraint = {
      type: 'memberOf',
      expression: 'not(task:group == family:web)',
    };
    const result = placeTasks(
      [anInstance('a'), anInstance('b'), anInstance('c', { taskGroups: ['family:web'] })],
      aRequest({ count: 3, constraints: [antiAffinity] }),
    );
    expect(idsOf(result)).toEqual(['a', 'b']);
    expect(reasonsOf(result)).toEqual({ a: 'MemberOf', b: 'MemberOf', c: 'MemberOf' });
  });

  it('puts each task of the group on a different instance with distinctInstance', () => {
    const instances = [
      anInstance('a'),
      anInstance('b', { taskGroups: ['family:web'] }),
      anInstance('c', { taskGroups: ['family:api'] }),
      anInstance('d'),
    ];
    const result = placeTasks(instances, aRequest({ count: 4, constraints: [{ type: 'distinctInstance' }] }));
    expect(idsOf(result).sort()).toEqual(['a', 'c', 'd']);
    expect(reasonsOf(result)).toEqual({
      a: 'DistinctInstance',
      b: 'DistinctInstance',
      c: 'DistinctInstance',
      d: 'DistinctInstance',
    });
  });

  it('reports the constraint listed first when several exclude an instance', () => {
    const instances = [anInstance('a', { taskGroups: ['family:web'] })];
    const memberOf: PlacementConstraint = { type: 'memberOf', expression: 'runningTasksCount > 5' };
    const distinct: PlacementConstraint = { type: 'distinctInstance' };
    expect(reasonsOf(placeTasks(instances, aRequest({ constraints: [memberOf, distinct] })))).toEqual({
      a: 'MemberOf',
    });
    expect(reasonsOf(placeTasks(instances, aRequest({ constraints: [distinct, memberOf] })))).toEqual({
      a: 'DistinctInstance',
    });
  });
});

describe('placeTasks strategies', () => {
  const spreadByInstance: PlacementStrategy = { type: 'spread', field: 'instanceId' };

  it('picks among all candidates with the RNG alone under random', () => {
    const instances = [anInstance('a'), anInstance('b'), anInstance('c')];
    const strategies: PlacementStrategy[] = [{ type: 'random' }];
    expect(idsOf(placeTasks(instances, aRequest({ strategies, random: () => 0 })))).toEqual(['a']);
    expect(idsOf(placeTasks(instances, aRequest({ strategies, random: () => 0.5 })))).toEqual(['b']);
    expect(idsOf(placeTasks(instances, aRequest({ strategies: [], random: () => 0.99 })))).toEqual(['c']);
  });

  it('fills the instance with the least CPU left under binpack on cpu', () => {
    const instances = [
      anInstance('roomy', { remainingCpu: 4096 }),
      anInstance('snug', { remainingCpu: 600 }),
      anInstance('too-full', { remainingCpu: 100 }),
    ];
    const result = placeTasks(
      instances,
      aRequest({ count: 3, strategies: [{ type: 'binpack', field: 'cpu' }] }),
    );
    expect(idsOf(result)).toEqual(['snug', 'snug', 'roomy']);
  });

  it('fills the instance with the least memory left under binpack on memory', () => {
    const instances = [
      anInstance('roomy', { remainingMemoryMiB: 8192, remainingCpu: 100_000 }),
      anInstance('snug', { remainingMemoryMiB: 1024, remainingCpu: 100_000 }),
    ];
    const result = placeTasks(
      instances,
      aRequest({ count: 3, strategies: [{ type: 'binpack', field: 'memory' }] }),
    );
    expect(idsOf(result)).toEqual(['snug', 'snug', 'roomy']);
  });

  it('spreads over instances by counting only the tasks of the same group', () => {
    const instances = [
      anInstance('a', { taskGroups: ['family:web'] }),
      anInstance('b', { taskGroups: ['family:api', 'family:api', 'family:api'] }),
      anInstance('c'),
    ];
    const result = placeTasks(instances, aRequest({ count: 5, strategies: [spreadByInstance] }));
    expect(countsOf(idsOf(result))).toEqual({ a: 1, b: 2, c: 2 });
    expect(
      idsOf(placeTasks(instances, aRequest({ strategies: [{ type: 'spread', field: 'host' }] }))),
    ).toEqual(['b']);
  });

  it('spreads over the values of an attribute, counting the group across the whole cluster', () => {
    const instances = [
      anInstance('a1', { attributes: { zone: 'a' }, taskGroups: ['family:web'] }),
      anInstance('a2', { attributes: { zone: 'a' }, status: 'DRAINING', taskGroups: ['family:web'] }),
      anInstance('b1', { attributes: { zone: 'b' }, taskGroups: ['family:web'] }),
      anInstance('c1', { attributes: { zone: 'c' } }),
      anInstance('none', { attributes: {} }),
    ];
    const result = placeTasks(
      instances,
      aRequest({ count: 5, strategies: [{ type: 'spread', field: 'attribute:zone' }] }),
    );
    expect(countsOf(idsOf(result))).toEqual({ c1: 2, none: 2, b1: 1 });
  });

  it('breaks the ties of one strategy with the next', () => {
    const instances = [
      anInstance('a-roomy', { attributes: { zone: 'a' }, remainingMemoryMiB: 8192 }),
      anInstance('a-snug', { attributes: { zone: 'a' }, remainingMemoryMiB: 1024 }),
      anInstance('b-roomy', { attributes: { zone: 'b' }, remainingMemoryMiB: 4096 }),
      anInstance('b-snug', { attributes: { zone: 'b' }, remainingMemoryMiB: 2048 }),
    ];
    const strategies: PlacementStrategy[] = [
      { type: 'spread', field: 'attribute:zone' },
      { type: 'binpack', field: 'memory' },
    ];
    expect(idsOf(placeTasks(instances, aRequest({ count: 4, strategies })))).toEqual([
      'a-snug',
      'b-snug',
      'a-snug',
      'b-snug',
    ]);
  });

  it('ignores the strategies after random, since random leaves no ties', () => {
    const instances = [anInstance('roomy'), anInstance('snug', { remainingCpu: 512 })];
    const strategies: PlacementStrategy[] = [{ type: 'random' }, { type: 'binpack', field: 'cpu' }];
    expect(idsOf(placeTasks(instances, aRequest({ strategies, random: () => 0 })))).toEqual(['roomy']);
  });

  it('breaks the ties the strategies leave with the RNG', () => {
    const instances = [anInstance('a'), anInstance('b'), anInstance('c', { taskGroups: ['family:web'] })];
    const result = placeTasks(instances, aRequest({ strategies: [spreadByInstance], random: () => 0.75 }));
    expect(idsOf(result)).toEqual(['b']);
  });
});

describe('validatePlacement', () => {
  function rejection(strategies: PlacementStrategy[], constraints: PlacementConstraint[] = []): string {
    try {
      validatePlacement(strategies, constraints);
    } catch (error) {
      expect(error).toBeInstanceOf(EcsError);
      expect((error as EcsError).errorName).toBe('InvalidParameterException');
      return (error as EcsError).message;
    }
    throw new Error('expected the placement to be rejected');
  }
  const strategy = (type: string, field?: string) => ({ type, field }) as PlacementStrategy;
  const constraint = (type: string, expression?: string) => ({ type, expression }) as PlacementConstraint;

  it('compiles what ECS accepts', () => {
    const compiled = validatePlacement(
      [
        strategy('spread', 'attribute:ecs.availability-zone'),
        strategy('binpack', 'MEMORY'),
        strategy('random'),
      ],
      [constraint('distinctInstance'), constraint('memberOf', 'task:group == db')],
    );
    expect(compiled.strategies).toEqual([
      { kind: 'spreadAttribute', attributeName: 'ecs.availability-zone' },
      { kind: 'binpack', resource: 'memory' },
      { kind: 'random' },
    ]);
    expect(compiled.constraints.map((c) => c.kind)).toEqual(['distinctInstance', 'memberOf']);
  });

  it.each([
    [[strategy('pack')], [], "placementStrategy[0].type: must be random, spread or binpack, not 'pack'"],
    [
      [strategy('random'), strategy('binpack', 'disk')],
      [],
      "placementStrategy[1].field: binpack needs the field cpu or memory, not 'disk'",
    ],
    [[strategy('binpack')], [], "placementStrategy[0].field: binpack needs the field cpu or memory, not ''"],
    [
      [strategy('spread', 'zone')],
      [],
      'placementStrategy[0].field: spread needs the field instanceId, host or attribute:<name>',
    ],
    [[strategy('spread', 'attribute:')], [], 'placementStrategy[0].field: spread needs the field'],
    [
      Array.from({ length: 6 }, () => strategy('random')),
      [],
      'placementStrategy: at most 5 strategies are allowed, got 6',
    ],
    [
      [],
      [constraint('sameInstance')],
      "placementConstraints[0].type: must be distinctInstance or memberOf, not 'sameInstance'",
    ],
    [
      [],
      [constraint('distinctInstance'), constraint('memberOf')],
      'placementConstraints[1].expression: memberOf needs an expression',
    ],
    [
      [],
      [constraint('distinctInstance', 'task:group == a')],
      'placementConstraints[0].expression: distinctInstance takes no expression',
    ],
    [
      [],
      [constraint('memberOf', 'zone == a')],
      "placementConstraints[0].expression: unknown subject 'zone' at position 0",
    ],
    [
      [],
      Array.from({ length: 11 }, () => constraint('distinctInstance')),
      'placementConstraints: at most 10 constraints are allowed, got 11',
    ],
  ])('rejects %j %j with %j', (strategies, constraints, message) => {
    expect(rejection(strategies, constraints)).toContain(message);
  });

  it('is applied by placeTasks before anything is placed', () => {
    expect(() =>
      placeTasks([anInstance('a')], aRequest({ strategies: [strategy('binpack', 'gpu')] })),
    ).toThrow('placementStrategy[0].field');
  });
});
