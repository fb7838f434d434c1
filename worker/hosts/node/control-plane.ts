/**
 * The Node host: the whole control plane in one process. It supplies what the runtime-agnostic
 * core needs: a libSQL database (a local file by default), the wall clock, an in-process room per
 * cluster with a timer for its deadlines (in-process-rooms.ts), and agent sockets on the same port
 * as the API (agent-sockets.ts). Settings come from the environment through the shared parser.
 */
import type { Server } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { type HttpBindings, serve } from '@hono/node-server';
import { type DatabaseLocation, openDatabase } from '../../../db/node-database';
import { createApp } from '../../app';
import { parseBerthConfig } from '../../config';
import { type BerthConfig, type CoreDeps, randomHexId } from '../../core/deps';
import { serveAgentSockets } from './agent-sockets';
import { InProcessRooms } from './in-process-rooms';
import { bootstrapAdminKey, resolveServerKey } from './local-secrets';

/** How long an idle keep-alive connection stays open. */
const KEEP_ALIVE_TIMEOUT_MS = 65_000;
/**
 * How long a client may take to send a request's headers, and the whole request. A slow client
 * (slowloris) otherwise holds a connection and its memory for as long as it trickles bytes; past
 * these it gets 408 and the connection closes. Responses are not limited: an event stream lasts.
 */
const DEFAULT_HEADERS_TIMEOUT_MS = 10_000;
const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

export interface ControlPlaneOptions {
  database: DatabaseLocation;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  config?: Partial<BerthConfig>;
  log?: (line: string) => void;
  /** The key that encrypts secrets at rest (default: BERTH_SERVER_KEY, else `<dataDir>/server.key`). */
  serverKey?: Uint8Array;
  /**
   * On a first start (no active access key), create an admin key and write it to
   * `<dataDir>/credentials` before answering any request: `berth start` and `berth server` do.
   */
  bootstrapCredentials?: boolean;
  /**
   * Serve HTTPS (and wss:// for agents) with this certificate and key, PEM. Without it the control
   * plane speaks plain HTTP, for loopback or behind a TLS-terminating proxy (docs/security.md).
   */
  tls?: { cert: string | Buffer; key: string | Buffer };
}

export interface RunningControlPlane {
  url: string;
  port: number;
  deps: CoreDeps;
  serverKey: Uint8Array;
  /** The credentials file a first start wrote, if this start wrote one. */
  credentialsFile?: string;
  close(): Promise<void>;
}

export async function startControlPlane(options: ControlPlaneOptions): Promise<RunningControlPlane> {
  const log = options.log ?? ((line: string) => console.log(`[control-plane] ${line}`));
  // Parsed before the database opens: a bad setting is a clear startup error, not a half-started server.
  const config = { ...parseBerthConfig(process.env), ...options.config };
  const database = await openDatabase(options.database);
  const deps: CoreDeps = { db: database.db, config, now: Date.now, newId: randomHexId };
  const serverKey = options.serverKey ?? resolveServerKey(options.database.dataDir, process.env);
  const credentialsFile = options.bootstrapCredentials
    ? await bootstrapAdminKey(deps, serverKey, options.database.dataDir)
    : undefined;
  const rooms = new InProcessRooms(deps, log, serverKey);
  await rooms.resumeAll();
  const app = createApp({
    deps,
    coordinators: rooms,
    log,
    serverKey,
    // The peer of the TCP connection; a proxy in front is what Node sees (see docs/security.md).
    sourceAddressOf: (c) => (c.env as Partial<HttpBindings> | undefined)?.incoming?.socket.remoteAddress,
  });

  const host = options.host ?? '127.0.0.1';
  const headersTimeout = config.headersTimeoutMs ?? DEFAULT_HEADERS_TIMEOUT_MS;
  const requestTimeout = Math.max(headersTimeout, config.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS);
  // serve() makes an http.Server unless told otherwise (no createServer option is given here).
  const server = serve({
    fetch: app.fetch,
    hostname: host,
    port: options.port ?? 8787,
    ...(options.tls ? { createServer: createTlsServer } : {}),
    serverOptions: {
      headersTimeout,
      requestTimeout,
      // Node checks the two timeouts on this interval (30 s by default, longer than the timeouts).
      connectionsCheckingInterval: Math.min(1_000, Math.ceil(headersTimeout / 4)),
      ...options.tls,
    },
  }) as Server;
  // Node closes an idle keep-alive connection after 5 s; a client that reuses it at that moment gets
  // ECONNRESET (SDKs retry, but the request is lost on a first attempt). Keep idle connections
  // longer than a client plausibly waits between calls, as AWS's own endpoints do (~60 s). Node 20
  // counts headersTimeout from a request's first byte, so an idle keep-alive connection is not cut by it.
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  const agentSockets = serveAgentSockets(server, deps, rooms, log);

  await new Promise<void>((resolve) => {
    if (server.listening) resolve();
    else server.once('listening', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : (options.port ?? 8787);
  const url = `${options.tls ? 'https' : 'http'}://${host}:${port}`;
  return {
    url,
    port,
    deps,
    serverKey,
    credentialsFile,
    close: async () => {
      rooms.stop();
      agentSockets.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // close() waits for open connections, and an event stream is one that never ends by itself.
      server.closeAllConnections();
      await closed;
      database.close();
    },
  };
}
