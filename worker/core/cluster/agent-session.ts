/**
 * The room's side of its agents' sockets: the hello and welcome, one handler per agent frame type
 * (a map typed against the frame union, so a frame type without a handler fails type-checking),
 * and a socket closing. Reports are batched (group commit); commands sent to agents are remembered
 * until acknowledged, so a negative acknowledgement can be recorded against its task.
 */
import { and, eq, ne, or } from 'drizzle-orm';
import { tasks } from '../../../db/schema';
import {
  type AgentError,
  type AgentFrame,
  CLOSE_CODES,
  type ControlFrame,
  type FrameOf,
  HEARTBEAT_INTERVAL_MS,
  PROTOCOL_VERSION,
} from '../../../protocol';
import { AGENT_GRACE, agentLeft } from '../container-instances/agent-grace';
import { registerInstance } from '../container-instances/register';
import { reconcileAllServices, reconcileServices, servicesOfTasks } from '../services/reconcile';
import { recordRevisionDigests } from '../services/revision-digests';
import { schedulerInputsChanged } from '../services/scheduler-inputs';
import type { StreamHub } from '../streams/stream-hub';
import { type PendingReport, ReportBatcher, recordReports } from '../tasks/record-reports';
import { desiredTaskOf, taskStateOf } from '../tasks/task-record';
import { stopWithoutAgent } from '../tasks/transitions';
import type { AgentLink, AgentLinks } from './agent-links';
import type { CommandContext } from './command-context';

type Hello = FrameOf<AgentFrame, 'hello'>;
export type SessionFrame = Exclude<AgentFrame, Hello>;

/** What the session needs of its room. */
export interface SessionRoom {
  readonly links: AgentLinks;
  readonly streams: StreamHub;
  /** Runs a job in the room's queue with a command context (cluster, view, deadlines...). */
  write<T>(job: (ctx: CommandContext) => Promise<T>): Promise<T>;
  send(link: AgentLink, frame: ControlFrame): void;
  eventsWritten(): void;
  log(line: string): void;
}

/**
 * Commands remembered until their ack: enough for every command in flight to a large fleet; past
 * it the oldest are forgotten, which only means a late nack for them is logged, not recorded.
 */
const MAX_COMMANDS_IN_FLIGHT = 10_000;

type FrameHandlers = {
  [T in SessionFrame['type']]: (link: AgentLink, frame: FrameOf<SessionFrame, T>) => Promise<void>;
};

export class AgentSession {
  private readonly inFlight = new Map<string, { type: 'runTask' | 'stopTask'; taskArn: string }>();
  private readonly reports: ReportBatcher<CommandContext>;
  private readonly handlers: FrameHandlers = {
    ping: async (link, frame) => this.room.send(link, { type: 'pong', sentAtMs: frame.sentAtMs }),
    pong: async () => {},
    ack: async (_link, frame) => {
      this.inFlight.delete(frame.messageId);
    },
    nack: (link, frame) => this.recordNack(link, frame.messageId, frame.error),
    taskState: (link, frame) => {
      // Reports sent before the welcome are covered by the hello snapshot.
      const instanceArn = this.room.links.instanceOf(link);
      if (!instanceArn) return Promise.resolve();
      return this.reports.add({ instanceArn, seq: frame.seq, task: frame.task });
    },
    streamCredit: async (link, frame) => this.room.streams.frame(link, frame),
    streamEnd: async (link, frame) => this.room.streams.frame(link, frame),
  };

  constructor(private readonly room: SessionRoom) {
    this.reports = new ReportBatcher<CommandContext>(
      (job) => room.write(job),
      (ctx, batch) => this.record(ctx, batch),
    );
  }

  /** Remembers a command sent to an agent, so its nack can be recorded. */
  sent(frame: ControlFrame): void {
    if (frame.type !== 'runTask' && frame.type !== 'stopTask') return;
    if (this.inFlight.size >= MAX_COMMANDS_IN_FLIGHT) {
      const oldest = this.inFlight.keys().next().value;
      if (oldest !== undefined) this.inFlight.delete(oldest);
    }
    const taskArn = frame.type === 'runTask' ? frame.task.taskArn : frame.taskArn;
    this.inFlight.set(frame.messageId, { type: frame.type, taskArn });
  }

  frame(link: AgentLink, frame: SessionFrame): Promise<void> {
    const handler = this.handlers[frame.type] as (link: AgentLink, frame: SessionFrame) => Promise<void>;
    return handler(link, frame);
  }

  hello(link: AgentLink, hello: Hello): Promise<void> {
    if (hello.protocolVersion !== PROTOCOL_VERSION) {
      link.close(
        CLOSE_CODES.protocolError,
        `protocol version ${hello.protocolVersion} is not ${PROTOCOL_VERSION}`,
      );
      return Promise.resolve();
    }
    if (this.room.links.instanceOf(link)) {
      link.close(CLOSE_CODES.protocolError, 'hello was already sent on this connection');
      return Promise.resolve();
    }
    return this.room.write((ctx) => this.welcome(ctx, link, hello));
  }

