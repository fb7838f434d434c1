/**
 * A TCP proxy the test controls, standing in for a flaky NAT link: `cut()` silently stops
 * forwarding in both directions (a half-open link: no FIN, no RST), `restore()` resumes.
 */
import { createConnection, createServer, type Socket } from 'node:net';

export interface TcpProxy {
  port: number;
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  let linkUp = true;
  const pairs = new Set<[Socket, Socket]>();
  const server = createServer((client) => {
    const upstream = createConnection({ host: '127.0.0.1', port: targetPort });
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    // Data that arrives while the link is cut is dropped, as a dead network path drops packets.
    client.on('data', (chunk) => {
      if (linkUp) upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      if (linkUp) client.write(chunk);
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
      pairs.delete(pair);
    };
    client.on('close', end);
    upstream.on('close', end);
    client.on('error', end);
    upstream.on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    cut: () => {
      linkUp = false;
    },
    restore: () => {
      linkUp = true;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const [a, b] of pairs) {
          a.destroy();
          b.destroy();
        }
        server.close(() => resolve());
      }),
  };
}
