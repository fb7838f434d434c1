/**
 * The body of a cluster's Durable Object, kept free of Workers types so the Node type-check and
 * plain unit tests cover it: worker/index.ts declares the Durable Object class and hands every
 * event (RPC call, agent socket message or close, alarm) straight to this host, which hands it to
 * the same ClusterCoordinator the Node entry runs. Nothing here is written twice.
 *
 * Hibernation: the runtime may drop this object between any two events while its agent sockets
 * stay open. What must survive lives in each socket's attachment (see HibernatingAgentLinks) and
 * in the object's storage (the cluster name, the alarm); the coordinator's cluster view is a cache
 * it reloads from the database on the next event.
 */

import { CLOSE_CODES, HEARTBEAT_INTERVAL_MS, SILENT_INTERVALS_BEFORE_CUT } from '../../../protocol';
import type { CoordinatorClient } from '../../api/coordinator-directory';
import { FrameBudget } from '../../core/agents/frame-budget';
import { onAgentSocketMessage } from '../../core/cluster/agent-socket';
import { ClusterCoordinator, type WakeScheduler } from '../../core/cluster/cluster-coordinator';
import type { CoreDeps } from '../../core/deps';
import type { DataChannelSession, DataChannelSocket } from '../../core/exec/data-channel-session';
import {
  type AgentAttachment,
  attachmentOf,
  type HibernatableSocket,
  HibernatingAgentLinks,
  type SocketsByTag,
} from './hibernating-agent-links';
import { type RpcOutcome, settle } from './rpc-outcome';

type CoordinatorMethod = keyof CoordinatorClient;
type ResultOf<M extends CoordinatorMethod> = Awaited<ReturnType<CoordinatorClient[M]>>;

/**
 * The RPC surface of a cluster's Durable Object: `execute` (every write, by command name) and the
 * task-event stream, each with the cluster's name first (an object cannot read the name it was
 * created from), ECS errors as data. A new write adds a command, never an RPC method.
 */
export type CoordinatorRpc = {
  [M in CoordinatorMethod]: (
    clusterName: string,
    ...args: Parameters<CoordinatorClient[M]>
  ) => Promise<RpcOutcome<ResultOf<M>>>;
};

/** The object's synchronous key-value storage (`ctx.storage.kv`): it outlives hibernation and restarts. */
export interface SyncKv {
  get<T>(key: string): T | undefined;
  put<T>(key: string, value: T): void;
}

export interface CoordinatorObjectStorage extends WakeScheduler {
  kv: SyncKv;
}

const KEYS = {
  /** The cluster this object coordinates: an alarm arrives without any other clue. */
  clusterName: 'clusterName',
  /** Agent sockets open at the last accept or close; a start that finds fewer lost them unannounced. */
  agentSocketsOpen: 'agentSocketsOpen',
  /** When the runtime last restarted under connected agents; their reconnect grace counts from here. */
  restartedAtMs: 'restartedAtMs',
} as const;

export interface CoordinatorObjectHostOptions<S extends HibernatableSocket> {
  deps: CoreDeps;
  sockets: SocketsByTag<S>;
  /**
   * When the runtime last answered this socket's keepalive without waking the object
   * (`getWebSocketAutoResponseTimestamp`). Agents send one every heartbeat interval, busy or not.
   */
  lastKeepaliveAtMs?: (socket: S) => number | undefined;
  storage: CoordinatorObjectStorage;
  log: (line: string) => void;
  /** Opens event subscriptions' signing secrets (the room sends the event webhooks). */
  serverKey?: Uint8Array;
}

/**
 * While agents are connected the object keeps an alarm at most this far ahead. A deploy or a crash
 * drops every socket without a close event and nothing else would start the object again; the
 * pending alarm does, so an agent that never comes back is still marked disconnected.
 */
export const RESTART_WATCHDOG_MS = 5 * 60_000;

