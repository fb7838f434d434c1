/**
 * A Docker engine of the test's own, for faults that must never touch the shared engine other test
 * files run on in parallel: its own socket, data root, exec root, pidfile and containerd, and its own
 * network namespace, kept across restarts. The namespace is not optional: dockerd changes host
 * networking as it starts (with `--bridge=none` it deletes the host's docker0, which the shared
 * engine needs), and only a namespace of its own keeps that away from the host. Killing and
 * restarting it changes nothing outside its directory, and `destroy()` leaves nothing behind: no
 * container, no process, no mount, no file.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { docker as sharedDocker, TEST_IMAGE } from './docker';
import { waitFor } from './wait';

export interface PrivateDockerdOptions {
  /** Containers keep running while the engine is down (the production setting); off: the engine stops them. */
  liveRestore: boolean;
}

export interface PrivateDockerd {
  readonly dir: string;
  /** For DOCKER_HOST: `unix://<dir>/docker.sock`. */
  readonly host: string;
  readonly docker: Docker;
  /** Starts the engine (again, on the same directories) and waits until it answers. */
  start(): Promise<void>;
  /** Signals dockerd and waits until it and its containerd have exited. */
  kill(signal: NodeJS.Signals): Promise<void>;
  /** The last lines dockerd logged, for failure messages. */
  logTail(): string;
  /** Removes every container, stops the engine, unmounts and deletes its directory. Safe after any failure. */
  destroy(): Promise<void>;
}

const ENGINE_READY_TIMEOUT_MS = 20_000;
const SHUTDOWN_TIMEOUT_MS = 20_000;
// dockerd, containerd and runc live in the sbin directories, which some shells leave off PATH.
const SEARCH_PATH = `${process.env.PATH ?? ''}:/usr/sbin:/sbin:/usr/local/sbin`;

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const hasExited = (child: ChildProcess) => child.exitCode !== null || child.signalCode !== null;

/** Resolves true once the process has exited, or false after `timeoutMs`. */
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

