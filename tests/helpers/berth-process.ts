/** Runs `berth <command> ...` as its own process, collecting its output, so a test can signal it (kill -9 included). */
import { type ChildProcess, spawn } from 'node:child_process';

export const BERTH_BIN = new URL('../../bin/berth.mjs', import.meta.url).pathname;

export interface BerthProcess {
  child: ChildProcess;
  output(): string;
  /** Sends a signal and waits for the process to exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export function spawnBerth(args: string[], env: Record<string, string> = {}): BerthProcess {
  const child = spawn(process.execPath, [BERTH_BIN, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let output = '';
  const collect = (chunk: Buffer) => {
    output += chunk;
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  return {
    child,
    output: () => output,
    kill: (signal = 'SIGTERM') =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill(signal);
      }),
  };
}
