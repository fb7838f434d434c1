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
import { freePort } from '../../tests/helpers/server-process';
import { waitFor } from '../../tests/helpers/wait';

const BERTH_BIN = new URL('../../bin/berth.mjs', import.meta.url).pathname;
const TARGET_PREFIX = 'AmazonEC2ContainerServiceV20141113';
/** Above the 10,000 agent sockets of fanin, under the hard limit of these machines (20,000). */
export const OPEN_FILES_LIMIT = 16_384;

/** One argument quoted for `sh -c`. */
export const shellQuote = (arg: string) => `'${arg.replaceAll("'", "'\\''")}'`;

export interface ControlPlaneProcess {
  url: string;
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

/** One ECS JSON 1.1 call over a keep-alive connection: raw HTTP, so the client costs little CPU. */
export function ecsCall(url: string, action: string, input: unknown): Promise<EcsResponse> {
  const base = new URL(url);
  const payload = JSON.stringify(input);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: base.hostname,
        port: base.port,
        method: 'POST',
        path: '/',
        agent: keepAlive,
        headers: {
          'Content-Type': 'application/x-amz-json-1.1',
          'X-Amz-Target': `${TARGET_PREFIX}.${action}`,
          'Content-Length': Buffer.byteLength(payload),
        },
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
export async function ecsCallOk(url: string, action: string, input: unknown): Promise<unknown> {
  const response = await ecsCall(url, action, input);
  if (response.status !== 200) throw new Error(`${action}: HTTP ${response.status}: ${response.body}`);
  return JSON.parse(response.body);
}
