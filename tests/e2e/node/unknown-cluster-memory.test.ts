/**
 * Requests naming clusters that don't exist must leave nothing behind. The probe's attack: StopTask
 * with a unique, huge cluster name, in a loop; each call used to leave a coordinator keyed by the
 * name, and 3,155 one-MiB names exhausted the heap. Here a real `berth server` process takes 400
 * such calls (512 KiB names, 200 MiB in all) and its resident memory must not grow by anything
 * like what it was sent.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestKeyInDataDir, signedFetch, type TestCredentials } from '../../helpers/credentials';
import { rssMiB } from '../../helpers/process-probe';
import { freePort, type ServerProcess, spawnServer } from '../../helpers/server-process';

const TARGET = 'AmazonEC2ContainerServiceV20141113';
const CALLS = 400;
const NAME_BYTES = 512 * 1024;
const CONCURRENCY = 8;

let credentials: TestCredentials;

async function stopTaskIn(url: string, cluster: string) {
  const response = await signedFetch(
    url,
    {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-amz-json-1.1', 'X-Amz-Target': `${TARGET}.StopTask` },
      body: JSON.stringify({ cluster, task: 'x' }),
    },
    credentials,
  );
  return { status: response.status, body: (await response.json()) as { __type: string; message: string } };
}

describe('requests naming clusters that do not exist', () => {
  let dataDir: string;
  let server: ServerProcess;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'berth-unknown-clusters-'));
    credentials = await createTestKeyInDataDir(dataDir);
    // Every call must reach the cluster lookup: a throttled call would prove nothing about it.
    server = await spawnServer({ dataDir, port: await freePort(), env: { BERTH_API_RATE_PER_KEY: '0' } });
  });
  afterAll(async () => {
    await server?.kill();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('answers a huge cluster name with InvalidParameterException naming the field, without echoing it', async () => {
    const { status, body } = await stopTaskIn(server.url, 'Q'.repeat(NAME_BYTES));
    expect(status).toBe(400);
    expect(body.__type).toBe('InvalidParameterException');
    expect(body.message).toMatch(/^cluster: /);
    expect(body.message.length).toBeLessThan(300);
  });

  it('answers a well-formed unknown cluster with ClusterNotFoundException', async () => {
    const { status, body } = await stopTaskIn(server.url, 'no-such-cluster');
    expect(status).toBe(400);
    expect(body.__type).toBe('ClusterNotFoundException');
  });

  it('keeps its memory flat under a loop of unique huge and unknown cluster names', async () => {
    const pid = server.child.pid!;
    // Warm up the request path, so what is measured is retention, not first-use allocation.
    for (let i = 0; i < 20; i++) await stopTaskIn(server.url, `${i}${'W'.repeat(NAME_BYTES)}`);
    const beforeMiB = rssMiB(pid);
    let next = 0;
    const worker = async () => {
      while (next < CALLS) {
        const i = next++;
        // Every other call names a well-formed cluster that doesn't exist, the rest a huge name.
        const cluster = i % 2 === 0 ? `${i}${'Q'.repeat(NAME_BYTES)}` : `ghost-${i}-${'g'.repeat(200)}`;
        const { status } = await stopTaskIn(server.url, cluster);
        expect(status).toBe(400);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const afterMiB = rssMiB(pid);
    const sentMiB = (CALLS / 2) * (NAME_BYTES / 1024 / 1024);
    console.log(
      `unknown-cluster loop: RSS ${beforeMiB.toFixed(1)} -> ${afterMiB.toFixed(1)} MiB after ${sentMiB} MiB of names`,
    );
    // Retaining the names would add at least sentMiB; transient garbage stays far below it.
    expect(afterMiB - beforeMiB).toBeLessThan(sentMiB / 4);
  }, 120_000);
});
