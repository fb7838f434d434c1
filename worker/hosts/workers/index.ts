/**
 * The Workers entry: the same Hono app as worker/node.ts, with a Durable Object per cluster as its
 * coordinator and libSQL over HTTP as its database. Everything that needs Workers types is in this
 * file; the Durable Object class below only forwards events to CoordinatorObjectHost
 * (worker/workers/), which runs the same ClusterCoordinator as the Node entry.
 */
import { DurableObject } from 'cloudflare:workers';
import type { Hono } from 'hono';
import { AGENT_CONNECT_PATH, CONNECT_REFUSAL } from '../../../protocol/agent-protocol';
import { KeyLimits, keyLimitSettings } from '../../api/auth/key-limits';
import type { CoordinatorClient } from '../../api/coordinator-directory';
import { createApp } from '../../app';
import type { AgentIdentity } from '../../core/agents/agent-admission';
import { type CoreDeps, randomHexId } from '../../core/deps';
import { MAX_DATA_CHANNEL_FRAME_BYTES } from '../../core/exec/data-channel-session';
import { clusterOfSession, DATA_CHANNEL_PATH_PREFIX, sessionIdOfPath } from '../../core/exec/execute-command';
import { decideAgentConnect } from './agent-connect';
import { CoordinatorObjectHost, type CoordinatorRpc } from './coordinator-object-host';
import { DurableCoordinators } from './durable-coordinators';
import { HIBERNATION_KEEPALIVE_PING, HIBERNATION_KEEPALIVE_PONG } from './keepalive';
import { locationHintFor } from './location-hint';
import { createWorkersDeps, serverKeyFor, type WorkersVars, workersDepsFor } from './workers-deps';

export interface Env extends WorkersVars {
  CLUSTER_COORDINATOR: DurableObjectNamespace<ClusterCoordinatorObject>;
}

/**
 * Tell the cluster's object which cluster an agent socket joins and who admission proved it is.
 * Set only by the Worker, after its checks (overwriting whatever the client sent); a Durable
 * Object is reachable only through the Worker.
 */
const CLUSTER_HEADER = 'X-Berth-Cluster';
const IDENTITY_HEADER = 'X-Berth-Agent-Identity';
/** Set by the Worker on a data channel it forwards: the ExecuteCommand session it opens. */
const DATA_CHANNEL_HEADER = 'X-Berth-Data-Channel';

const log = (line: string) => console.log(`[berth] ${line}`);

type Args<M extends keyof CoordinatorClient> = Parameters<CoordinatorClient[M]>;

/**
 * The object's one alarm, asked for by the room's deadlines and the restart watchdog. A request
 * replaces the pending alarm only when it is earlier, even when the pending one is already past
 * due: that one is about to fire, and its handler asks again for whatever comes next. Requests made
 * while the alarm handler runs are gathered and the earliest is set as the handler ends, because
 * the runtime clears the alarm that fired once its handler returns. Requests run one at a time, so
 * two of them never both read the same pending alarm and the later wake overwrites the earlier.
 */
class ObjectAlarm {
  private requests: Promise<void> = Promise.resolve();
  private firing = false;
  private askedWhileFiring: number | undefined;

  constructor(private readonly storage: DurableObjectStorage) {}

  wakeAt(whenMs: number): void {
    if (this.firing) {
      this.askedWhileFiring = Math.min(this.askedWhileFiring ?? Number.POSITIVE_INFINITY, whenMs);
      return;
    }
    this.requests = this.requests
      .then(async () => {
        const pendingMs = await this.storage.getAlarm();
        if (pendingMs === null || whenMs < pendingMs) await this.storage.setAlarm(whenMs);
      })
      .catch((error) => log(`setting the alarm failed: ${String(error)}`));
  }

  async fire(handle: () => Promise<void>): Promise<void> {
    this.firing = true;
    this.askedWhileFiring = undefined;
    try {
      await handle();
    } finally {
      this.firing = false;
      const next = this.askedWhileFiring;
      this.askedWhileFiring = undefined;
      await this.requests;
      if (next !== undefined) {
        const pendingMs = await this.storage.getAlarm();
        // A request made outside the handler meanwhile may already be earlier.
        if (pendingMs === null || pendingMs <= Date.now() || next < pendingMs)
          await this.storage.setAlarm(next);
      }
    }
  }
}