  closed(link: AgentLink): Promise<void> {
    this.room.streams.linkClosed(link);
    return this.room.write(async (ctx) => {
      const instanceArn = this.room.links.instanceOf(link);
      this.room.links.unbind(link);
      if (!instanceArn || this.room.links.linkFor(instanceArn)) return;
      await agentLeft(ctx, instanceArn);
    });
  }

  private async welcome(ctx: CommandContext, link: AgentLink, hello: Hello): Promise<void> {
    const registration = await registerInstance(ctx.deps, ctx.cluster, ctx.view, link.identity, hello);
    if (registration.outcome === 'refused') {
      const code =
        registration.reason === 'deregistered'
          ? CLOSE_CODES.deregistered
          : registration.reason === 'revoked'
            ? CLOSE_CODES.credentialRevoked
            : registration.reason === 'tokenSpent'
              ? CLOSE_CODES.joinTokenSpent
              : CLOSE_CODES.registrationRateLimited;
      link.close(code, registration.message);
      return;
    }
    const instance = registration.row;
    if (registration.outcome === 'registered' || registration.evented) this.room.eventsWritten();
    const previous = this.room.links.linkFor(instance.arn);
    if (previous && previous.id !== link.id) {
      this.room.links.unbind(previous);
      previous.close(CLOSE_CODES.replacedByNewConnection, 'a newer connection from this instance took over');
    }
    this.room.links.bind(link, instance.arn);
    await ctx.deadlines.cancel(AGENT_GRACE, instance.arn);
    // The snapshot is the agent's present truth (only an instance that proved its credential has
    // tasks to report on); the status order keeps it from undoing anything newer.
    if (registration.outcome === 'resumed' && hello.tasks.length > 0) {
      await this.record(
        ctx,
        hello.tasks.map((task) => ({ instanceArn: instance.arn, seq: undefined, task })),
        false,
      );
    }
    const desired = await ctx.deps.db
      .select()
      .from(tasks)
      .where(
        and(
          eq(tasks.containerInstanceArn, instance.arn),
          or(eq(tasks.desiredStatus, 'RUNNING'), ne(tasks.lastStatus, 'STOPPED')),
        ),
      );
    this.room.send(link, {
      type: 'welcome',
      containerInstanceArn: instance.arn,
      instanceId: instance.instanceId,
      heartbeatIntervalMs: ctx.deps.config.heartbeatIntervalMs ?? HEARTBEAT_INTERVAL_MS,
      desiredTasks: desired.map(desiredTaskOf),
      ...(registration.outcome === 'registered' ? { instanceCredential: registration.credential } : {}),
    });
    ctx.log(
      `agent ${instance.instanceId} connected to ${ctx.cluster.name} (${desired.length} desired tasks)`,
    );
    // After the welcome, so the agent knows who it is before it hears of new tasks: an instance
    // joining (or coming back) may be where a service's tasks can go.
    await reconcileAllServices(ctx);
  }

  /** Records a batch, then runs the scheduler of every service whose tasks it changed (unless the caller will). */
  private async record(ctx: CommandContext, batch: PendingReport[], reconcile = true): Promise<void> {
    const { events, changes } = await recordReports(ctx.deps, ctx.view, batch);
    if (events > 0) this.room.eventsWritten();
    await recordRevisionDigests(
      ctx,
      changes.map((c) => c.after),
    );
    // A report that changes nothing the scheduler reads (pull times, a container's runtime id, ...)
    // leaves every decision as it was: no scheduler run for it.
    const relevant = changes.filter((c) => schedulerInputsChanged(c.before, c.after)).map((c) => c.after);
    if (reconcile) await reconcileServices(ctx, servicesOfTasks(relevant));
  }

  /**
   * An agent could not accept a command. A retryable refusal waits for the agent's next welcome,
   * which carries the desired state again; a task the agent can never start is recorded as failed
   * to start, with the agent's error as the reason, instead of staying PENDING forever.
   */
  private async recordNack(link: AgentLink, messageId: string, error: AgentError): Promise<void> {
    const command = this.inFlight.get(messageId);
    this.inFlight.delete(messageId);
    this.room.log(
      `agent link ${link.id} refused ${command?.type ?? 'command'} ${messageId}: ${error.name}${error.retryable ? ' (retryable)' : ''}: ${error.message}`,
    );
    if (command?.type !== 'runTask' || error.retryable) return;
    await this.room.write(async (ctx) => {
      const row = ctx.view.taskRows.get(command.taskArn);
      if (!row || row.containerInstanceArn !== this.room.links.instanceOf(link)) return;
      const reason = `${error.name}: ${error.message}`.slice(0, 255);
      await ctx.saveTask(
        row,
        stopWithoutAgent(taskStateOf(row), 'TaskFailedToStart', reason, ctx.deps.now()),
      );
    });
  }
}
