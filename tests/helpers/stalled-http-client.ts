/**
 * An HTTP client that sends a GET, reads the response head, and then stops reading, as a client
 * that never consumes a stream does. A plain socket, not fetch: fetch would read ahead into its own
 * buffers, and the point is to make the server face a socket nobody drains.
 */
import { connect } from 'node:net';
import { signedRequest, type TestCredentials } from './credentials';

export interface StalledClient {
  status: number;
  /** This end's port, which names the connection on the server's side. */
  localPort: number;
  /** The response head and body start, as far as the client read before it stopped. */
  head: string;
  /** Reads on; resolves with the byte count received once the server has closed the connection. */
  readUntilServerCloses(timeoutMs: number): Promise<number>;
  destroy(): void;
}

export async function openStalledClient(
  endpoint: string,
  path: string,
  credentials: TestCredentials,
): Promise<StalledClient> {
  const url = new URL(endpoint);
  // Signed as any client would sign it; the signature's headers are written as they are.
  const signed = await signedRequest(
    `${endpoint}${path}`,
    { headers: { Accept: 'text/event-stream' } },
    credentials,
  );
  const headerLines = [...signed.headers].map(([name, value]) => `${name}: ${value}\r\n`).join('');
  const socket = connect(Number(url.port), url.hostname);
  let receivedBytes = 0;
  let head = '';
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  // A reset (the server drops the connection) is the expected end, not a failure.
  socket.on('error', () => {});
  socket.on('data', (chunk: Buffer) => {
    receivedBytes += chunk.length;
    if (!head) head = chunk.toString('latin1');
  });
  socket.write(`GET ${path} HTTP/1.1\r\n${headerLines}\r\n`);
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.once('data', () => {
      socket.pause();
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
      resolve({
        status,
        localPort: socket.localPort!,
        head,
        readUntilServerCloses: async (timeoutMs) => {
          socket.resume();
          let timer: ReturnType<typeof setTimeout> | undefined;
          const timedOut = new Promise<never>((_, fail) => {
            timer = setTimeout(
              () => fail(new Error(`the server kept the stream open for ${timeoutMs} ms`)),
              timeoutMs,
            );
          });
          try {
            await Promise.race([closed, timedOut]);
          } finally {
            clearTimeout(timer);
          }
          return receivedBytes;
        },
        destroy: () => socket.destroy(),
      });
    });
  });
}