export class ClusterCoordinatorObject extends DurableObject<Env> implements CoordinatorRpc {
  private readonly host: CoordinatorObjectHost<WebSocket>;
  private readonly objectAlarm: ObjectAlarm;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.objectAlarm = new ObjectAlarm(ctx.storage);
    this.host = new CoordinatorObjectHost({
      deps: workersDepsFor(env),
      sockets: (tag) => ctx.getWebSockets(tag),
      lastKeepaliveAtMs: (socket) => ctx.getWebSocketAutoResponseTimestamp(socket)?.getTime(),
      storage: { kv: ctx.storage.kv, wakeAt: (whenMs) => this.objectAlarm.wakeAt(whenMs) },
      log,
      // Without the key the room sends no event webhooks; the Worker refuses every API call anyway.
      serverKey: env.BERTH_SERVER_KEY ? serverKeyFor(env) : undefined,
    });
    ctx.setWebSocketAutoResponse(
      new WebSocketRequestResponsePair(HIBERNATION_KEEPALIVE_PING, HIBERNATION_KEEPALIVE_PONG),
    );
    // Logged on every start, including each wake-up from hibernation, so wake-ups can be seen.
    log(`cluster coordinator object started with ${ctx.getWebSockets().length} agent sockets`);
    void this.host.started();
  }

  /** Every write of the cluster, by command name (CLUSTER_COMMANDS): the one RPC method writes need. */
  execute(cluster: string, ...args: Args<'execute'>) {
    return this.host.call(cluster, 'execute', args);
  }
  openTaskEventStream(cluster: string, ...args: Args<'openTaskEventStream'>) {
    return this.host.call(cluster, 'openTaskEventStream', args);
  }
  openExecStream(cluster: string, ...args: Args<'openExecStream'>) {
    return this.host.call(cluster, 'openExecStream', args);
  }
  openLogStream(cluster: string, ...args: Args<'openLogStream'>) {
    return this.host.call(cluster, 'openLogStream', args);
  }
  terminateExecSession(cluster: string, ...args: Args<'terminateExecSession'>) {
    return this.host.call(cluster, 'terminateExecSession', args);
  }

  /** Only agent sockets, already checked by the Worker, arrive here. */
  override async fetch(request: Request): Promise<Response> {
    const dataChannel = request.headers.get(DATA_CHANNEL_HEADER);
    if (dataChannel) return this.acceptDataChannel(request, dataChannel);
    const clusterName = request.headers.get(CLUSTER_HEADER);
    const identityJson = request.headers.get(IDENTITY_HEADER);
    if (!clusterName || !identityJson || request.headers.get('Upgrade')?.toLowerCase() !== 'websocket') {
      return new Response('agent sockets only', { status: 400 });
    }
    const identity = JSON.parse(identityJson) as AgentIdentity;
    const { 0: client, 1: server } = new WebSocketPair();
    const linkId = `link-${randomHexId()}`;
    this.ctx.acceptWebSocket(server, [linkId]);
    this.host.agentAccepted(server, { linkId, clusterName, identity, acceptedAtMs: Date.now() });
    return new Response(null, { status: 101, webSocket: client });
  }

  /** An ExecuteCommand data channel: accepted without hibernation, it lives as long as its session. */
  private acceptDataChannel(request: Request, sessionId: string): Response {
    const clusterName = request.headers.get(CLUSTER_HEADER);
    if (!clusterName || request.headers.get('Upgrade')?.toLowerCase() !== 'websocket') {
      return new Response('data channels only', { status: 400 });
    }
    const { 0: client, 1: server } = new WebSocketPair();
    server.accept();
    const session = this.host.dataChannel(clusterName, sessionId, {
      send: (data) => server.send(data),
      close: (code, reason) => {
        try {
          server.close(code, reason);
        } catch {}
      },
    });
    // Binary messages come as Blobs here; reading one is async, so a chain keeps their order.
    let inbox: Promise<void> = Promise.resolve();
    server.addEventListener('message', (event) => {
      const data = event.data as string | ArrayBuffer | Blob;
      if (data instanceof Blob && data.size > MAX_DATA_CHANNEL_FRAME_BYTES) {
        session.tooLarge();
        return;
      }
      inbox = inbox
        .then(async () => session.message(data instanceof Blob ? await data.arrayBuffer() : data))
        .catch((error) => log(`data channel ${sessionId}: ${String(error)}`));
    });
    server.addEventListener('close', () => session.closed());
    server.addEventListener('error', () => session.closed());
    return new Response(null, { status: 101, webSocket: client });
  }

  override webSocketMessage(socket: WebSocket, message: string | ArrayBuffer): Promise<void> {
    return this.host.agentMessage(socket, message);
  }

  override async webSocketClose(socket: WebSocket, code: number, reason: string): Promise<void> {
    await this.host.agentClosed(socket);
    try {
      // Completes the closing handshake; the runtime may already have done so.
      socket.close(code === 1005 || code === 1006 ? 1000 : code, reason);
    } catch {}
  }

  override async webSocketError(socket: WebSocket, error: unknown): Promise<void> {
    log(`agent socket error: ${String(error)}`);
    await this.host.agentClosed(socket);
  }

  override alarm(): Promise<void> {
    return this.objectAlarm.fire(() => this.host.alarm());
  }
}

