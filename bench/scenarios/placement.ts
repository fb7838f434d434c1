/**
 * placement: tasks placed per second over 1,000 container instances, two ways in one run:
 * the placement decision alone (the pure function), and RunTask through a real coordinator with
 * its durable libSQL write (10 tasks per call). References are published scheduler figures.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../../db/node-database';
import { InMemoryAgentLinks } from '../../worker/core/cluster/agent-links';
import { ClusterCoordinator } from '../../worker/core/cluster/cluster-coordinator';
import { createCluster } from '../../worker/core/clusters/clusters';
import { DEFAULT_BERTH_CONFIG, randomHexId } from '../../worker/core/deps';
import type { PlacementInstance } from '../../worker/core/placement';
import { placeTasks } from '../../worker/core/placement';
import { registerTaskDefinition } from '../../worker/core/task-definitions/task-definitions';
import { fmt, printTable, stats, writeResult } from '../report';
import { insertSyntheticInstances } from '../synthetic-instances';

const INSTANCES = 1000;
const ZONES = ['a', 'b', 'c'];

function syntheticInstances(): PlacementInstance[] {
  return Array.from({ length: INSTANCES }, (_, i) => ({
    arn: `arn:aws:ecs:us-east-1:000000000000:container-instance/bench/${i}`,
    id: String(i),
    status: 'ACTIVE',
    agentConnected: true,
    agentVersion: '0.1.0',
    registeredAtMs: 0,
    attributes: { zone: ZONES[i % 3], 'ecs.os-type': 'linux' },
    remainingCpu: 4096,
    remainingMemoryMiB: 16384,
    usedHostPorts: [],
    runningTasksCount: 0,
    pendingTasksCount: 0,
    taskGroups: [],
  }));
}

const strategies = [
  { type: 'spread' as const, field: 'attribute:zone' },
  { type: 'binpack' as const, field: 'memory' },
];
const constraints = [{ type: 'memberOf' as const, expression: 'attribute:ecs.os-type == linux' }];

function decisionOnly(durationMs: number) {
  const instances = syntheticInstances();
  let placed = 0;
  const latencies: number[] = [];
  const start = performance.now();
  while (performance.now() - start < durationMs) {
    const t0 = performance.now();
    const result = placeTasks(instances, {
      count: 10,
      cpu: 1,
      memoryMiB: 1,
      hostPorts: [],
      group: 'family:bench',
      strategies,
      constraints,
      random: Math.random,
    });
    latencies.push(performance.now() - t0);
    placed += result.placements.length;
  }
  const seconds = (performance.now() - start) / 1000;
  return { tasksPerSecond: placed / seconds, callLatencyMs: stats(latencies) };
}

async function withDatabaseWrite(durationMs: number) {
  const dataDir = mkdtempSync(join(tmpdir(), 'berth-bench-'));
  const database = await openDatabase({ dataDir });
  const deps = { db: database.db, config: DEFAULT_BERTH_CONFIG, now: Date.now, newId: randomHexId };
  try {
    const cluster = await createCluster(deps, { clusterName: 'bench' });
    await insertSyntheticInstances(deps, cluster, INSTANCES, {
      cpu: 1_000_000,
      memoryMiB: 10_000_000,
      attributes: (i) => [
        { name: 'zone', value: ZONES[i % 3] },
        { name: 'ecs.os-type', value: 'linux' },
      ],
    });
    await registerTaskDefinition(deps, {
      family: 'bench',
      containerDefinitions: [{ name: 'main', image: 'busybox', memory: 8, cpu: 1 }],
    });
    const coordinator = new ClusterCoordinator(deps, 'bench', new InMemoryAgentLinks());
    let placed = 0;
    const latencies: number[] = [];
    const start = performance.now();
    while (performance.now() - start < durationMs) {
      const t0 = performance.now();
      const out = await coordinator.execute('runTask', {
        cluster: 'bench',
        taskDefinition: 'bench',
        count: 10,
        placementStrategy: strategies,
        placementConstraints: constraints,
      });
      latencies.push(performance.now() - t0);
      placed += out.tasks.length;
    }
    const seconds = (performance.now() - start) / 1000;
    return { tasksPerSecond: placed / seconds, callLatencyMs: stats(latencies) };
  } finally {
    database.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export async function runPlacementBenchmark(options: { durationMs?: number } = {}) {
  const durationMs = options.durationMs ?? 5000;
  const decision = decisionOnly(durationMs);
  const durable = await withDatabaseWrite(durationMs);
  printTable(
    `placement over ${INSTANCES} instances (spread zone + binpack memory + memberOf, 10 tasks per call)`,
    [
      {
        metric: 'decision only',
        value: `${fmt(decision.tasksPerSecond, 0)} tasks/s`,
        reference: 'k8s scheduler ~700-1,000 pods/s',
        note: `p50 ${fmt(decision.callLatencyMs.median, 2)} ms/call`,
      },
      {
        metric: 'RunTask incl. durable write',
        value: `${fmt(durable.tasksPerSecond, 0)} tasks/s`,
        reference: 'Nomad ~3,750 containers/s (5 servers)',
        note: `p50 ${fmt(durable.callLatencyMs.median, 2)} ms, p99 ${fmt(durable.callLatencyMs.p99, 2)} ms/call`,
      },
    ],
  );
  return writeResult('placement', { instances: INSTANCES, decision, durable });
}