/** Starts a private dockerd with the test image loaded into it. */
export async function startPrivateDockerd(options: PrivateDockerdOptions): Promise<PrivateDockerd> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-dockerd-'));
  const socketPath = join(dir, 'docker.sock');
  const execRoot = join(dir, 'exec');
  const logPath = join(dir, 'dockerd.log');
  const netnsPath = join(dir, 'netns');
  // An empty config file, so the host's /etc/docker/daemon.json cannot change this engine.
  writeFileSync(join(dir, 'daemon.json'), '{}\n');
  const namespace = `berth-${dir.slice(-6)}`;
  const args = [
    `--host=unix://${socketPath}`,
    `--data-root=${join(dir, 'data')}`,
    `--exec-root=${execRoot}`,
    `--pidfile=${join(dir, 'docker.pid')}`,
    `--config-file=${join(dir, 'daemon.json')}`,
    // Inside its own namespace these reach nothing of the host; no bridge keeps its start fast.
    '--bridge=none',
    '--iptables=false',
    '--ip-forward=false',
    '--ip-masq=false',
    `--containerd-namespace=${namespace}`,
    `--containerd-plugins-namespace=${namespace}-plugins`,
    ...(options.liveRestore ? ['--live-restore'] : []),
  ];
  const docker = new Docker({ socketPath });
  let child: ChildProcess | undefined;

  const containerdPid = (): number | undefined => {
    const pidFile = join(execRoot, 'containerd', 'containerd.pid');
    const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').trim()) : Number.NaN;
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  };

  const logTail = () =>
    existsSync(logPath) ? readFileSync(logPath, 'utf8').split('\n').slice(-15).join('\n') : '';

  const engine: PrivateDockerd = {
    dir,
    host: `unix://${socketPath}`,
    docker,
    logTail,
    async start() {
      if (child && !hasExited(child)) throw new Error('dockerd is already running');
      if (!existsSync(netnsPath)) {
        // Persistent (bind-mounted on a file), so a restarted engine finds the namespace it left.
        writeFileSync(netnsPath, '');
        execFileSync('unshare', [`--net=${netnsPath}`, 'true']);
      }
      const log = openSync(logPath, 'a');
      try {
        // nsenter execs dockerd in place, so the child's pid is dockerd's.
        child = spawn('nsenter', [`--net=${netnsPath}`, 'dockerd', ...args], {
          stdio: ['ignore', log, log],
          env: { ...process.env, PATH: SEARCH_PATH },
        });
      } finally {
        closeSync(log);
      }
      const started = child;
      await waitFor(
        `the private dockerd in ${dir} to answer`,
        async () => {
          if (started.exitCode !== null)
            throw new Error(`dockerd exited with ${started.exitCode}:\n${logTail()}`);
          return (await docker.ping().catch(() => undefined)) !== undefined;
        },
        ENGINE_READY_TIMEOUT_MS,
      );
    },
    async kill(signal) {
      if (!child) return;
      // containerd dies with dockerd (it is started with a parent-death signal); wait for that too,
      // so the next start does not find a dying containerd and try to reuse it.
      const containerd = containerdPid();
      const exit = exitedWithin(child, SHUTDOWN_TIMEOUT_MS);
      child.kill(signal);
      if (!(await exit)) throw new Error(`dockerd did not exit on ${signal}:\n${logTail()}`);
      if (containerd) await waitFor(`containerd ${containerd} to exit`, () => !isAlive(containerd));
    },
    async destroy() {
      // An engine a failed test left down is started again, to remove its containers the proper way.
      if (!child || hasExited(child)) await engine.start().catch(() => undefined);
      const containers = await docker.listContainers({ all: true }).catch(() => []);
      await Promise.all(
        containers.map((c) =>
          docker
            .getContainer(c.Id)
            .remove({ force: true })
            .catch(() => undefined),
        ),
      );
      await engine.kill('SIGTERM').catch(() => engine.kill('SIGKILL').catch(() => undefined));
      killProcessesUnder(dir);
      unmountEverythingUnder(dir);
      rmSync(dir, { recursive: true, force: true });
    },
  };

  try {
    await engine.start();
    await loadTestImage(docker);
  } catch (error) {
    await engine.destroy();
    throw error;
  }
  return engine;
}

/** Copies the test image from the shared engine (no registry is reachable). */
async function loadTestImage(docker: Docker): Promise<void> {
  const tar = await sharedDocker.getImage(TEST_IMAGE).get();
  const response = (await docker.loadImage(tar)) as NodeJS.ReadableStream;
  await new Promise<void>((resolve, reject) =>
    docker.modem.followProgress(response, (e) => (e ? reject(e) : resolve())),
  );
  await docker.getImage(TEST_IMAGE).inspect();
}

/**
 * The last resort when the engine could not be stopped cleanly: the processes it left (containerd
 * and the container shims name this directory on their command line) and their children, by pid.
 */
function killProcessesUnder(dir: string): void {
  const mentioning = new Set<number>();
  const parentOf = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dir)) mentioning.add(pid);
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      parentOf.set(pid, Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // the process has exited meanwhile
    }
  }
  const children = [...parentOf].filter(([, parent]) => mentioning.has(parent)).map(([pid]) => pid);
  for (const pid of [...children, ...mentioning]) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/**
 * dockerd bind-mounts its data root onto itself and never unmounts it, containers leave overlay
 * mounts, and the network namespace is a mount too.
 */
function unmountEverythingUnder(dir: string): void {
  const mountPoints = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter(
      (point): point is string => point !== undefined && (point === dir || point.startsWith(`${dir}/`)),
    );
  // Deepest first, and lazily: a mount still busy is detached now and released when it is free.
  for (const point of mountPoints.sort((a, b) => b.length - a.length)) {
    try {
      execFileSync('umount', ['-l', point], { stdio: 'ignore' });
    } catch {
      // already unmounted through its parent
    }
  }
}
