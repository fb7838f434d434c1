/** Runs the real agent as its own process (`berth agent ...`), as it runs on a host. */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface AgentProcess {
  stateDir: string;
  child: ChildProcess;
  output(): string;
  /** Sends a signal and waits for the process to exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export interface AgentProcessOptions {
  endpoint: string;
  cluster: string;
  joinToken: string;
  stateDir?: string;
  attributes?: string[];
  cpu?: number;
  memoryMiB?: number;
}

const BERTH_BIN = new URL('../../bin/berth.mjs', import.meta.url).pathname;

export function spawnAgent(options: AgentProcessOptions): AgentProcess {
  const stateDir = options.stateDir ?? mkdtempSync(join(tmpdir(), 'berth-agent-'));
  const args = [
    BERTH_BIN,
    'agent',
    '--endpoint',
    options.endpoint,
    '--cluster',
    options.cluster,
    '--join-token',
    options.joinToken,
    '--state-dir',
    stateDir,
  ];
  for (const attribute of options.attributes ?? []) args.push('--attribute', attribute);
  if (options.cpu !== undefined) args.push('--cpu', String(options.cpu));
  if (options.memoryMiB !== undefined) args.push('--memory', String(options.memoryMiB));
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    output += chunk;
  });
  return {
    stateDir,
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
