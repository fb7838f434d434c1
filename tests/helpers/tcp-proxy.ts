/**
 * A TCP proxy the test controls, standing in for a flaky NAT link: `cut()` silently stops
 * forwarding in both directions (a half-open link: no FIN, no RST), `restore()` resumes. Bytes
 * sent meanwhile are held and delivered on restore, as TCP retransmission would deliver them.
 */
import { createConnection, createServer, type Socket } from 'node:net';

export interface TcpProxy {
  port: number;
  cut(): void;
  restore(): void;
  /** Resets every connection through the proxy (both ends see it close at once); new ones still work. */
  dropConnections(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  let linkUp = true;
  const pairs = new Set<[Socket, Socket]>();
  const held: [Socket, Buffer][] = [];
  const forward = (to: Socket, chunk: Buffer) => {
    if (linkUp) to.write(chunk);
    else held.push([to, chunk]);
  };
  const server = createServer((client) => {
    const upstream = createConnection({ host: '127.0.0.1', port: targetPort });
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    client.on('data', (chunk) => forward(upstream, chunk));
    upstream.on('data', (chunk) => forward(client, chunk));
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
      for (const [to, chunk] of held.splice(0)) if (!to.destroyed) to.write(chunk);
    },
    dropConnections: () => {
      for (const [a, b] of pairs) {
        a.destroy();
        b.destroy();
      }
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
