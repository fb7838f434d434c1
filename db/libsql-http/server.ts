/**
 * A local libSQL HTTP endpoint: Hrana over HTTP (JSON, protocol versions 2 and 3), the protocol
 * `@libsql/client` speaks for `http:` URLs, backed by the real libSQL engine on a local file. It
 * stands in for sqld/Turso when the control plane runs under wrangler/miniflare on a developer's
 * machine. See docs/libsql-http.md for the supported subset.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, resolve } from 'node:path';
import { SqlConnection } from './connection';
import { HranaError, toWireError } from './errors';
import { StreamRegistry } from './stream-registry';
import {
  type PipelineResponseBody,
  parsePipelineRequestBody,
  parseStreamRequest,
  type StreamResult,
  type WireError,
} from './wire';

export interface LibsqlHttpServerOptions {
  /** The database file; created, with its folder, if missing. */
  databasePath: string;
  /** 0 picks a free port. */
  port: number;
  host?: string;
  /** When set, pipeline requests must carry `Authorization: Bearer <authToken>`. */
  authToken?: string;
  /** How long a stream may sit unused before it is closed; defaults to STREAM_IDLE_TIMEOUT_MS. */
  streamIdleTimeoutMs?: number;
}

export interface LibsqlHttpServer {
  /** The URL to give `createClient({ url })`, e.g. `http://127.0.0.1:8080`. */
  url: string;
  close(): Promise<void>;
}

const MAX_REQUEST_BODY_MIB = 64;
const MAX_REQUEST_BODY_BYTES = MAX_REQUEST_BODY_MIB * 1024 * 1024;
const PIPELINE_PATHS = new Set(['/v2/pipeline', '/v3/pipeline']);
/** GET probes: `v2`/`v3` tell a client which protocol versions exist; `v3-protobuf` is left 404. */
const PROBE_PATHS = new Set(['/', '/health', '/v2', '/v3']);

class HttpFailure extends Error {
  constructor(
    readonly status: number,
    readonly wireError: WireError,
  ) {
    super(wireError.message);
  }
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  // The client parses error bodies only when the content type is exactly `application/json`.
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}

function sendText(response: ServerResponse, status: number, text: string): void {
  response.writeHead(status, { 'content-type': 'text/plain' });
  response.end(text);
}

async function readJsonBody(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let sizeBytes = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    sizeBytes += chunk.length;
    if (sizeBytes > MAX_REQUEST_BODY_BYTES) {
      throw new HttpFailure(413, {
        message: `Request body is larger than ${MAX_REQUEST_BODY_MIB} MiB`,
        code: 'REQUEST_TOO_LARGE',
      });
    }
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpFailure(400, { message: 'Request body is not valid JSON', code: 'PROTOCOL_ERROR' });
  }
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** Compares digests so the check takes the same time whatever the token's length or content. */
function isAuthorized(request: IncomingMessage, authToken: string | undefined): boolean {
  if (authToken === undefined) return true;
  const header = request.headers.authorization ?? '';
  const presented = header.startsWith('Bearer ') ? header.slice('Bearer '.length).trim() : '';
  return timingSafeEqual(digest(presented), digest(authToken));
}

async function runPipeline(registry: StreamRegistry, input: unknown): Promise<PipelineResponseBody> {
  const parsedBody = parsePipelineRequestBody(input);
  if (!parsedBody.ok) throw new HttpFailure(400, { message: parsedBody.message, code: 'PROTOCOL_ERROR' });
  const { baton, requests } = parsedBody.value;
  const stream = baton ? registry.take(baton) : openStream(registry);
  if (!stream) {
    throw new HttpFailure(400, {
      message: 'The baton is unknown: its stream was closed, expired after being idle, or already continued',
      code: 'STREAM_EXPIRED',
    });
  }
  try {
    const results: StreamResult[] = [];
    for (const rawRequest of requests) {
      const parsed = parseStreamRequest(rawRequest);
      if (!parsed.ok) {
        results.push({ type: 'error', error: { message: parsed.message, code: 'PROTOCOL_ERROR' } });
        continue;
      }
      try {
        results.push({ type: 'ok', response: await stream.handle(parsed.value) });
      } catch (error) {
        results.push({ type: 'error', error: toWireError(error) });
      }
    }
    if (stream.closed) {
      registry.release(stream);
      return { baton: null, base_url: null, results };
    }
    return { baton: registry.park(stream), base_url: null, results };
  } catch (error) {
    registry.release(stream);
    throw error;
  }
}

function openStream(registry: StreamRegistry) {
  try {
    return registry.open();
  } catch (error) {
    const status = error instanceof HranaError && error.code === 'STREAMS_EXHAUSTED' ? 503 : 500;
    throw new HttpFailure(status, toWireError(error));
  }
}

export async function startLibsqlHttpServer(options: LibsqlHttpServerOptions): Promise<LibsqlHttpServer> {
  const databasePath = resolve(options.databasePath);
  mkdirSync(dirname(databasePath), { recursive: true });
  // Fail at start, not on the first request, when the file cannot be opened as a database.
  SqlConnection.open(databasePath).close();
  const registry = new StreamRegistry(() => SqlConnection.open(databasePath), options.streamIdleTimeoutMs);
  let closing = false;

  const route = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    if (request.method === 'GET' && PROBE_PATHS.has(path)) return sendText(response, 200, 'ok');
    if (request.method === 'GET' && path === '/version') return sendText(response, 200, 'berth-libsql-http');
    if (!PIPELINE_PATHS.has(path)) return sendText(response, 404, `Not found: ${request.method} ${path}`);
    if (request.method !== 'POST') return sendText(response, 405, `Use POST for ${path}`);
    if (closing) {
      throw new HttpFailure(503, { message: 'The server is shutting down', code: 'SHUTTING_DOWN' });
    }
    if (!isAuthorized(request, options.authToken)) {
      throw new HttpFailure(401, {
        message: 'Unauthorized: a valid "Authorization: Bearer <token>" header is required',
        code: 'UNAUTHORIZED',
      });
    }
    sendJson(response, 200, await runPipeline(registry, await readJsonBody(request)));
  };

  const server = createServer((request, response) => {
    route(request, response).catch((error: unknown) => {
      if (response.headersSent) return response.destroy();
      if (error instanceof HttpFailure) return sendJson(response, error.status, error.wireError);
      sendJson(response, 500, toWireError(error));
    });
  });

  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolveListen, rejectListen) => {
    server.once('error', rejectListen);
    server.listen(options.port, host, () => {
      server.off('error', rejectListen);
      resolveListen();
    });
  });
  const { port } = server.address() as AddressInfo;
  const urlHost = host.includes(':') ? `[${host}]` : host;

  return {
    url: `http://${urlHost}:${port}`,
    close: async () => {
      closing = true;
      const stopped = new Promise<void>((resolveClose) => server.close(() => resolveClose()));
      server.closeAllConnections();
      await stopped;
      // Closing the connections rolls back any transaction a client left open.
      registry.closeAll();
    },
  };
}
