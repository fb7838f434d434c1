/**
 * scripts/ensure-docker.sh with DOCKER_HOST unset and nothing on the local socket must use an engine that is
 * running on a socket of its own, at once, instead of waiting on /var/run/docker.sock and failing.
 *
 * The engine is a private dockerd in pid, mount and network namespaces of its own, and the script runs inside
 * the same pid and mount namespaces: there it sees that dockerd alone, not the machine's shared engine nor the
 * private engines other test files start in parallel, so "the engine it found" can only be this one. The local
 * and rootless sockets the script probes are pointed at paths where nothing listens (the shared engine's socket
 * cannot be hidden otherwise, and other tests need it). The script runs as nobody, so even a regression cannot
 * make it install or start a dockerd beside the shared one: it would explain and exit 1 instead.
 */
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/wait';

const run = promisify(execFile);

const SCRIPT = new URL('../../scripts/ensure-docker.sh', import.meta.url).pathname;
// dockerd, containerd, nsenter and unshare live in the sbin directories, which some shells leave off PATH.
const SEARCH_PATH = `${process.env.PATH ?? ''}:/usr/sbin:/sbin:/usr/local/sbin`;
const NOBODY = '65534';
const ENGINE_READY_TIMEOUT_MS = 20_000;
// A found engine answers in milliseconds; the script's own probe timeout is 5 s, so this still catches a wait.
const FOUND_WITHIN_MS = 4_000;
// Never let a hung script hang the run.
const SCRIPT_KILL_AFTER_MS = 20_000;

interface NamespacedDockerd {
  readonly dir: string;
  readonly socketPath: string;
  /** dockerd's pid as the host sees it; inside its namespace it is 1. */
  readonly pid: number;
  readonly version: string;
  logTail(): string;
  stop(): Promise<void>;
}

const hasExited = (child: ChildProcess) => child.exitCode !== null || child.signalCode !== null;

