/**
 * The Node entry: the whole control plane in one process. It supplies what the runtime-agnostic
 * core needs: a libSQL database (a local file by default), the wall clock, an in-process
 * coordinator per cluster, and a `ws` server for agent sockets on the same port as the API.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { serve } from '@hono/node-server';
import { eq } from 'drizzle-orm';
import { type WebSocket, WebSocketServer } from 'ws';
import { type DatabaseLocation, openDatabase } from '../db/node-database';
import { clusters } from '../db/schema';
import { AGENT_CONNECT_PATH, CLOSE_CODES, MAX_FRAME_BYTES } from '../protocol/agent-protocol';
import { HEARTBEAT_INTERVAL_MS, SILENT_INTERVALS_BEFORE_CUT } from '../protocol/link';
import { parseAllowedHosts } from './api/allowed-hosts';
import { parseByteCount } from './api/body-limit';
import {
  type CoordinatorClient,
  type CoordinatorDirectory,
  clientResolvedPerCall,
} from './api/coordinator-directory';
import { createApp } from './app';
import { type AgentIdentity, admitAgent } from './core/agents/agent-admission';
import { FrameBudget } from './core/agents/frame-budget';
import { type AgentLink, InMemoryAgentLinks } from './core/cluster/agent-links';
import { onAgentSocketMessage } from './core/cluster/agent-socket';
import { ClusterCoordinator } from './core/cluster/cluster-coordinator';
import { requireCluster } from './core/clusters/clusters';
import { type BerthConfig, type CoreDeps, DEFAULT_BERTH_CONFIG, randomHexId } from './core/deps';

export const DEFAULT_CONFIG: BerthConfig = DEFAULT_BERTH_CONFIG;

/** Settings read from the environment by the Node entry only (the core never reads process.env). */
export function configFromEnv(env: NodeJS.ProcessEnv): Partial<BerthConfig> {
  const config: Partial<BerthConfig> = {};
  if (env.BERTH_REGION) config.region = env.BERTH_REGION;
  if (env.BERTH_ACCOUNT_ID) config.accountId = env.BERTH_ACCOUNT_ID;
  if (env.BERTH_AGENT_GRACE_MS) config.agentDisconnectGraceMs = Number(env.BERTH_AGENT_GRACE_MS);
  if (env.BERTH_HEARTBEAT_INTERVAL_MS) config.heartbeatIntervalMs = Number(env.BERTH_HEARTBEAT_INTERVAL_MS);
  if (env.BERTH_MAX_REQUEST_BODY_BYTES) {
    config.maxRequestBodyBytes = parseByteCount(
      env.BERTH_MAX_REQUEST_BODY_BYTES,
      'BERTH_MAX_REQUEST_BODY_BYTES',
    );
  }
  if (env.BERTH_ALLOWED_HOSTS) {
    config.allowedHosts = parseAllowedHosts(env.BERTH_ALLOWED_HOSTS, 'BERTH_ALLOWED_HOSTS');
  }
  return config;
}

export interface ControlPlaneOptions {
  database: DatabaseLocation;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  config?: Partial<BerthConfig>;
  log?: (line: string) => void;
}

export interface RunningControlPlane {
  url: string;
  port: number;
  deps: CoreDeps;
  close(): Promise<void>;
}

/**
 * Keeps one coordinator per cluster for the life of the process. A coordinator is created only for
 * a cluster that exists, so requests naming clusters that don't leave nothing behind.
 */
class InProcessCoordinators implements CoordinatorDirectory {
  private readonly byCluster = new Map<string, ClusterCoordinator>();
  private readonly links = new InMemoryAgentLinks();

  constructor(
    private readonly deps: CoreDeps,
    private readonly log: (line: string) => void,
  ) {}

  private readonly wakeTimers = new Map<string, { atMs: number; timer: ReturnType<typeof setTimeout> }>();

  forCluster(clusterName: string): CoordinatorClient {
    const existing = this.byCluster.get(clusterName);
    if (existing) return existing;
    return clientResolvedPerCall(() => this.forExistingCluster(clusterName));
  }

  /** The cluster's coordinator; ClusterNotFoundException (and no state kept) when it doesn't exist. */
  async forExistingCluster(clusterName: string): Promise<ClusterCoordinator> {
    if (!this.byCluster.has(clusterName)) await requireCluster(this.deps, clusterName);
    return this.coordinatorOf(clusterName);
  }

  private coordinatorOf(clusterName: string): ClusterCoordinator {
    let coordinator = this.byCluster.get(clusterName);
    if (!coordinator) {
      const scheduler = { wakeAt: (whenMs: number) => this.wakeAt(clusterName, whenMs) };
      coordinator = new ClusterCoordinator(this.deps, clusterName, this.links, { log: this.log, scheduler });
      this.byCluster.set(clusterName, coordinator);
    }
    return coordinator;
  }

  /** Starts every active cluster's coordinator, so agents that don't come back are noticed. */
  async resumeAll(): Promise<void> {
    const rows = await this.deps.db
      .select({ name: clusters.name })
      .from(clusters)
      .where(eq(clusters.status, 'ACTIVE'));
    await Promise.all(rows.map((r) => this.coordinatorOf(r.name).resume()));
  }

