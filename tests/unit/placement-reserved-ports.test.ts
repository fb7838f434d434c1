/**
 * Reserved host ports through the coordinator's ClusterView into placement: an instance's
 * `reservedPortsJson` is taken before any task runs, as ECS reserves 22, 2375, 2376, 51678 and 51679.
 */
import { describe, expect, it } from 'vitest';
import type { ContainerInstanceRow } from '../../db/schema';
import { ClusterView } from '../../worker/core/cluster/cluster-view';
import { type HostPort, placeTasks } from '../../worker/core/placement';
import { anInstanceRow as anInstanceRowBuilder } from '../helpers/builders';

const ECS_RESERVED_PORTS_JSON = '[22,2375,2376,51678,51679]';

const anInstanceRow = (id: string, reservedPortsJson: string) =>
  anInstanceRowBuilder(id, { reservedPortsJson });

function placeOn(rows: ContainerInstanceRow[], hostPorts: HostPort[]) {
  const view = new ClusterView();
  for (const row of rows) view.upsertInstance(row);
  const result = placeTasks(view.placementInstances(), {
    count: 1,
    cpu: 128,
    memoryMiB: 64,
    hostPorts,
    group: 'family:web',
    strategies: [],
    constraints: [],
    random: () => 0,
  });
  return {
    placedOn: result.placements.map((placement) => placement.instanceArn.split('/').pop()),
    failures: result.failures.map((failure) => [failure.arn.split('/').pop(), failure.reason]),
  };
}

describe('placement and reserved host ports', () => {
  it('refuses a static host port the instance reserves with RESOURCE:PORTS', () => {
    const result = placeOn(
      [anInstanceRow('ecs-defaults', ECS_RESERVED_PORTS_JSON)],
      [{ port: 2375, protocol: 'tcp' }],
    );
    expect(result).toEqual({ placedOn: [], failures: [['ecs-defaults', 'RESOURCE:PORTS']] });
  });

  it('places the task on an instance that does not reserve the port', () => {
    const result = placeOn(
      [anInstanceRow('ecs-defaults', ECS_RESERVED_PORTS_JSON), anInstanceRow('ssh-only', '[22]')],
      [{ port: 2375, protocol: 'tcp' }],
    );
    expect(result.placedOn).toEqual(['ssh-only']);
  });

  it('reserves the port under udp as well, since the list names ports and not services', () => {
    const result = placeOn([anInstanceRow('dns', '[53]')], [{ port: 53, protocol: 'udp' }]);
    expect(result.failures).toEqual([['dns', 'RESOURCE:PORTS']]);
  });

  it('lets tasks with only dynamic host ports onto an instance with reserved ports', () => {
    expect(placeOn([anInstanceRow('ecs-defaults', ECS_RESERVED_PORTS_JSON)], []).placedOn).toEqual([
      'ecs-defaults',
    ]);
  });

  it('lets an agent reserve nothing at all', () => {
    const result = placeOn([anInstanceRow('open', '[]')], [{ port: 2375, protocol: 'tcp' }]);
    expect(result.placedOn).toEqual(['open']);
  });

  it("falls back to ECS's reserved ports when the stored list is unreadable, rather than to none", () => {
    for (const unreadable of ['not json', '{"ports":[]}', '[22, "2375"]', '[0]']) {
      const result = placeOn([anInstanceRow('corrupt', unreadable)], [{ port: 2375, protocol: 'tcp' }]);
      expect(result.failures).toEqual([['corrupt', 'RESOURCE:PORTS']]);
    }
  });
});
