/** Runs the `berth` CLI as a user would, stdout and stderr kept apart, with the exit code. */
import { spawn } from 'node:child_process';
import { BERTH_BIN } from './berth-process';
import type { TestCredentials } from './credentials';

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: Buffer;
}

export function cliEnv(endpoint: string, credentials: TestCredentials): Record<string, string> {
  return {
    BERTH_ENDPOINT: endpoint,
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    AWS_PROFILE: '',
  };
}

export interface RunningCli {
  /** Everything printed to stdout so far. */
  stdout(): string;
  stderr(): string;
  done: Promise<CliResult>;
  kill(signal?: NodeJS.Signals): void;
}

export function startBerthCli(args: string[], env: Record<string, string>, input?: string): RunningCli {
  const child = spawn(process.execPath, [BERTH_BIN, ...args], {
    stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  if (input !== undefined) child.stdin?.write(input);
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout?.on('data', (chunk: Buffer) => out.push(chunk));
  child.stderr?.on('data', (chunk: Buffer) => err.push(chunk));
  const done = new Promise<CliResult>((resolve) => {
    child.on('close', (code, signal) =>
      resolve({ code, signal, stdout: Buffer.concat(out), stderr: Buffer.concat(err) }),
    );
  });
  return {
    stdout: () => Buffer.concat(out).toString(),
    stderr: () => Buffer.concat(err).toString(),
    done,
    kill: (signal = 'SIGTERM') => child.kill(signal),
  };
}

export const runBerthCli = (
  args: string[],
  env: Record<string, string>,
  input?: string,
): Promise<CliResult> => startBerthCli(args, env, input).done;
