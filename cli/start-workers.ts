/**
 * `npm run start:workers`: the same local Berth as `npm start`, but the control plane runs in
 * workerd (Miniflare) exactly as it runs on Cloudflare: the bundle `wrangler deploy` would upload,
 * a Durable Object per cluster, and libSQL over HTTP, served here from a local file. Node does what
 * a deployment does from outside the Worker: it applies migrations, creates cluster `default`,
 * mints the local agent's join token, and runs the agent.
 *
 * `startWorkersControlPlane` is also what the tests use (tests/helpers/workers-runtime.ts).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { Miniflare } from 'miniflare';
import { startLibsqlHttpServer } from '../db/libsql-http/server';
import { openDatabase } from '../db/node-database';
import { createCluster } from '../worker/core/clusters/clusters';
import { type CoreDeps, randomHexId } from '../worker/core/deps';
import { isValidJoinToken, mintJoinToken } from '../worker/core/join-tokens/join-tokens';
import { bootstrapAdminKey, resolveServerKey } from '../worker/hosts/node/local-secrets';
import { configFromVars, type WorkersVars } from '../worker/hosts/workers/workers-deps';
import { printRunningBanner, stopOnSignals } from './local-berth-banner';

const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const WRANGLER_CONFIG = join(PROJECT_ROOT, 'wrangler.toml');
export const DEFAULT_WORKERS_PORT = 8787;

export interface WorkersControlPlaneOptions {
  /** Holds the libSQL file (berth.db) and the Durable Objects' own storage. */
  dataDir: string;
  host?: string;
  /** 0 picks a free port; a restart keeps the port it got. */
  port?: number;
  /** The Worker's vars; unset ones come from wrangler.toml. */
  vars?: Partial<
    Pick<
      WorkersVars,
      | 'BERTH_REGION'
      | 'BERTH_ACCOUNT_ID'
      | 'BERTH_AGENT_GRACE_MS'
      | 'BERTH_HEARTBEAT_INTERVAL_MS'
      | 'BERTH_TASK_HEALTHY_AFTER_MS'
      | 'BERTH_INACTIVE_SERVICE_RETENTION_MS'
      | 'BERTH_SERVICE_THROTTLE_BASE_MS'
      | 'BERTH_API_RATE_PER_KEY'
      | 'BERTH_API_BURST_PER_KEY'
      | 'BERTH_EVENT_STREAMS_PER_KEY'
      | 'BERTH_EVENT_DELIVERY_RETRY_FOR_MS'
      | 'BERTH_EVENT_DELIVERY_FIRST_RETRY_MS'
      | 'BERTH_EVENT_DELIVERY_TIMEOUT_MS'
    >
  >;
  /** Every line the Worker logs (console.log in workerd); defaults to stdout. */
  onWorkerLog?: (line: string) => void;
}

export interface RunningWorkersControlPlane {
  url: string;
  port: number;
  /** The database as Node sees it, through the same libSQL HTTP server the Worker uses. */
  deps: CoreDeps;
  /** The key the Worker encrypts secrets with (its BERTH_SERVER_KEY binding). */
  serverKey: Uint8Array;
  /** Stops workerd and starts it again on the same port: every agent socket drops, storage stays. */
  restartWorker(): Promise<void>;
  close(): Promise<void>;
}

const execFileAsync = promisify(execFile);

/** Bundles the Worker with `wrangler deploy --dry-run`: what runs locally is byte for byte what would deploy. */
export async function bundleWorker(outDir: string): Promise<string> {
  const wranglerBin = join(
    dirname(createRequire(import.meta.url).resolve('wrangler/package.json')),
    'bin',
    'wrangler.js',
  );
  await execFileAsync(
    process.execPath,
    [wranglerBin, 'deploy', '--dry-run', '--outdir', outDir, '--config', WRANGLER_CONFIG],
    { cwd: PROJECT_ROOT, env: { ...process.env, WRANGLER_SEND_METRICS: 'false' } },
  );
  return join(outDir, 'index.js');
}

function forwardLines(stream: Readable, onLine: (line: string) => void): void {
  let pending = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    const lines = (pending + chunk).split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) if (line.trim()) onLine(line);
  });
}

