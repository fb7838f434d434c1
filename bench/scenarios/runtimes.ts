/**
 * runtimes: RunTask → RUNNING on the two control-plane runtimes side by side, the Node process and
 * the Workers runtime (workerd via Miniflare, a Durable Object per cluster, libSQL over HTTP), each
 * with its own real agent on the same Docker engine, interleaved A B A B.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startWorkersControlPlane } from '../../cli/start-workers';
import { createTestKey } from '../../tests/helpers/credentials';
import { mintJoinToken } from '../../worker/core/join-tokens/join-tokens';
import { startControlPlane } from '../../worker/hosts/node/control-plane';
import { startLaunchRig } from '../launch-rig';
import { fmt, printTable, stats, writeResult } from '../report';
import { UNLIMITED_KEYS, UNLIMITED_KEYS_ENV } from '../unlimited-keys';

export async function runRuntimesBenchmark(options: { samples?: number } = {}) {
  const samples = options.samples ?? 20;
  const nodeDir = mkdtempSync(join(tmpdir(), 'berth-bench-node-'));
  const workersDir = mkdtempSync(join(tmpdir(), 'berth-bench-workers-'));
  const node = await startControlPlane({
    database: { dataDir: nodeDir },
    port: 0,
    log: () => {},
    config: UNLIMITED_KEYS,
  });
  const workers = await startWorkersControlPlane({
    dataDir: workersDir,
    port: 0,
    onWorkerLog: () => {},
    vars: UNLIMITED_KEYS_ENV,
  });
  const nodeRig = await startLaunchRig({
    endpoint: node.url,
    cluster: 'bench-node',
    credentials: await createTestKey(node.deps, node.serverKey, 'admin', 'bench'),
    mintJoinToken: (c) => mintJoinToken(node.deps, c),
  });
  const workersRig = await startLaunchRig({
    endpoint: workers.url,
    cluster: 'bench-workers',
    credentials: await createTestKey(workers.deps, workers.serverKey, 'admin', 'bench'),
    mintJoinToken: (c) => mintJoinToken(workers.deps, c),
  });
  try {
    const onNode: number[] = [];
    const onWorkers: number[] = [];
    for (let i = 0; i < samples; i++) {
      onNode.push(await nodeRig.launchOnce());
      onWorkers.push(await workersRig.launchOnce());
    }
    const n = stats(onNode);
    const w = stats(onWorkers);
    printTable(`runtimes: RunTask -> RUNNING, ${samples} interleaved samples`, [
      {
        metric: 'Node (embedded)',
        value: `${fmt(n.median)} ms`,
        reference: 'reference',
        note: `p99 ${fmt(n.p99)} ms`,
      },
      { metric: 'Workers (workerd, local)', value: `${fmt(w.median)} ms`, note: `p99 ${fmt(w.p99)} ms` },
      { metric: 'median ratio Workers / Node', value: fmt(w.median / n.median, 2) },
    ]);
    return writeResult('runtimes', { samples, nodeMs: onNode, workersMs: onWorkers, node: n, workers: w });
  } finally {
    await nodeRig.close();
    await workersRig.close();
    await node.close();
    await workers.close();
    rmSync(nodeDir, { recursive: true, force: true });
    rmSync(workersDir, { recursive: true, force: true });
  }
}
