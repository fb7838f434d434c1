/**
 * A command context for running one cluster command in a test, without a room, a host or sockets:
 * a real libSQL file, a real ClusterView over the rows the test seeds, and recorders in place of
 * agent links. What a command sent and whom it disconnected is in `sent` and `disconnected`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@libsql/client';
import { type OpenDatabase, openDatabase } from '../../db/node-database';
import { type ContainerInstanceRow, containerInstances, type TaskRow, tasks } from '../../db/schema';
import type { ControlFrame } from '../../protocol';
import { ClusterView } from '../../worker/core/cluster/cluster-view';
import type { CommandContext } from '../../worker/core/cluster/command-context';
import { NamedDeadlines } from '../../worker/core/cluster/deadlines';
import { saveTaskState, saveTaskStates } from '../../worker/core/cluster/save-task';
import { createCluster } from '../../worker/core/clusters/clusters';
import { type CoreDeps, DEFAULT_BERTH_CONFIG, randomHexId } from '../../worker/core/deps';
import { TEST_NOW_MS } from './builders';

export interface TestCommandContext {
  ctx: CommandContext;
  deps: CoreDeps;
  /** The libSQL client under `deps.db`, for tests that watch what reaches the database. */
  client: Client;
  /** Frames sent to each instance's agent, in order. */
  sent: { instanceArn: string; frame: ControlFrame }[];
  disconnected: { instanceArn: string; code: number }[];
  /** Instances whose agents count as having a socket to the room. */
  linked: Set<string>;
  /** Wake-ups the deadlines asked for. */
  wakeUps: number[];
  clock: { nowMs: number };
  close(): void;
}

export async function createTestCommandContext(seed: {
  instances?: ContainerInstanceRow[];
  tasks?: TaskRow[];
}): Promise<TestCommandContext> {
  const dataDir = mkdtempSync(join(tmpdir(), 'berth-command-'));
  const database: OpenDatabase = await openDatabase({ dataDir });
  const clock = { nowMs: TEST_NOW_MS };
  const deps: CoreDeps = {
    db: database.db,
    config: DEFAULT_BERTH_CONFIG,
    now: () => clock.nowMs,
    newId: randomHexId,
  };
  const cluster = await createCluster(deps, { clusterName: 'default' });
  if (seed.instances?.length) await deps.db.insert(containerInstances).values(seed.instances);
  if (seed.tasks?.length) await deps.db.insert(tasks).values(seed.tasks);
  const view = await ClusterView.load(deps.db, cluster.arn);
  const sent: TestCommandContext['sent'] = [];
  const disconnected: TestCommandContext['disconnected'] = [];
  const linked = new Set<string>();
  const wakeUps: number[] = [];
  const deadlines = new NamedDeadlines(deps, () => cluster.arn, { wakeAt: (ms) => wakeUps.push(ms) });
  const ctx: CommandContext = {
    deps,
    cluster,
    view,
    deadlines,
    random: () => 0,
    loadedAtMs: TEST_NOW_MS,
    log: () => {},
    saveTask: (row, next) => saveTaskState(deps, view, row, next),
    saveTasks: (changes, alongside) => saveTaskStates(deps, view, changes, alongside),
    tasksCreated: (rows) => {
      for (const row of rows) view.trackTask(row);
    },
    eventsWritten: () => {},
    sendToInstance: (instanceArn, frame) => {
      if (instanceArn && linked.has(instanceArn)) sent.push({ instanceArn, frame });
    },
    agentLinked: (instanceArn) => linked.has(instanceArn),
    disconnectAgent: (instanceArn, code) => {
      if (linked.delete(instanceArn)) disconnected.push({ instanceArn, code });
    },
  };
  return {
    ctx,
    deps,
    client: database.client,
    sent,
    disconnected,
    linked,
    wakeUps,
    clock,
    close: () => {
      database.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