export async function startWorkersControlPlane(
  options: WorkersControlPlaneOptions,
): Promise<RunningWorkersControlPlane> {
  const dataDir = resolve(options.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const onWorkerLog = options.onWorkerLog ?? ((line: string) => console.log(line));
  // A fresh token per start: the Worker reaches its database the way it would reach Turso, with a secret.
  const databaseToken = randomBytes(24).toString('hex');
  const database = await startLibsqlHttpServer({
    databasePath: join(dataDir, 'berth.db'),
    port: 0,
    host: '127.0.0.1',
    authToken: databaseToken,
  });
  const cleanups: (() => Promise<void> | void)[] = [() => database.close()];
  try {
    const opened = await openDatabase({ url: database.url, authToken: databaseToken, dataDir });
    cleanups.unshift(() => opened.close());

    const { unstable_getMiniflareWorkerOptions } = await import('wrangler');
    const { workerOptions } = unstable_getMiniflareWorkerOptions(WRANGLER_CONFIG);
    const vars = { ...(workerOptions.bindings as Record<string, string>), ...options.vars };
    // As on Node: BERTH_SERVER_KEY, else the data directory's server.key; handed to the Worker as its secret.
    const serverKey = resolveServerKey(dataDir, process.env);
    const deps: CoreDeps = {
      db: opened.db,
      config: configFromVars(vars as WorkersVars),
      now: Date.now,
      newId: randomHexId,
    };

    const bundleDir = mkdtempSync(join(tmpdir(), 'berth-worker-bundle-'));
    cleanups.push(() => rmSync(bundleDir, { recursive: true, force: true }));
    const scriptPath = await bundleWorker(bundleDir);

    const host = options.host ?? '127.0.0.1';
    let port = options.port ?? DEFAULT_WORKERS_PORT;
    const newMiniflare = () =>
      new Miniflare({
        ...workerOptions,
        name: 'berth',
        modules: true,
        scriptPath,
        modulesRoot: bundleDir,
        bindings: {
          ...vars,
          LIBSQL_URL: database.url,
          LIBSQL_AUTH_TOKEN: databaseToken,
          BERTH_SERVER_KEY: btoa(String.fromCharCode(...serverKey)),
        },
        host,
        port,
        durableObjectsPersist: join(dataDir, 'durable-objects'),
        handleRuntimeStdio(stdout: Readable, stderr: Readable) {
          forwardLines(stdout, onWorkerLog);
          forwardLines(stderr, onWorkerLog);
        },
      });
    let miniflare = newMiniflare();
    const url = await miniflare.ready;
    port = Number(url.port);
    const endpoint = `http://${host}:${port}`;

    return {
      url: endpoint,
      port,
      deps,
      serverKey,
      restartWorker: async () => {
        await miniflare.dispose();
        miniflare = newMiniflare();
        await miniflare.ready;
      },
      close: async () => {
        await miniflare.dispose();
        for (const cleanup of cleanups) await cleanup();
      },
    };
  } catch (error) {
    for (const cleanup of cleanups) await cleanup();
    throw error;
  }
}

async function localAgentToken(deps: CoreDeps, dataDir: string): Promise<string> {
  // The local agent keeps one token across restarts, stored beside the database.
  const tokenFile = join(dataDir, 'local-agent.token');
  const saved = existsSync(tokenFile) ? readFileSync(tokenFile, 'utf8').trim() : '';
  if (saved && (await isValidJoinToken(deps, 'default', saved))) return saved;
  const token = await mintJoinToken(deps, 'default');
  writeFileSync(tokenFile, `${token}\n`);
  chmodSync(tokenFile, 0o600);
  return token;
}

export async function startLocalBerthOnWorkers(settings: { host: string; port: number; dataDir: string }) {
  const plane = await startWorkersControlPlane({
    ...settings,
    onWorkerLog: (line) => console.log(`[worker] ${line}`),
  });
  const credentialsFile = await bootstrapAdminKey(plane.deps, plane.serverKey, settings.dataDir);
  await createCluster(plane.deps, { clusterName: 'default' });
  const { startAgent } = await import('../agent');
  const agent = await startAgent({
    endpoint: plane.url,
    cluster: 'default',
    joinToken: await localAgentToken(plane.deps, settings.dataDir),
    attributes: [],
    stateDir: join(settings.dataDir, 'agent'),
    log: (line) => console.log(`[agent] ${line}`),
  });

  printRunningBanner({
    title: 'Berth is running on the Workers runtime (workerd, via Miniflare).',
    endpoint: plane.url,
    cluster: 'default (one local agent, its coordinator a Durable Object)',
    data: `${join(settings.dataDir, 'berth.db')} (served over libSQL HTTP)`,
    credentialsFile: credentialsFile ?? resolve(settings.dataDir, 'credentials'),
  });
  stopOnSignals(agent, plane);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  startLocalBerthOnWorkers({
    host: process.env.HOST ?? '127.0.0.1',
    port: Number(process.env.PORT ?? DEFAULT_WORKERS_PORT),
    dataDir: resolve(process.env.BERTH_DATA_DIR ?? './.berth/workers'),
  }).catch((error: unknown) => {
    console.error(
      `berth start:workers: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
    );
    process.exit(1);
  });
}