export class CoordinatorObjectHost<S extends HibernatableSocket> {
  private readonly links: HibernatingAgentLinks<S>;
  private coordinator: ClusterCoordinator | undefined;
  /** Per-socket frame budgets. In memory only: hibernation happens when sockets are quiet, and a fresh bucket is full. */
  private readonly frameBudgets = new Map<string, FrameBudget>();
  /** Set when this start follows a restart that dropped agent sockets without close events. */
  private readonly restarted: boolean;

  /** Built on every start of the object: the first one, each wake-up from hibernation, each restart. */
  constructor(private readonly options: CoordinatorObjectHostOptions<S>) {
    this.links = new HibernatingAgentLinks(options.sockets);
    const { kv } = options.storage;
    const open = options.sockets().length;
    this.restarted = open < (kv.get<number>(KEYS.agentSocketsOpen) ?? 0);
    if (this.restarted) {
      kv.put(KEYS.restartedAtMs, options.deps.now());
      kv.put(KEYS.agentSocketsOpen, open);
    }
  }

  /**
   * After a restart, agents that were connected get their disconnect deadlines armed, as the Node
   * entry does at boot. A wake-up from hibernation has its sockets and its alarm intact: no work.
   */
  async started(): Promise<void> {
    const clusterName = this.options.storage.kv.get<string>(KEYS.clusterName);
    if (!this.restarted || !clusterName) return;
    await this.guarded(`resume of ${clusterName}`, () => this.coordinatorFor(clusterName).resume());
  }

  /** Runs one API method of the cluster's coordinator. */
  call<M extends CoordinatorMethod>(
    clusterName: string,
    method: M,
    args: Parameters<CoordinatorClient[M]>,
  ): Promise<RpcOutcome<ResultOf<M>>> {
    return settle(() => {
      const coordinator = this.coordinatorFor(clusterName);
      const operation = coordinator[method] as (...a: typeof args) => Promise<ResultOf<M>>;
      return operation.apply(coordinator, args);
    });
  }

  /**
   * An ExecuteCommand data channel, accepted (not hibernatable: an open session keeps the object
   * awake, and an idle cluster has none) and bridged to the same session class as on Node.
   */
  dataChannel(clusterName: string, sessionId: string, socket: DataChannelSocket): DataChannelSession {
    return this.coordinatorFor(clusterName).openDataChannel(sessionId, socket);
  }

  /** Call right after `ctx.acceptWebSocket(socket, [linkId])`: the attachment is the socket's whole state. */
  agentAccepted(socket: S, attachment: AgentAttachment): void {
    socket.serializeAttachment(attachment);
    // Stored only once an agent was admitted, so the cluster is real: an API call naming a cluster
    // that doesn't exist leaves nothing in this object's storage.
    if (this.options.storage.kv.get<string>(KEYS.clusterName) !== attachment.clusterName)
      this.options.storage.kv.put(KEYS.clusterName, attachment.clusterName);
    this.options.storage.kv.put(KEYS.agentSocketsOpen, this.options.sockets().length);
    this.armRestartWatchdog();
  }

  agentMessage(socket: S, message: string | ArrayBuffer): Promise<void> {
    const link = this.links.linkOf(socket);
    let budget = this.frameBudgets.get(link.id);
    if (!budget) {
      budget = new FrameBudget(this.options.deps.now);
      this.frameBudgets.set(link.id, budget);
    }
    const frameBudget = budget;
    return this.guarded(`agent frame on ${link.id}`, () =>
      onAgentSocketMessage(this.coordinatorOfSocket(socket), link, message, frameBudget, this.options.log),
    );
  }

  agentClosed(socket: S): Promise<void> {
    const link = this.links.linkOf(socket);
    this.frameBudgets.delete(link.id);
    // The runtime may still list the closing socket.
    const stillOpen = this.options.sockets().filter((open) => open !== socket).length;
    this.options.storage.kv.put(KEYS.agentSocketsOpen, stillOpen);
    return this.guarded(`agent close on ${link.id}`, () =>
      this.coordinatorOfSocket(socket).agentClosed(link),
    );
  }

