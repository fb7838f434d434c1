/**
 * HTTP at the level an attacker works at: any Host header, a Content-Length that promises more
 * than is sent, a chunked body that never ends. fetch can't do these, so this uses node:http.
 */
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { signedRequest, type TestCredentials } from './credentials';

export const ECS_TARGET_PREFIX = 'AmazonEC2ContainerServiceV20141113.';

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

export interface EcsErrorBody {
  __type: string;
  message: string;
}

export function errorBodyOf(response: RawResponse): EcsErrorBody {
  return JSON.parse(response.text) as EcsErrorBody;
}

interface RawRequest {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string;
}

/** One request with exactly the headers given (Host included); the whole answer. */
export function sendRaw(endpoint: string, options: RawRequest): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const url = new URL(options.path ?? '/', endpoint);
    // A fresh connection each time (no keep-alive): a server may close one after refusing a request.
    const req = request(
      url,
      { method: options.method ?? 'POST', headers: options.headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/**
 * An ECS call with a raw JSON text body, signed with `credentials` as a normal client would sign
 * it, and sent with exactly what is given besides (a Host of its own included).
 */
export async function sendEcs(
  endpoint: string,
  credentials: TestCredentials,
  action: string,
  body: string,
  headers: Record<string, string> = {},
) {
  // Signed for the Host it is sent with, as a client addressing that name would sign it.
  const host = headers.Host ?? headers.host ?? new URL(endpoint).host;
  const signed = await signedRequest(
    `http://${host}/`,
    {
      method: 'POST',
      headers: {
        Host: host,
        'Content-Type': 'application/x-amz-json-1.1',
        'X-Amz-Target': `${ECS_TARGET_PREFIX}${action}`,
      },
      body,
    },
    credentials,
  );
  return sendRaw(endpoint, {
    headers: {
      ...Object.fromEntries(signed.headers),
      'Content-Length': String(Buffer.byteLength(body)),
      ...headers,
    },
    body,
  });
}

export interface StreamedUpload {
  /** The answer, when one arrived before the server closed the connection. */
  response?: SocketAnswer;
  /** How much of the body had been written to the socket when the server answered or hung up. */
  bytesSent: number;
}

/** An answer read straight off a socket; the answers here are short and never chunked. */
export interface SocketAnswer {
  status: number;
  text: string;
}

/**
 * The answer on `socket`: settled once its Content-Length bytes are in, or when the server closes
 * or resets the connection (with undefined if no status line came before that).
 */
function answerOn(socket: Socket): Promise<SocketAnswer | undefined> {
  return new Promise((resolve) => {
    let received = '';
    const settle = () => {
      const status = /^HTTP\/1\.[01] (\d{3}) /.exec(received);
      const bodyStart = received.indexOf('\r\n\r\n');
      resolve(status ? { status: Number(status[1]), text: received.slice(bodyStart + 4) } : undefined);
    };
    socket.setEncoding('utf8');
    socket.on('data', (data: string) => {
      received += data;
      const length = /content-length: (\d+)/i.exec(received);
      const bodyStart = received.indexOf('\r\n\r\n');
      if (length && bodyStart !== -1 && received.length - bodyStart - 4 >= Number(length[1])) settle();
    });
    socket.on('error', settle);
    socket.on('close', settle);
  });
}

/** The answer to `bytes` written straight to a fresh connection, e.g. an HTTP/1.0 request without Host. */
export async function sendBytes(endpoint: string, bytes: string): Promise<SocketAnswer | undefined> {
  const url = new URL(endpoint);
  const socket = connect(Number(url.port), url.hostname, () => socket.write(bytes));
  const answer = await answerOn(socket);
  socket.destroy();
  return answer;
}

/**
 * Sends a huge ListClusters body in 64 KiB chunks, either announced by Content-Length or chunked,
 * and stops as soon as the server answers or closes the connection: how far it got shows whether
 * the server read the whole body before refusing it. Written on a bare socket, because a server
 * that refuses a body may close the connection with the rest unread, and the kernel then resets
 * it; whatever answer came before the reset is kept.
 */
export async function streamHugeBody(
  endpoint: string,
  options: { totalBytes: number; framing: 'content-length' | 'chunked' },
): Promise<StreamedUpload> {
  const url = new URL(endpoint);
  const framingHeader =
    options.framing === 'content-length'
      ? `Content-Length: ${options.totalBytes}`
      : 'Transfer-Encoding: chunked';
  const head =
    `POST / HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/x-amz-json-1.1\r\n` +
    `X-Amz-Target: ${ECS_TARGET_PREFIX}ListClusters\r\n${framingHeader}\r\nConnection: close\r\n\r\n`;
  const chunk = Buffer.alloc(64 * 1024, 'Q');
  let bytesSent = 0;
  let answered = false;
  const socket = connect(Number(url.port), url.hostname);
  const answer = answerOn(socket).finally(() => {
    answered = true;
  });
  const writeMore = () => {
    while (!answered && bytesSent < options.totalBytes) {
      const piece = chunk.subarray(0, Math.min(chunk.length, options.totalBytes - bytesSent));
      bytesSent += piece.length;
      const framed =
        options.framing === 'chunked' ? [`${piece.length.toString(16)}\r\n`, piece, '\r\n'] : [piece];
      let flushed = true;
      for (const part of framed) flushed = socket.write(part) && flushed;
      if (!flushed) return void socket.once('drain', writeMore);
    }
    if (!answered && options.framing === 'chunked') socket.write('0\r\n\r\n');
  };
  socket.once('connect', () => {
    socket.write(head);
    writeMore();
  });
  const response = await answer;
  socket.destroy();
  return { response, bytesSent };
}
