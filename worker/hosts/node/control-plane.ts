/**
 * The Node host: the whole control plane in one process. It supplies what the runtime-agnostic
 * core needs: a libSQL database (a local file by default), the wall clock, an in-process room per
 * cluster with a timer for its deadlines (in-process-rooms.ts), and agent sockets on the same port
 * as the API (agent-sockets.ts). Settings come from the environment through the shared parser.
 */
import type { Server } from 'node:http';
import { serve } from '@hono/node-server';
import { type DatabaseLocation, openDatabase } from '../../../db/node-database';
import { createApp } from '../../app';
import { parseBerthConfig } from '../../config';
import { type BerthConfig, type CoreDeps, randomHexId } from '../../core/deps';
import { serveAgentSockets } from './agent-sockets';
import { InProcessRooms } from './in-process-rooms';
import { bootstrapAdminKey, resolveServerKey } from './local-secrets';

/** How long an idle keep-alive connection stays open. */
const KEEP_ALIVE_TIMEOUT_MS = 65_000;

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
  const app = createApp({ deps, coordinators: rooms, log, serverKey });

  const host = options.host ?? '127.0.0.1';
  // serve() makes an http.Server unless told otherwise (no createServer option is given here).
  const server = serve({ fetch: app.fetch, hostname: host, port: options.port ?? 8787 }) as Server;
  // Node closes an idle keep-alive connection after 5 s; a client that reuses it at that moment gets
  // ECONNRESET (SDKs retry, but the request is lost on a first attempt). Keep idle connections
  // longer than a client plausibly waits between calls, as AWS's own endpoints do (~60 s).
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  server.headersTimeout = KEEP_ALIVE_TIMEOUT_MS + 1_000;
  const agentSockets = serveAgentSockets(server, deps, rooms, log);

  await new Promise<void>((resolve) => {
    if (server.listening) resolve();
    else server.once('listening', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : (options.port ?? 8787);
  const url = `http://${host}:${port}`;
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
