/**
 * api: DescribeTasks and ListTasks latency under a steady 500 requests/s from a second process,
 * with 10,000 tasks in the database. Reference, in the same run and under the same load: the same
 * server's GET /health, i.e. the floor of HTTP + Hono on this machine.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type TaskRow, tasks } from '../../db/schema';
import { createTestKey, signedRequest, type TestCredentials } from '../../tests/helpers/credentials';
import { taskArn } from '../../worker/core/arn';
import { createCluster } from '../../worker/core/clusters/clusters';
import { randomHexId } from '../../worker/core/deps';
import { startControlPlane } from '../../worker/hosts/node/control-plane';
import { fmt, printTable, stats, writeResult } from '../report';
import { insertSyntheticInstances } from '../synthetic-instances';
import { UNLIMITED_KEYS } from '../unlimited-keys';

const TASKS = 10_000;
const RATE_PER_SECOND = 500;
const TARGET = 'AmazonEC2ContainerServiceV20141113';

async function seed(plane: Awaited<ReturnType<typeof startControlPlane>>) {
  const deps = plane.deps;
  const cluster = await createCluster(deps, { clusterName: 'bench' });
  const now = Date.now();
  const instanceArns = await insertSyntheticInstances(deps, cluster, 100, {
    cpu: 100_000,
    memoryMiB: 1_000_000,
  });
  const arns: string[] = [];
  const rows: TaskRow[] = [];
  for (let i = 0; i < TASKS; i++) {
    const id = randomHexId();
    const arn = taskArn(deps.config, 'bench', id);
    arns.push(arn);
    rows.push({
      arn,
      clusterArn: cluster.arn,
      containerInstanceArn: instanceArns[i % 100],
      taskDefinitionArn: 'arn:aws:ecs:us-east-1:000000000000:task-definition/bench:1',
      family: 'bench',
      revision: 1,
      networkMode: 'bridge',
      group: 'family:bench',
      startedBy: null,
      launchType: 'EC2',
      lastStatus: 'RUNNING',
      desiredStatus: 'RUNNING',
      generation: 1,
      reportSeq: 3,
      version: 3,
      cpu: 10,
      memoryMiB: 64,
      containersJson: JSON.stringify([
        {
          containerArn: `${arn}/c`,
          name: 'main',
          image: 'busybox',
          lastStatus: 'RUNNING',
          runtimeId: randomHexId() + randomHexId(),
          networkBindings: [],
          spec: {
            name: 'main',
            image: 'busybox',
            essential: true,
            environment: [],
            portMappings: [],
            dependsOn: [],
          },
        },
      ]),
      overridesJson: '{"containerOverrides":[]}',
      tagsJson: '[]',
      stopCode: null,
      stoppedReason: null,
      createdAtMs: now + i,
      startedAtMs: now + i,
      pullStartedAtMs: null,
      pullStoppedAtMs: null,
      stoppingAtMs: null,
      stoppedAtMs: null,
      executionStoppedAtMs: null,
      clientToken: null,
      enableExecuteCommand: false,
    });
  }
  for (let i = 0; i < rows.length; i += 200) await deps.db.insert(tasks).values(rows.slice(i, i + 200));
  return arns;
}

/** A planned call, signed now (a signature holds for 5 minutes, longer than a run). */
async function ecsCall(
  url: string,
  credentials: TestCredentials,
  name: string,
  action: string,
  body: unknown,
) {
  const text = JSON.stringify(body);
  const signed = await signedRequest(
    `${url}/`,
    {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-amz-json-1.1', 'X-Amz-Target': `${TARGET}.${action}` },
      body: text,
    },
    credentials,
  );
  return { name, method: 'POST', path: '/', headers: Object.fromEntries(signed.headers), body: text };
}

export async function runApiBenchmark(options: { durationMs?: number } = {}) {
  const durationMs = options.durationMs ?? 10_000;
  const dataDir = mkdtempSync(join(tmpdir(), 'berth-bench-api-'));
  const plane = await startControlPlane({
    database: { dataDir },
    port: 0,
    log: () => {},
    config: UNLIMITED_KEYS,
  });
  try {
    const arns = await seed(plane);
    const sample = (n: number) =>
      Array.from({ length: n }, () => arns[Math.floor(Math.random() * arns.length)]);
    // Interleaved so both calls and the reference share the same moments of load.
    const plan = [];
    const credentials = await createTestKey(plane.deps, plane.serverKey, 'admin', 'bench');
    const call = (name: string, action: string, body: unknown) =>
      ecsCall(plane.url, credentials, name, action, body);
    for (let i = 0; i < 50; i++) {
      plan.push(await call('DescribeTasks', 'DescribeTasks', { cluster: 'bench', tasks: sample(10) }));
      plan.push(await call('ListTasks', 'ListTasks', { cluster: 'bench', maxResults: 100 }));
      plan.push({ name: 'GET /health (reference)', method: 'GET', path: '/health', headers: {} });
    }
    // The load comes from a second process, so the server's event loop is not shared with the client's.
    const planFile = join(dataDir, 'plan.json');
    writeFileSync(planFile, JSON.stringify(plan));
    const { stdout: output } = await promisify(execFile)(
      process.execPath,
      [
        '--import',
        'tsx',
        join(process.cwd(), 'bench', 'load-generator.ts'),
        plane.url,
        String(RATE_PER_SECOND),
        String(durationMs),
        planFile,
      ],
      { maxBuffer: 256 * 1024 * 1024 },
    );
    const result = JSON.parse(output) as {
      sent: number;
      errors: number;
      latencies: Record<string, number[]>;
    };
    const summary = Object.fromEntries(Object.entries(result.latencies).map(([k, v]) => [k, stats(v)]));
    printTable(`api: ${RATE_PER_SECOND} req/s for ${durationMs / 1000} s, ${TASKS} tasks in the database`, [
      ...Object.entries(summary).map(([name, s]) => ({
        metric: name,
        value: `p50 ${fmt(s.median, 2)} ms`,
        reference: name.includes('reference') ? 'floor' : 'target p99 < 20 ms',
        note: `p99 ${fmt(s.p99, 2)} ms, n=${s.count}`,
      })),
      { metric: 'errors', value: String(result.errors), note: `of ${result.sent} requests` },
    ]);
    return writeResult('api', {
      ratePerSecond: RATE_PER_SECOND,
      durationMs,
      tasks: TASKS,
      sent: result.sent,
      errors: result.errors,
      summary,
      samples: result.latencies,
    });
  } finally {
    await plane.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
