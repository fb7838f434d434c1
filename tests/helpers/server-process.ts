/** Runs the control plane as its own process (`berth server`), so a test can kill -9 it. */
import { type ChildProcess, spawn } from 'node:child_process';
import { waitFor } from './wait';

const BERTH_BIN = new URL('../../bin/berth.mjs', import.meta.url).pathname;

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  output(): string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export async function spawnServer(options: { dataDir: string; port: number; env?: Record<string, string> }) {
  const child = spawn(
    process.execPath,
    [BERTH_BIN, 'server', '--port', String(options.port), '--data-dir', options.dataDir],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...options.env } },
  );
  let output = '';
  child.stdout?.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    output += chunk;
  });
  const url = `http://127.0.0.1:${options.port}`;
  await waitFor(`the control plane at ${url} to answer`, async () => {
    if (child.exitCode !== null) throw new Error(`server exited: ${output}`);
    const response = await fetch(`${url}/health`).catch(() => undefined);
    return response?.ok;
  });
  const server: ServerProcess = {
    url,
    child,
    output: () => output,
    kill: (signal = 'SIGTERM') =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill(signal);
      }),
  };
  return server;
}

/** A free TCP port, found by letting the OS pick one. */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
