/**
 * launch: RunTask → RUNNING (as the agent reports it) for a one-container task with a local image,
 * against `docker create` + `start` of the same image through the same engine, interleaved A B A B.
 * Target: median ratio at most 1.3.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateClusterCommand,
  ECSClient,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
} from '@aws-sdk/client-ecs';
import Docker from 'dockerode';
import { CONTAINER_LABELS } from '../../protocol/agent-protocol';
import { spawnAgent } from '../../tests/helpers/agent-process';
import { mintJoinToken } from '../../worker/core/join-tokens/join-tokens';
import { startControlPlane } from '../../worker/node';
import { fmt, printTable, stats, writeResult } from '../report';
import { TaskEventsClient } from '../task-events-client';

const IMAGE = 'berth-test/busybox:latest';
const SAMPLES = 30;
const WARMUP = 3;
const BENCH_LABEL = 'com.berth.bench';

async function waitUntil(description: string, probe: () => Promise<boolean>, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${description}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function runLaunchBenchmark(options: { samples?: number } = {}) {
  const samples = options.samples ?? SAMPLES;
  const docker = new Docker();
  const dataDir = mkdtempSync(join(tmpdir(), 'berth-bench-launch-'));
  const plane = await startControlPlane({ database: { dataDir }, port: 0, log: () => {} });
  const ecs = new ECSClient({
    endpoint: plane.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
  });
  await ecs.send(new CreateClusterCommand({ clusterName: 'bench' }));
  const agent = spawnAgent({
    endpoint: plane.url,
    cluster: 'bench',
    joinToken: await mintJoinToken(plane.deps, 'bench'),
  });
  const events = await TaskEventsClient.connect(plane.url, 'bench');
  const referenceIds: string[] = [];
  try {
    await waitUntil(
      'the agent to connect',
      async () => (await plane.deps.db.query.containerInstances.findFirst()) !== undefined,
    );
    await ecs.send(
      new RegisterTaskDefinitionCommand({
        family: 'launch',
        containerDefinitions: [{ name: 'main', image: IMAGE, memory: 32, command: ['sleep', '600'] }],
      }),
    );

    const berthOnce = async () => {
      const t0 = performance.now();
      const out = await ecs.send(new RunTaskCommand({ cluster: 'bench', taskDefinition: 'launch' }));
      const arn = out.tasks![0].taskArn!;
      return (await events.waitFor(arn, 'RUNNING')) - t0;
    };
    const dockerOnce = async () => {
      const t0 = performance.now();
      const container = await docker.createContainer({
        Image: IMAGE,
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
      await berthOnce();
      await dockerOnce();
    }
    const berth: number[] = [];
    const reference: number[] = [];
    for (let i = 0; i < samples; i++) {
      berth.push(await berthOnce());
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
    events.close();
    await agent.kill();
    await plane.close();
    ecs.destroy();
    // Remove what the run created: the agent's task containers and the reference containers.
    const leftovers = await docker.listContainers({
      all: true,
      filters: { label: [CONTAINER_LABELS.cluster] },
    });
    for (const info of leftovers) {
      if (info.Labels[CONTAINER_LABELS.cluster] === 'bench')
        await docker.getContainer(info.Id).remove({ force: true });
    }
    for (const id of referenceIds)
      await docker
        .getContainer(id)
        .remove({ force: true })
        .catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
  }
}
