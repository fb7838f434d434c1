/**
 * A cluster's room: every write that changes the cluster's placement, tasks or instances runs here,
 * one at a time (a serial queue), against an in-memory view that only the room changes. The room is
 * small on purpose: the queue, the view, one `execute(command, input)` for the commands of
 * CLUSTER_COMMANDS, the named deadlines, and the agent session. It reacts to an API call, an agent
 * frame or a deadline, and to nothing else. On Node it is an in-process object; on Workers the same
 * class runs inside the cluster's Durable Object.
 */
import type { ClusterRow, TaskRow } from '../../../db/schema';
import type { AgentFrame, ControlFrame, FrameOf } from '../../../protocol';
import type { StreamData } from '../../../protocol/streams';
import { requireCluster } from '../clusters/clusters';
import { armAgentGraceDeadlines } from '../container-instances/agent-grace';
import type { CoreDeps } from '../deps';
import { clientError, EcsError } from '../errors';
import { TaskEventFeed } from '../events/task-event-feed';
import { DataChannelSession, type DataChannelSocket } from '../exec/data-channel-session';
import {
  type ExecStreamInput,
  type LogStreamInput,
  openExecStream,
  openLogStream,
} from '../exec/exec-streams';
import { reconcileAllServices } from '../services/reconcile';
import { StreamHub } from '../streams/stream-hub';
import { EventDeliveries } from '../webhooks/event-deliveries';
import type { AgentLink, AgentLinks } from './agent-links';
import { AgentSession, type SessionFrame } from './agent-session';
import { ClusterView } from './cluster-view';
import type { ClusterCommand, CommandContext } from './command-context';
import {
  CLUSTER_COMMANDS,
  type CommandInput,
  type CommandName,
  type CommandOutput,
  DEADLINE_HANDLERS,
  isCommandName,
} from './commands';
import { NamedDeadlines, type WakeScheduler } from './deadlines';
import { saveTaskStates } from './save-task';
import { SerialQueue } from './serial-queue';

export type { WakeScheduler } from './deadlines';

export interface RoomOptions {
  random?: () => number;
  log?: (line: string) => void;
  scheduler?: WakeScheduler;
  /**
   * When the host last started having lost its agents' sockets. A Durable Object passes it because
   * it builds a new room on every wake-up from hibernation, which is not a restart; without it, the
   * first view load counts as the start (Node: boot).
   */
  hostStartedAtMs?: number;
  /** Opens the event subscriptions' signing secrets; without it the room sends no event webhooks. */
  serverKey?: Uint8Array;
}

export class ClusterCoordinator {
  private readonly queue = new SerialQueue();
  private view: ClusterView | undefined;
  private cluster: ClusterRow | undefined;
  /** When this room loaded its view: the grace period after a control-plane start counts from here. */
  private loadedAtMs = 0;
  private readonly eventFeed: TaskEventFeed;
  private readonly deadlines: NamedDeadlines;
  private readonly deliveries: EventDeliveries;
  private readonly session: AgentSession;
  /** Exec and logs streams over this cluster's agent links; beside the queue, never in it. */
  readonly streams: StreamHub;
  /** ExecuteCommand sessions whose data channel is open here, by session id. */
  private readonly dataChannels = new Map<string, DataChannelSession>();
  private readonly log: (line: string) => void;

  constructor(
    private readonly deps: CoreDeps,
    readonly clusterName: string,
    readonly links: AgentLinks,
    private readonly options: RoomOptions = {},
  ) {
    this.log = options.log ?? (() => {});
    this.eventFeed = new TaskEventFeed(deps);
    this.deadlines = new NamedDeadlines(
      deps,
      () => this.cluster?.arn,
      options.scheduler ?? { wakeAt: () => {} },
    );
    this.deliveries = new EventDeliveries(
      deps,
      options.serverKey,
      () => this.cluster?.arn,
      this.deadlines,
      this.log,
    );
    this.streams = new StreamHub(links, this.log);
    this.session = new AgentSession({
      links,
      streams: this.streams,
      write: (job) => this.write(job),
      send: (link, frame) => this.send(link, frame),
      eventsWritten: () => this.eventsRecorded(),
      log: this.log,
    });
  }

  /** Runs one of CLUSTER_COMMANDS. The name may come over RPC, so it is checked, not trusted. */
  execute<K extends CommandName>(name: K, input: CommandInput<K>): Promise<CommandOutput<K>> {
    if (!isCommandName(name))
      return Promise.reject(clientError(`Unknown cluster command '${String(name)}'.`));
    const command = CLUSTER_COMMANDS[name] as ClusterCommand<CommandInput<K>, CommandOutput<K>>;
    return this.write((ctx) => command(ctx, input));
  }

  /** Loads the cluster and arms its deadlines (agents that were connected before a restart, persisted ones). */
  resume(): Promise<void> {
    return this.write(async () => {});
  }

  /** Called by the host when a requested wake time has come: runs every deadline that is due. */
  onWake(): Promise<void> {
    return this.write(async (ctx) => {
      for (const { kind, key } of await this.deadlines.takeDue(this.deps.now())) {
        const handler = DEADLINE_HANDLERS[kind];
        if (handler) await handler(ctx, key);
        else this.log(`no handler for deadline ${kind}:${key}`);
      }
      this.deadlines.arm();
    });
  }

  agentHello(link: AgentLink, hello: FrameOf<AgentFrame, 'hello'>): Promise<void> {
    return this.session.hello(link, hello);
  }

