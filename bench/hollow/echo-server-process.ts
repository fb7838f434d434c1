/** Starts bench/hollow/echo-server.ts as its own process and learns its port. */
import { spawn } from 'node:child_process';
import { OPEN_FILES_LIMIT, shellQuote } from './control-plane-process';

const ENTRY = new URL('./echo-server.ts', import.meta.url).pathname;

export interface EchoServerProcess {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

export function spawnEchoServer(): Promise<EchoServerProcess> {
  const node = [process.execPath, '--import', 'tsx', ENTRY].map(shellQuote).join(' ');
  const command = `ulimit -n ${OPEN_FILES_LIMIT} && exec ${node}`;
  const child = spawn('sh', ['-c', command], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let output = '';
    child.once('exit', (code) => reject(new Error(`echo server exited with code ${code}: ${output}`)));
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const port = /listening (\d+)/.exec(output)?.[1];
      if (!port) return;
      resolve({
        url: `ws://127.0.0.1:${port}/`,
        pid: child.pid!,
        stop: () =>
          new Promise<void>((done) => {
            if (child.exitCode !== null) return done();
            child.once('exit', () => done());
            child.kill('SIGTERM');
          }),
      });
    });
  });
}