/** The cluster's object, created near the configured region the first time it is used. */
function coordinatorStub(env: Env, clusterName: string): DurableObjectStub<ClusterCoordinatorObject> {
  const locationHint = locationHintFor(workersDepsFor(env).config.region);
  return env.CLUSTER_COORDINATOR.get(env.CLUSTER_COORDINATOR.idFromName(clusterName), { locationHint });
}

/**
 * A fresh app, and with it a fresh libSQL client, for every request of the stateless Worker: the
 * runtime cancels a promise that one request's I/O resolves for another, and a client shared by
 * concurrent requests does exactly that (a burst of agent connects got 500s). A client is only a
 * URL and a token, and the app a few routes, so this costs microseconds. Durable Objects keep one
 * per object (workersDepsFor): their requests share one I/O context.
 */
/**
 * The app is built per request, but per-key rates and stream counts must outlive one: they live as
 * long as the isolate (docs/security.md: per isolate, not global).
 */
let isolateKeyLimits: KeyLimits | undefined;

function appForRequest(env: Env): Hono {
  const deps = createWorkersDeps(env);
  const coordinators = new DurableCoordinators(deps, (clusterName) => coordinatorStub(env, clusterName));
  isolateKeyLimits ??= new KeyLimits(keyLimitSettings(deps.config), Date.now);
  const app = createApp({
    deps,
    coordinators,
    log,
    serverKey: serverKeyFor(env),
    keyLimits: isolateKeyLimits,
    // Set by Cloudflare's edge from the connecting peer; a client can't choose it.
    sourceAddressOf: (c) => c.req.header('CF-Connecting-IP'),
  });
  app.get(AGENT_CONNECT_PATH, (c) => connectAgent(c.req.raw, env, deps));
  app.get(`${DATA_CHANNEL_PATH_PREFIX}:sessionId`, (c) => connectDataChannel(c.req.raw, env, deps));
  return app;
}

async function connectAgent(request: Request, env: Env, deps: CoreDeps): Promise<Response> {
  const decision = await decideAgentConnect(deps, request);
  if (!decision.accepted) {
    const headers: Record<string, string> =
      'refusal' in decision && decision.refusal ? { [CONNECT_REFUSAL.header]: decision.refusal } : {};
    return new Response(decision.message, { status: decision.status, headers });
  }
  const forwarded = new Request(request);
  forwarded.headers.set(CLUSTER_HEADER, decision.clusterName);
  forwarded.headers.set(IDENTITY_HEADER, JSON.stringify(decision.identity));
  forwarded.headers.delete(DATA_CHANNEL_HEADER);
  return coordinatorStub(env, decision.clusterName).fetch(forwarded);
}

/** A data channel goes to the object of the session's cluster, where the task's agent is linked. */
async function connectDataChannel(request: Request, env: Env, deps: CoreDeps): Promise<Response> {
  const sessionId = sessionIdOfPath(new URL(request.url).pathname);
  const clusterName = sessionId ? await clusterOfSession(deps, sessionId) : undefined;
  if (!sessionId || !clusterName) return new Response('Not Found', { status: 404 });
  if (request.headers.get('Upgrade')?.toLowerCase() !== 'websocket') {
    return new Response('a WebSocket upgrade is expected', { status: 426 });
  }
  const forwarded = new Request(request);
  forwarded.headers.set(CLUSTER_HEADER, clusterName);
  forwarded.headers.set(DATA_CHANNEL_HEADER, sessionId);
  return coordinatorStub(env, clusterName).fetch(forwarded);
}

export default {
  fetch: (request, env, ctx) => appForRequest(env).fetch(request, env, ctx),
} satisfies ExportedHandler<Env>;