  private wakeAt(clusterName: string, whenMs: number): void {
    const existing = this.wakeTimers.get(clusterName);
    if (existing && existing.atMs <= whenMs) return;
    if (existing) clearTimeout(existing.timer);
    const timer = setTimeout(
      () => {
        this.wakeTimers.delete(clusterName);
        this.coordinatorOf(clusterName)
          .onWake()
          .catch((error) => this.log(`wake of ${clusterName} failed: ${String(error)}`));
      },
      Math.max(0, whenMs - Date.now()),
    );
    timer.unref();
    this.wakeTimers.set(clusterName, { atMs: whenMs, timer });
  }

  stop(): void {
    for (const { timer } of this.wakeTimers.values()) clearTimeout(timer);
  }
}

let nextLinkNumber = 0;

function linkFor(socket: WebSocket, identity: AgentIdentity): AgentLink {
  const id = `link-${++nextLinkNumber}`;
  return {
    id,
    identity,
    send: (text) => socket.send(text),
    close: (code, reason) => socket.close(code, reason),
  };
}

function rejectUpgrade(socket: Duplex, status: number, message: string) {
  socket.end(`HTTP/1.1 ${status} ${message}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

export async function startControlPlane(options: ControlPlaneOptions): Promise<RunningControlPlane> {
  const log = options.log ?? ((line: string) => console.log(`[control-plane] ${line}`));
  const database = await openDatabase(options.database);
  const deps: CoreDeps = {
    db: database.db,
    config: { ...DEFAULT_CONFIG, ...configFromEnv(process.env), ...options.config },
    now: Date.now,
    newId: randomHexId,
  };
  const coordinators = new InProcessCoordinators(deps, log);
  await coordinators.resumeAll();
  const app = createApp({ deps, coordinators, log });

  const agentSockets = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES });
  const host = options.host ?? '127.0.0.1';
  const server = serve({ fetch: app.fetch, hostname: host, port: options.port ?? 8787 });

  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    acceptAgent(request, socket, head).catch((error) => {
      log(`agent upgrade failed: ${String(error)}`);
      rejectUpgrade(socket, 503, 'Service Unavailable');
    });
  });

  async function acceptAgent(request: IncomingMessage, socket: Duplex, head: Buffer) {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (url.pathname !== AGENT_CONNECT_PATH) return rejectUpgrade(socket, 404, 'Not Found');
    const admission = await admitAgent(deps, {
      cluster: url.searchParams.get('cluster'),
      authorization: request.headers.authorization ?? null,
    });
    if (!admission.accepted) return rejectUpgrade(socket, admission.status, admission.message);
    const coordinator = await coordinators.forExistingCluster(admission.clusterName);
    agentSockets.handleUpgrade(request, socket, head, (ws) =>
      attachAgent(ws, coordinator, admission.identity),
    );
  }

  // Liveness of agent sockets: agents ping every interval, so any frame proves a link alive. One
  // sweep over all sockets (not a timer each) probes a link that went quiet with a transport ping
  // and cuts one silent for SILENT_INTERVALS_BEFORE_CUT intervals; the coordinator sees a close.
  const heartbeatIntervalMs = deps.config.heartbeatIntervalMs ?? HEARTBEAT_INTERVAL_MS;
  const lastHeardAtMs = new Map<WebSocket, number>();
  const livenessSweep = setInterval(() => {
    const nowMs = Date.now();
    for (const [ws, heardAtMs] of lastHeardAtMs) {
      const silentMs = nowMs - heardAtMs;
      if (silentMs > SILENT_INTERVALS_BEFORE_CUT * heartbeatIntervalMs) ws.terminate();
      else if (silentMs > heartbeatIntervalMs) ws.ping();
    }
  }, heartbeatIntervalMs);
  livenessSweep.unref();

  function attachAgent(ws: WebSocket, coordinator: ClusterCoordinator, identity: AgentIdentity) {
    const link = linkFor(ws, identity);
    const budget = new FrameBudget(Date.now);
    const heard = () => lastHeardAtMs.set(ws, Date.now());
    heard();
    ws.on('pong', heard);
    ws.on('message', (data, isBinary) => {
      heard();
      const raw = isBinary ? new Uint8Array(data as Buffer) : data.toString();
      onAgentSocketMessage(coordinator, link, raw, budget, log).catch((error) => {
        log(`agent frame failed on ${link.id}: ${String(error)}`);
      });
    });
    ws.on('close', () => {
      lastHeardAtMs.delete(ws);
      coordinator
        .agentClosed(link)
        .catch((error) => log(`agent close failed on ${link.id}: ${String(error)}`));
    });
    ws.on('error', (error) => {
      log(`agent socket error on ${link.id}: ${error.message}`);
      if ((error as { code?: string }).code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
        ws.close(CLOSE_CODES.frameTooLarge, 'frame too large');
      }
    });
  }

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
    close: async () => {
      coordinators.stop();
      clearInterval(livenessSweep);
      for (const client of agentSockets.clients) client.terminate();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      database.close();
    },
  };
}