  /** The alarm the coordinator asked for through `wakeAt` (agent disconnect deadlines), or the watchdog. */
  async alarm(): Promise<void> {
    const clusterName = this.options.storage.kv.get<string>(KEYS.clusterName);
    if (!clusterName) return;
    await this.cutSilentSockets();
    await this.guarded(`wake of ${clusterName}`, () => this.coordinatorFor(clusterName).onWake());
    if (this.options.sockets().length > 0) this.armRestartWatchdog();
  }

  /**
   * A half-open socket (the host vanished behind its NAT) never closes by itself, and the runtime
   * answers keepalives without us, so nothing else would notice it: on each alarm (at least every
   * RESTART_WATCHDOG_MS while agents are connected) a socket whose keepalives stopped for
   * SILENT_INTERVALS_BEFORE_CUT intervals is closed and handled as a close, which starts its
   * instance's disconnect grace. Node's liveness sweep does the same with transport pings.
   */
  private async cutSilentSockets(): Promise<void> {
    const { deps, lastKeepaliveAtMs } = this.options;
    if (!lastKeepaliveAtMs) return;
    const silenceMs =
      SILENT_INTERVALS_BEFORE_CUT * (deps.config.heartbeatIntervalMs ?? HEARTBEAT_INTERVAL_MS);
    const nowMs = deps.now();
    for (const socket of this.options.sockets()) {
      const heardAtMs = Math.max(lastKeepaliveAtMs(socket) ?? 0, attachmentOf(socket).acceptedAtMs ?? 0);
      if (nowMs - heardAtMs <= silenceMs) continue;
      this.options.log(
        `closing agent link ${attachmentOf(socket).linkId}: no keepalive for ${nowMs - heardAtMs} ms`,
      );
      try {
        socket.close(CLOSE_CODES.heartbeatTimeout, 'no keepalive');
      } catch {}
      await this.agentClosed(socket);
    }
  }

  private armRestartWatchdog(): void {
    // wakeAt keeps an earlier pending alarm, so this never delays a disconnect deadline.
    this.options.storage.wakeAt(this.options.deps.now() + RESTART_WATCHDOG_MS);
  }

  /** A throwing handler would reset the object and every agent socket with it; one failure is not worth that. */
  private async guarded(what: string, work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (error) {
      this.options.log(`${what} failed: ${String(error)}`);
    }
  }

  private coordinatorOfSocket(socket: S): ClusterCoordinator {
    return this.coordinatorFor(attachmentOf(socket).clusterName);
  }

  private coordinatorFor(clusterName: string): ClusterCoordinator {
    if (!this.coordinator) {
      const { deps, storage, log } = this.options;
      const restartedAtMs = storage.kv.get<number>(KEYS.restartedAtMs) ?? 0;
      this.coordinator = new ClusterCoordinator(deps, clusterName, this.links, {
        log,
        scheduler: {
          wakeAt: (whenMs) => {
            // An alarm arrives with no clue but storage: keep the name of the cluster it is for
            // (a room asks only once its cluster loaded, so the name is real).
            if (storage.kv.get<string>(KEYS.clusterName) !== clusterName)
              storage.kv.put(KEYS.clusterName, clusterName);
            storage.wakeAt(whenMs);
          },
        },
        hostStartedAtMs: restartedAtMs,
        serverKey: this.options.serverKey,
      });
    }
    if (this.coordinator.clusterName !== clusterName) {
      // The Worker names each object after its cluster, so this is a routing bug, never bad input.
      throw new Error(
        `the coordinator of cluster ${this.coordinator.clusterName} was asked about ${clusterName}`,
      );
    }
    return this.coordinator;
  }
}