  agentFrame(link: AgentLink, frame: SessionFrame): Promise<void> {
    return this.session.frame(link, frame);
  }

  /** Stream data from an agent; false when it belongs to no open stream of that link. */
  agentStreamData(link: AgentLink, data: StreamData): boolean {
    return this.streams.data(link, data);
  }

  agentClosed(link: AgentLink): Promise<void> {
    return this.session.closed(link);
  }

  /** A Server-Sent Events stream of this cluster's task state changes after `afterEventId`: beside the queue, not in it. */
  async openTaskEventStream(afterEventId: number): Promise<ReadableStream<Uint8Array>> {
    const cluster = await requireCluster(this.deps, this.clusterName);
    return this.eventFeed.open(cluster.arn, afterEventId);
  }

  /** A non-interactive exec's record stream (stdout, stderr, exit code): beside the queue, not in it. */
  openExecStream(input: ExecStreamInput): Promise<ReadableStream<Uint8Array>> {
    return openExecStream(this.deps, this.streams, this.clusterName, input);
  }

  /** A container's logs as a record stream: beside the queue, not in it. */
  openLogStream(input: LogStreamInput): Promise<ReadableStream<Uint8Array>> {
    return openLogStream(this.deps, this.streams, this.clusterName, input);
  }

  /**
   * An ExecuteCommand data channel opened on this host: the session takes the socket's messages
   * (`message`, `closed`) and runs until the exec ends. Not over RPC: a host calls it directly.
   */
  openDataChannel(sessionId: string, socket: DataChannelSocket): DataChannelSession {
    // Registered once its token is accepted: the token is single-use, so one channel per session is open.
    const session: DataChannelSession = new DataChannelSession(sessionId, socket, {
      deps: this.deps,
      streams: this.streams,
      log: this.log,
      onOpen: () => this.dataChannels.set(sessionId, session),
      onDone: () => {
        if (this.dataChannels.get(sessionId) === session) this.dataChannels.delete(sessionId);
      },
    });
    return session;
  }

  /** SSM TerminateSession: ends the session if its data channel is open here. */
  async terminateExecSession(sessionId: string): Promise<void> {
    this.dataChannels.get(sessionId)?.terminate('the session was terminated (TerminateSession)');
  }

  /**
   * Runs a job in the queue with a command context. If it fails for any reason other than the
   * caller's input, the view may be ahead of the database, so it is dropped and reloaded on next use.
   */
  private write<T>(job: (ctx: CommandContext) => Promise<T>): Promise<T> {
    return this.queue.run(async () => {
      try {
        return await job(await this.context());
      } catch (error) {
        if (!(error instanceof EcsError)) this.view = undefined;
        throw error;
      }
    });
  }

  private async context(): Promise<CommandContext> {
    const cluster = await requireCluster(this.deps, this.clusterName);
    this.cluster = cluster;
    const firstLoad = !this.view;
    if (!this.view) {
      this.view = await ClusterView.load(this.deps.db, cluster.arn);
      this.loadedAtMs = this.options.hostStartedAtMs ?? this.deps.now();
    }
    const ctx = this.contextFor(cluster, this.view);
    if (firstLoad) {
      await this.deadlines.load(cluster.arn);
      await armAgentGraceDeadlines(ctx);
      // Deployments are state in the database: a room that (re)loads takes each service's next step.
      await reconcileAllServices(ctx);
      // Deliveries left pending by a restart (or queued while no room ran) go out now.
      this.deliveries.kick();
    }
    return ctx;
  }

  private contextFor(cluster: ClusterRow, view: ClusterView): CommandContext {
    const { deps, links, deadlines, log } = this;
    return {
      deps,
      cluster,
      view,
      deadlines,
      log,
      random: this.options.random ?? Math.random,
      loadedAtMs: this.loadedAtMs,
      saveTask: async (row, next) => {
        const [saved] = await saveTaskStates(deps, view, [{ row, next }]);
        if (saved!.version !== row.version) this.eventsRecorded();
        return saved!;
      },
      saveTasks: async (changes, alongside) => {
        const saved = await saveTaskStates(deps, view, changes, alongside);
        if (saved.some((row, i) => row.version !== changes[i]?.row.version)) this.eventsRecorded();
        return saved;
      },
      tasksCreated: (rows: TaskRow[]) => {
        for (const row of rows) view.trackTask(row);
        if (rows.length > 0) this.eventsRecorded();
      },
      eventsWritten: () => this.eventsRecorded(),
      sendToInstance: (instanceArn, frame) => {
        const link = instanceArn ? links.linkFor(instanceArn) : undefined;
        if (link) this.send(link, frame);
      },
      agentLinked: (instanceArn) => links.linkFor(instanceArn) !== undefined,
      disconnectAgent: (instanceArn, code, reason) => {
        const link = links.linkFor(instanceArn);
        if (!link) return;
        links.unbind(link);
        link.close(code, reason);
      },
    };
  }

  /** Events were committed (and with them, by the outbox trigger, their webhook deliveries). */
  private eventsRecorded(): void {
    this.eventFeed.notify();
    this.deliveries.kick();
  }

  private send(link: AgentLink, frame: ControlFrame): void {
    try {
      link.send(JSON.stringify(frame));
      this.session.sent(frame);
    } catch (error) {
      // A socket that died under us: the agent's next hello reconciles whatever this frame carried.
      this.log(`send to agent link ${link.id} failed: ${String(error)}`);
    }
  }
}