function exitedWithin(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (hasExited(child)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/**
 * A dockerd as the namespace's init: when it exits, the kernel ends everything else in the namespace (its
 * containerd), and its mounts go with the mount namespace, so stopping it leaves only files in `dir`.
 */
async function startNamespacedDockerd(): Promise<NamespacedDockerd> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-ensure-docker-'));
  // nobody must reach the socket inside (and the script copy); everything else in here stays root's.
  chmodSync(dir, 0o711);
  const socketPath = join(dir, 'docker.sock');
  const logPath = join(dir, 'dockerd.log');
  // An empty config file, so the host's /etc/docker/daemon.json cannot change this engine.
  writeFileSync(join(dir, 'daemon.json'), '{}\n');
  const namespace = `berth-ensure-${dir.slice(-6)}`;
  const log = openSync(logPath, 'a');
  let unshare: ChildProcess;
  try {
    unshare = spawn(
      'unshare',
      [
        '--pid',
        '--fork',
        '--mount-proc',
        '--net',
        // If this test process dies, unshare is what is left; killing it then takes dockerd along.
        '--kill-child',
        '--',
        'dockerd',
        `--host=unix://${socketPath}`,
        `--group=${NOBODY}`,
        `--data-root=${join(dir, 'data')}`,
        `--exec-root=${join(dir, 'exec')}`,
        `--pidfile=${join(dir, 'docker.pid')}`,
        `--config-file=${join(dir, 'daemon.json')}`,
        // In a network namespace of its own these reach nothing of the host; no bridge keeps its start fast.
        '--bridge=none',
        '--iptables=false',
        '--ip-forward=false',
        '--ip-masq=false',
        `--containerd-namespace=${namespace}`,
        `--containerd-plugins-namespace=${namespace}-plugins`,
      ],
      { stdio: ['ignore', log, log], env: { ...process.env, PATH: SEARCH_PATH } },
    );
  } finally {
    closeSync(log);
  }
  const logTail = () =>
    existsSync(logPath) ? readFileSync(logPath, 'utf8').split('\n').slice(-15).join('\n') : '';
  const unsharePid = unshare.pid;
  if (unsharePid === undefined) throw new Error('unshare did not start');

  const stop = async () => {
    if (!hasExited(unshare)) {
      // dockerd is the only child of unshare; SIGTERM lets it shut down, SIGKILL ends the namespace regardless.
      const exited = exitedWithin(unshare, 10_000);
      const dockerdPid = childOf(unsharePid);
      if (dockerdPid !== undefined) process.kill(dockerdPid, 'SIGTERM');
      else unshare.kill('SIGKILL');
      if (!(await exited)) {
        unshare.kill('SIGKILL');
        await exitedWithin(unshare, 5_000);
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    const pid = await waitFor(
      'unshare to fork dockerd',
      () => {
        if (hasExited(unshare)) throw new Error(`unshare exited:\n${logTail()}`);
        return childOf(unsharePid);
      },
      5_000,
    );
    const docker = new Docker({ socketPath });
    await waitFor(
      `the namespaced dockerd in ${dir} to answer`,
      async () => {
        if (hasExited(unshare)) throw new Error(`dockerd exited:\n${logTail()}`);
        return (await docker.ping().catch(() => undefined)) !== undefined;
      },
      ENGINE_READY_TIMEOUT_MS,
    );
    const { Version } = await docker.version();
    return { dir, socketPath, pid, version: Version, logTail, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The one child of a process, from /proc (unshare --fork has exactly one). */
function childOf(pid: number): number | undefined {
  try {
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    const first = Number(children.split(' ')[0]);
    return children !== '' && Number.isInteger(first) ? first : undefined;
  } catch {
    return undefined;
  }
}

interface ScriptRun {
  stdout: string;
  stderr: string;
  elapsedMs: number;
}

describe('ensure-docker.sh with DOCKER_HOST unset and nothing on the local socket', () => {
  let engine: NamespacedDockerd;
  let script: string;
  let emptyDockerConfig: string;
  let nowhere: string;

  beforeAll(async () => {
    engine = await startNamespacedDockerd();
    // A copy nobody can read, wherever the repository is checked out.
    script = join(engine.dir, 'ensure-docker.sh');
    copyFileSync(SCRIPT, script);
    chmodSync(script, 0o644);
    // No current context, whatever the machine's ~/.docker says.
    emptyDockerConfig = join(engine.dir, 'docker-config-empty');
    mkdirSync(emptyDockerConfig, { mode: 0o755 });
    nowhere = join(engine.dir, 'nothing-listens-here');
  }, 30_000);

  afterAll(async () => {
    await engine?.stop();
  }, 30_000);

  /** Runs the script as nobody inside the engine's pid and mount namespaces, with only the given environment. */
  async function runScript(env: Record<string, string>): Promise<ScriptRun> {
    const started = Date.now();
    try {
      const { stdout, stderr } = await run(
        'nsenter',
        [
          `--target=${engine.pid}`,
          '--pid',
          '--mount',
          `--setuid=${NOBODY}`,
          `--setgid=${NOBODY}`,
          '--',
          'bash',
          script,
        ],
        {
          // Built from nothing: the test run's own DOCKER_HOST (run-tests.sh exports it) must not leak in.
          env: {
            PATH: SEARCH_PATH,
            HOME: nowhere,
            DOCKER_CONFIG: emptyDockerConfig,
            BERTH_DOCKER_LOCAL_SOCKET: join(nowhere, 'docker.sock'),
            BERTH_DOCKER_ROOTLESS_SOCKETS: join(nowhere, 'rootless.sock'),
            ...env,
          },
          timeout: SCRIPT_KILL_AFTER_MS,
          killSignal: 'SIGKILL',
        },
      );
      return { stdout, stderr, elapsedMs: Date.now() - started };
    } catch (error) {
      throw new Error(`ensure-docker.sh failed: ${String(error)}\ndockerd log:\n${engine.logTail()}`);
    }
  }

  const readyLine = () => `docker: engine ${engine.version} ready (unix://${engine.socketPath})\n`;

  it('finds the engine by the socket its running dockerd was given, and says so', async () => {
    const result = await runScript({});
    expect(result.stdout).toBe(readyLine());
    expect(result.stderr).toBe('ensure-docker: using the engine of the running dockerd (pid 1)\n');
    expect(result.elapsedMs).toBeLessThan(FOUND_WITHIN_MS);
  });

  it("uses the current docker context's endpoint, as the docker CLI would", async () => {
    const config = join(engine.dir, 'docker-config-context');
    mkdirSync(config);
    const asRoot = { env: { PATH: SEARCH_PATH, DOCKER_CONFIG: config }, stdio: 'pipe' } as const;
    execFileSync(
      'docker',
      ['context', 'create', 'berth-private', '--docker', `host=unix://${engine.socketPath}`],
      asRoot,
    );
    execFileSync('docker', ['context', 'use', 'berth-private'], asRoot);
    execFileSync('chmod', ['-R', 'a+rX', config]);

    const result = await runScript({ DOCKER_CONFIG: config });
    expect(result.stdout).toBe(readyLine());
    expect(result.stderr).toBe("ensure-docker: using the engine of docker context 'berth-private'\n");
    expect(result.elapsedMs).toBeLessThan(FOUND_WITHIN_MS);
  });

  it('uses a rootless socket', async () => {
    const result = await runScript({
      BERTH_DOCKER_ROOTLESS_SOCKETS: `${join(nowhere, 'rootless.sock')}:${engine.socketPath}`,
    });
    expect(result.stdout).toBe(readyLine());
    expect(result.stderr).toBe('ensure-docker: using the engine of the rootless socket\n');
    expect(result.elapsedMs).toBeLessThan(FOUND_WITHIN_MS);
  });
});
