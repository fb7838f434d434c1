/**
 * The Node host's defences against clients that send slowly (slowloris): a request whose headers,
 * or whose body, take longer than their timeout gets 408 and its connection closes, while an idle
 * keep-alive connection between requests is not cut by them.
 */
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestControlPlane, type TestControlPlane } from '../helpers/control-plane';

const HEADERS_TIMEOUT_MS = 600;
const REQUEST_TIMEOUT_MS = 1_500;

interface Connection {
  socket: Socket;
  received: () => string;
  closedAfterMs: Promise<number>;
}

function open(url: string): Connection {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  const openedAt = Date.now();
  let received = '';
  socket.setEncoding('utf8');
  socket.on('data', (data: string) => {
    received += data;
  });
  socket.on('error', () => {});
  const closedAfterMs = new Promise<number>((resolve) =>
    socket.on('close', () => resolve(Date.now() - openedAt)),
  );
  return { socket, received: () => received, closedAfterMs };
}

describe('slow clients on the Node host', () => {
  let test: TestControlPlane;
  beforeAll(async () => {
    test = await startTestControlPlane({
      config: { headersTimeoutMs: HEADERS_TIMEOUT_MS, requestTimeoutMs: REQUEST_TIMEOUT_MS },
    });
  });
  afterAll(async () => {
    await test?.close();
  });

  it('closes a connection whose headers trickle in, with 408', async () => {
    const connection = open(test.plane.url);
    connection.socket.write('POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    // One header line every 100 ms: the connection is never idle, it is just slow.
    const trickle = setInterval(() => connection.socket.write('X-Slow: yes\r\n'), 100);
    const closedAfterMs = await connection.closedAfterMs;
    clearInterval(trickle);
    expect(connection.received()).toMatch(/^HTTP\/1\.1 408 /);
    expect(closedAfterMs).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_MS - 50);
    expect(closedAfterMs).toBeLessThan(HEADERS_TIMEOUT_MS + 2_000);
  });

  it('closes a connection whose body never finishes, with 408', async () => {
    const connection = open(test.plane.url);
    connection.socket.write(
      'POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: 1000\r\n\r\n{"a":',
    );
    const closedAfterMs = await connection.closedAfterMs;
    expect(connection.received()).toMatch(/^HTTP\/1\.1 408 /);
    expect(closedAfterMs).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS - 50);
    expect(closedAfterMs).toBeLessThan(REQUEST_TIMEOUT_MS + 2_000);
  });

  it('keeps an idle keep-alive connection open past both timeouts', async () => {
    const connection = open(test.plane.url);
    const request = 'GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';
    connection.socket.write(request);
    await new Promise((resolve) => setTimeout(resolve, REQUEST_TIMEOUT_MS + 1_000));
    connection.socket.write(request);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(connection.received().match(/HTTP\/1\.1 200 /g)).toHaveLength(2);
    expect(connection.socket.destroyed).toBe(false);
    connection.socket.destroy();
  });
});
