/**
 * Load generators as child processes (fleet-worker.ts, fanin-worker.ts), driven over IPC, so the
 * load side of a scale benchmark spreads over cores instead of sharing one event loop.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { OPEN_FILES_LIMIT, shellQuote } from './control-plane-process';
import type { FaninStart, FleetStart, LoadReport } from './fleet-messages';

export interface LoadProcess {
  pid: number;
  /** Resolves once every host of this process is connected. */
  ready: Promise<LoadReport>;
  /** Disconnects every host and resolves with the process's last report. */
  stop(): Promise<LoadReport>;
}

/** Connecting 10,000 hosts takes about 15 s here; far longer means something is wrong. */
const READY_TIMEOUT_MS = 180_000;

const ENTRIES = {
  fleet: new URL('./fleet-worker.ts', import.meta.url).pathname,
  fanin: new URL('./fanin-worker.ts', import.meta.url).pathname,
};

/** `nodeFlags` go to the child's node, e.g. ['--cpu-prof', '--cpu-prof-dir=/tmp/p']. */
export function spawnLoadProcess(kind: 'fleet', start: FleetStart, nodeFlags?: string[]): LoadProcess;
export function spawnLoadProcess(kind: 'fanin', start: FaninStart, nodeFlags?: string[]): LoadProcess;
export function spawnLoadProcess(
  kind: keyof typeof ENTRIES,
  start: FleetStart | FaninStart,
  nodeFlags: string[] = [],
): LoadProcess {
  const node = [process.execPath, ...nodeFlags, '--import', 'tsx', ENTRIES[kind]].map(shellQuote).join(' ');
  const command = `ulimit -n ${OPEN_FILES_LIMIT} && exec ${node}`;
  const child: ChildProcess = spawn('sh', ['-c', command], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: process.env,
  });
  const reports: LoadReport[] = [];
  const waiters: {
    type: LoadReport['type'];
    resolve: (r: LoadReport) => void;
    reject: (e: Error) => void;
  }[] = [];
  const settle = (report: LoadReport) => {
    reports.push(report);
    for (const waiter of [...waiters]) {
      if (report.type === 'failed') waiter.reject(new Error(`${kind} process failed: ${report.error}`));
      else if (report.type === waiter.type) waiter.resolve(report);
      else continue;
      waiters.splice(waiters.indexOf(waiter), 1);
    }
  };
  child.on('message', (message: LoadReport) => settle(message));
  child.on('exit', (code, signal) => {
    for (const waiter of waiters.splice(0))
      waiter.reject(
        new Error(`${kind} process exited (code ${code}, signal ${signal}) before '${waiter.type}'`),
      );
  });
  const next = (type: LoadReport['type']) =>
    new Promise<LoadReport>((resolve, reject) => {
      const seen = reports.find((r) => r.type === type);
      if (seen) resolve(seen);
      else waiters.push({ type, resolve, reject });
    });
  child.send(start);
  // A start that never completes fails the benchmark instead of hanging it.
  let readyTimer: NodeJS.Timeout | undefined;
  const ready = Promise.race([
    next('ready'),
    new Promise<never>((_, reject) => {
      readyTimer = setTimeout(
        () => reject(new Error(`${kind} process not ready after ${READY_TIMEOUT_MS} ms`)),
        READY_TIMEOUT_MS,
      );
    }),
  ]).finally(() => clearTimeout(readyTimer));
  // A failed start is reported by whoever awaits `ready`; this keeps it from also being unhandled.
  ready.catch(() => undefined);
  return {
    pid: child.pid!,
    ready,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null)
        throw new Error(`${kind} process already exited`);
      const stopped = next('stopped');
      child.send({ type: 'stop' });
      const report = await stopped;
      await new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
      });
      return report;
    },
  };
}
