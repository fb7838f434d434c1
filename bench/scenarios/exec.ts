/**
 * exec: a non-interactive `true` through Berth (the signed Berth API → control plane → the agent's
 * link → Docker exec → the exit code back) against `docker exec` of the same container through the
 * same engine (dockerode: create, start, read to the end, inspect), interleaved A B A B; target:
 * median ratio at most 1.3. Then the throughput of a large output (100 MiB of stdout) both ways;
 * target: Berth at least 0.5 × Docker's MB/s.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import {
  CreateClusterCommand,
  DescribeTasksCommand,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  StopTaskCommand,
} from '@aws-sdk/client-ecs';
import Docker from 'dockerode';
import { spawnAgent } from '../../tests/helpers/agent-process';
import { ecsClientFor } from '../../tests/helpers/control-plane';
import { createTestKey, signedFetch } from '../../tests/helpers/credentials';
import { waitForConnectedInstance } from '../../tests/helpers/ecs-queries';
import { waitFor } from '../../tests/helpers/wait';
import { mintJoinToken } from '../../worker/core/join-tokens/join-tokens';
import { RECORD_TYPES, readRecords } from '../../worker/core/streams/record-stream';
import { startControlPlane } from '../../worker/hosts/node/control-plane';
import { fmt, printTable, stats, writeResult } from '../report';
import { UNLIMITED_KEYS } from '../unlimited-keys';

const SAMPLES = 30;
const WARMUP = 3;
const LARGE_BYTES = 100 * 1024 * 1024;
const THROUGHPUT_RUNS = 3;
const IMAGE = 'berth-test/busybox:latest';

export async function runExecBenchmark(options: { samples?: number } = {}) {
  const samples = options.samples ?? SAMPLES;
  const docker = new Docker();
  const dataDir = mkdtempSync(join(tmpdir(), 'berth-bench-exec-'));
  const plane = await startControlPlane({
    database: { dataDir },
    port: 0,
    log: () => {},
    config: UNLIMITED_KEYS,
  });
  const credentials = await createTestKey(plane.deps, plane.serverKey, 'admin', 'bench');
  const ecs = ecsClientFor(plane.url, credentials);
  const cluster = 'bench-exec';
  await ecs.send(new CreateClusterCommand({ clusterName: cluster }));
  const agent = spawnAgent({
    endpoint: plane.url,
    cluster,
    joinToken: await mintJoinToken(plane.deps, cluster),
  });
  let taskArn: string | undefined;
  try {
    await waitForConnectedInstance(ecs, cluster, () => agent.output());
    const definition = await ecs.send(
      new RegisterTaskDefinitionCommand({
        family: 'bench-exec',
        containerDefinitions: [
          { name: 'app', image: IMAGE, memory: 64, stopTimeout: 1, command: ['sleep', '3600'] },
        ],
      }),
    );
    const run = await ecs.send(
      new RunTaskCommand({
        cluster,
        taskDefinition: definition.taskDefinition!.taskDefinitionArn,
        enableExecuteCommand: true,
      }),
    );
    taskArn = run.tasks![0]!.taskArn!;
    const containerId = await waitFor(
      'the task to run',
      async () => {
        const task = (await ecs.send(new DescribeTasksCommand({ cluster, tasks: [taskArn!] }))).tasks?.[0];
        return task?.lastStatus === 'RUNNING' ? task.containers![0]!.runtimeId : undefined;
      },
      60_000,
    );
    const container = docker.getContainer(containerId);

    /** Berth: the whole exec, to the end record; returns stdout bytes and the exit code. */
    const berthExec = async (command: string[]) => {
      const response = await signedFetch(
        `${plane.url}/berth/v1/clusters/${cluster}/tasks/${encodeURIComponent(taskArn!)}/exec`,
        {
          method: 'POST',
          body: JSON.stringify({ command }),
          headers: { 'content-type': 'application/json' },
        },
        credentials,
      );
      let bytes = 0;
      let exitCode: number | undefined;
      await readRecords(response.body!, (type, payload) => {
        if (type === RECORD_TYPES.stdout) bytes += payload.length;
        else if (type === RECORD_TYPES.end) exitCode = JSON.parse(new TextDecoder().decode(payload)).exitCode;
      });
      if (exitCode !== 0) throw new Error(`berth exec ended with ${exitCode}`);
      return bytes;
    };
    /** docker exec through the engine's API: create, start, read to the end, inspect the exit code. */
    const dockerExec = async (command: string[]) => {
      const exec = await container.exec({ Cmd: command, AttachStdout: true, AttachStderr: true });
      const stream = (await exec.start({ hijack: true, stdin: false })) as unknown as Duplex;
      let bytes = 0;
      await new Promise<void>((resolve, reject) => {
        stream.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
        });
        stream.on('end', () => resolve());
        stream.on('error', reject);
      });
      const info = await exec.inspect();
      if (info.ExitCode !== 0) throw new Error(`docker exec ended with ${info.ExitCode}`);
      return bytes;
    };
    const timed = async (run: () => Promise<unknown>) => {
      const t0 = performance.now();
      await run();
      return performance.now() - t0;
    };

    for (let i = 0; i < WARMUP; i++) {
      await berthExec(['true']);
      await dockerExec(['true']);
    }
    const berth: number[] = [];
    const reference: number[] = [];
    for (let i = 0; i < samples; i++) {
      berth.push(await timed(() => berthExec(['true'])));
      reference.push(await timed(() => dockerExec(['true'])));
    }
    const large = ['head', '-c', String(LARGE_BYTES), '/dev/zero'];
    const berthMBps: number[] = [];
    const dockerMBps: number[] = [];
    for (let i = 0; i < THROUGHPUT_RUNS; i++) {
      const b0 = performance.now();
      const bBytes = await berthExec(large);
      berthMBps.push(bBytes / 1e6 / ((performance.now() - b0) / 1000));
      const d0 = performance.now();
      // Docker's stream carries an 8-byte header per frame: count payload only, as Berth's does.
      const dBytes = await dockerExec(large);
      dockerMBps.push(Math.min(dBytes, LARGE_BYTES) / 1e6 / ((performance.now() - d0) / 1000));
    }
    const b = stats(berth);
    const d = stats(reference);
    const ratio = b.median / d.median;
    const bt = stats(berthMBps);
    const dt = stats(dockerMBps);
    const throughputRatio = bt.median / dt.median;
    printTable(
      `exec: non-interactive \`true\`, ${samples} interleaved samples; 100 MiB output x${THROUGHPUT_RUNS}`,
      [
        {
          metric: 'Berth exec `true` (API → agent → exit code)',
          value: `${fmt(b.median)} ms`,
          note: `p99 ${fmt(b.p99)} ms`,
        },
        {
          metric: 'docker exec `true` (engine API)',
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
        { metric: 'Berth exec throughput', value: `${fmt(bt.median)} MB/s` },
        { metric: 'docker exec throughput', value: `${fmt(dt.median)} MB/s`, reference: 'reference' },
        {
          metric: 'throughput ratio',
          value: fmt(throughputRatio, 2),
          reference: 'target >= 0.5',
          note: throughputRatio >= 0.5 ? 'target met' : 'target NOT met',
        },
      ],
    );
    return writeResult('exec', {
      samples,
      berthMs: berth,
      dockerMs: reference,
      berth: b,
      docker: d,
      medianRatio: ratio,
      berthMBps,
      dockerMBps,
      throughputRatio,
    });
  } finally {
    if (taskArn) await ecs.send(new StopTaskCommand({ cluster, task: taskArn })).catch(() => undefined);
    await agent.kill();
    if (taskArn) {
      const containers = await docker.listContainers({
        all: true,
        filters: { label: [`com.berth.task-arn=${taskArn}`] },
      });
      for (const c of containers)
        await docker
          .getContainer(c.Id)
          .remove({ force: true })
          .catch(() => undefined);
    }
    ecs.destroy();
    await plane.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
