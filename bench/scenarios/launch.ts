/**
 * launch: RunTask → RUNNING (as the agent reports it) for a one-container task with a local image,
 * against `docker create` + `start` of the same image through the same engine, interleaved A B A B.
 * Target: median ratio at most 1.3.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { createTestKey } from '../../tests/helpers/credentials';
import { mintJoinToken } from '../../worker/core/join-tokens/join-tokens';
import { startControlPlane } from '../../worker/hosts/node/control-plane';
import { LAUNCH_IMAGE, startLaunchRig } from '../launch-rig';
import { fmt, printTable, stats, writeResult } from '../report';
import { UNLIMITED_KEYS } from '../unlimited-keys';

const SAMPLES = 30;
const WARMUP = 3;
const BENCH_LABEL = 'com.berth.bench';

export async function runLaunchBenchmark(options: { samples?: number } = {}) {
  const samples = options.samples ?? SAMPLES;
  const docker = new Docker();
  const dataDir = mkdtempSync(join(tmpdir(), 'berth-bench-launch-'));
  const plane = await startControlPlane({
    database: { dataDir },
    port: 0,
    log: () => {},
    config: UNLIMITED_KEYS,
  });
  const rig = await startLaunchRig({
    endpoint: plane.url,
    cluster: 'bench',
    credentials: await createTestKey(plane.deps, plane.serverKey, 'admin', 'bench'),
    mintJoinToken: (cluster) => mintJoinToken(plane.deps, cluster),
  });
  const referenceIds: string[] = [];
  try {
    const dockerOnce = async () => {
      const t0 = performance.now();
      const container = await docker.createContainer({
        Image: LAUNCH_IMAGE,
        Cmd: ['sleep', '600'],
        Labels: { [BENCH_LABEL]: 'reference' },
        HostConfig: { Memory: 32 * 1024 * 1024 },
      });
      await container.start();
      const elapsed = performance.now() - t0;
      referenceIds.push(container.id);
      return elapsed;
    };
    for (let i = 0; i < WARMUP; i++) {
      await rig.launchOnce();
      await dockerOnce();
    }
    const berth: number[] = [];
    const reference: number[] = [];
    for (let i = 0; i < samples; i++) {
      berth.push(await rig.launchOnce());
      reference.push(await dockerOnce());
    }
    const b = stats(berth);
    const d = stats(reference);
    const ratio = b.median / d.median;
    printTable(`launch: one-container task, local image, ${samples} interleaved samples`, [
      { metric: 'Berth RunTask -> RUNNING', value: `${fmt(b.median)} ms`, note: `p99 ${fmt(b.p99)} ms` },
      {
        metric: 'docker create + start',
        value: `${fmt(d.median)} ms`,
        reference: 'reference',
        note: `p99 ${fmt(d.p99)} ms`,
      },
      {
        metric: 'median ratio',
        value: fmt(ratio, 2),
        reference: 'target <= 1.3',
        note: ratio <= 1.3 ? 'target met' : 'target NOT met',
      },
    ]);
    return writeResult('launch', {
      samples,
      berthMs: berth,
      dockerMs: reference,
      berth: b,
      docker: d,
      medianRatio: ratio,
    });
  } finally {
    await rig.close();
    await plane.close();
    for (const id of referenceIds)
      await docker
        .getContainer(id)
        .remove({ force: true })
        .catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
  }
}
