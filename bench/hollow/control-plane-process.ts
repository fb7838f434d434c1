/**
 * The control plane as its own process (`berth server`), so its memory and CPU can be read apart
 * from the load generators, plus the ECS JSON calls a benchmark needs to set a cluster up.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mintJoinTokenLocally } from '../../cli/local-database';
import { credentialsFileKey, signedRequest, type TestCredentials } from '../../tests/helpers/credentials';
import { freePort } from '../../tests/helpers/server-process';
import { waitFor } from '../../tests/helpers/wait';
import { UNLIMITED_KEYS_ENV } from '../unlimited-keys';

const BERTH_BIN = new URL('../../bin/berth.mjs', import.meta.url).pathname;
const TARGET_PREFIX = 'AmazonEC2ContainerServiceV20141113';
/** Above the 10,000 agent sockets of fanin, under the hard limit of these machines (20,000). */
export const OPEN_FILES_LIMIT = 16_384;

/** One argument quoted for `sh -c`. */
export const shellQuote = (arg: string) => `'${arg.replaceAll("'", "'\\''")}'`;

/** Where a bench sends ECS calls, and the key it signs them with. */
export interface EcsTarget {
  url: string;
  credentials: TestCredentials;
}

export interface ControlPlaneProcess extends EcsTarget {
  pid: number;
  dataDir: string;
  /** SIGTERM (a clean exit, which also writes a --cpu-prof profile), then removes the data dir. */
  stop(): Promise<void>;
}

export interface ControlPlaneProcessOptions {
  env?: Record<string, string>;
  /** Extra Node flags for the server, e.g. ['--cpu-prof', '--cpu-prof-dir=/tmp/p']. */
  nodeFlags?: string[];
}

export async function spawnControlPlane(
  options: ControlPlaneProcessOptions = {},
): Promise<ControlPlaneProcess> {
  const dataDir = mkdtempSync(join(tmpdir(), 'berth-bench-plane-'));
  const port = await freePort();
  const command = [process.execPath, ...(options.nodeFlags ?? []), BERTH_BIN, 'server']
    .concat(['--port', String(port), '--data-dir', dataDir])
    .map(shellQuote)
    .join(' ');
  // `exec` keeps the pid: the one we read /proc of is the server itself, not the shell.
  const child: ChildProcess = spawn('sh', ['-c', `ulimit -n ${OPEN_FILES_LIMIT} && exec ${command}`], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      // A benchmark registers its whole simulated fleet with one join token in a burst: lift the
      // per-token registration rate that protects a real deployment from a leaked token.
      BERTH_REGISTRATIONS_PER_TOKEN_PER_MINUTE: '1000000',
      ...UNLIMITED_KEYS_ENV,
      ...options.env,
    },
  });
  let output = '';
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const url = `http://127.0.0.1:${port}`;
  await waitFor(
    `the control plane at ${url} to answer`,
    async () => {
      if (child.exitCode !== null) throw new Error(`server exited: ${output}`);
      return (await fetch(`${url}/health`).catch(() => undefined))?.ok;
    },
    30_000,
  );
  return {
    url,
    // The admin key `berth server` wrote on its first start, as a user would find it.
    credentials: await credentialsFileKey(dataDir),
    pid: child.pid!,
    dataDir,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        await new Promise<void>((resolve) => {
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
        });
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A join token minted straight in the server's database, as `berth join-token --data-dir` does. */
export function mintToken(plane: ControlPlaneProcess, cluster: string): Promise<string> {
  return mintJoinTokenLocally({ dataDir: plane.dataDir }, cluster);
}

const keepAlive = new Agent({ keepAlive: true, maxSockets: 64 });

export interface EcsResponse {
  status: number;
  body: string;
}

/**
 * One signed ECS JSON 1.1 call over a keep-alive connection: raw HTTP, so the client costs little
 * CPU beyond the signature every real client computes too.
 */
export async function ecsCall(target: EcsTarget, action: string, input: unknown): Promise<EcsResponse> {
  const base = new URL(target.url);
  const payload = JSON.stringify(input);
  const signed = await signedRequest(
    `${target.url}/`,
    {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-amz-json-1.1', 'X-Amz-Target': `${TARGET_PREFIX}.${action}` },
      body: payload,
    },
    target.credentials,
  );
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: base.hostname,
        port: base.port,
        method: 'POST',
        path: '/',
        agent: keepAlive,
        headers: { ...Object.fromEntries(signed.headers), 'Content-Length': Buffer.byteLength(payload) },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** An ECS call that must succeed; throws with the server's answer otherwise. */
export async function ecsCallOk(target: EcsTarget, action: string, input: unknown): Promise<unknown> {
  const response = await ecsCall(target, action, input);
  if (response.status !== 200) throw new Error(`${action}: HTTP ${response.status}: ${response.body}`);
  return JSON.parse(response.body);
}
