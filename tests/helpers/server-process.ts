/** Runs the control plane as its own process (`berth server`), so a test can kill -9 it. */
import { execFileSync } from 'node:child_process';
import { BERTH_BIN, type BerthProcess, spawnBerth } from './berth-process';
import { waitFor } from './wait';

export interface ServerProcess extends BerthProcess {
  url: string;
}

export async function spawnServer(options: { dataDir: string; port: number; env?: Record<string, string> }) {
  const berth = spawnBerth(
    ['server', '--port', String(options.port), '--data-dir', options.dataDir],
    options.env,
  );
  const url = `http://127.0.0.1:${options.port}`;
  await waitFor(`the control plane at ${url} to answer`, async () => {
    if (berth.child.exitCode !== null) throw new Error(`server exited: ${berth.output()}`);
    const response = await fetch(`${url}/health`).catch(() => undefined);
    return response?.ok;
  });
  const server: ServerProcess = { url, ...berth };
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

/** A join token minted by `berth join-token` in the server's data directory, as an operator mints one. */
export function mintJoinTokenWithCli(dataDir: string, cluster: string): string {
  return execFileSync(process.execPath, [
    BERTH_BIN,
    'join-token',
    '--cluster',
    cluster,
    '--data-dir',
    dataDir,
  ])
    .toString()
    .trim();
}
