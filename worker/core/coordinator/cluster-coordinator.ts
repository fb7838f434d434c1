/**
 * The coordinator of one cluster: every write that changes the cluster's placement or task state
 * goes through it, one at a time (SerialQueue). It reacts to three kinds of events only: an API
 * call, an agent frame, and (later) a timer. On Node it is an in-process object; on Workers the
 * same class runs inside the cluster's Durable Object.
 */
import { and, eq, ne, or } from 'drizzle-orm';
import {
  type ClusterRow,
  type ContainerInstanceRow,
  containerInstances,
  type TaskRow,
  tasks,
} from '../../../db/schema';
import {
  type AgentFrame,
  CLOSE_CODES,
  type ControlFrame,
  type FrameOf,
  PROTOCOL_VERSION,
} from '../../../protocol/agent-protocol';
import { arnInCluster } from '../arn';
import { requireCluster } from '../clusters/clusters';
import { describeContainerInstances } from '../container-instances/container-instances';
import type { CoreDeps } from '../deps';
import { EcsError, invalidParameter } from '../errors';
import { TaskEventFeed } from '../events/task-event-feed';
import { taskEventInsert } from '../events/task-events';
import {
  desiredTaskOf,
  type TaskState,
  taskStateColumns,
  taskStateOf,
  toEcsTask,
} from '../tasks/task-record';
import { requestStop, stopWithoutAgent } from '../tasks/transitions';
import type { AgentLink, AgentLinks } from './agent-links';
import { ClusterView } from './cluster-view';
import {
  type AttributeInput,
  activeTasksOn,
  changeAttributes,
  instanceArnOf,
  setInstanceStatus,
} from './instance-admin';
import { type PendingReport, ReportBatcher, recordReports } from './record-reports';
import { registerInstance } from './register-instance';
import {
  planAndWriteRunTask,
  planAndWriteStartTask,
  type RunTaskInput,
  type RunTaskPlan,
  type StartTaskInput,
} from './run-task';
import { SerialQueue } from './serial-queue';

/** How often each side pings the other; the agent adopts the value from `welcome`. */
export const HEARTBEAT_INTERVAL_MS = 10_000;

type Hello = FrameOf<AgentFrame, 'hello'>;

export interface StopTaskInput {
  cluster?: string;
  task: string;
  reason?: string;
}

/**
 * How a coordinator asks its host to call `onWake()` at (or soon after) a time. On Node it is a
 * timer; in a Durable Object an alarm. Asking again for an earlier time replaces a later request.
 */
export interface WakeScheduler {
  wakeAt(whenMs: number): void;
}

export class ClusterCoordinator {
  private readonly queue = new SerialQueue();
  private view: ClusterView | undefined;
  /** When this coordinator loaded its view: the grace period after a control-plane start counts from here. */
  private loadedAtMs = 0;
  private readonly eventFeed: TaskEventFeed;

  constructor(
    private readonly deps: CoreDeps,
    readonly clusterName: string,
    private readonly links: AgentLinks,
    private readonly random: () => number = Math.random,
    private readonly log: (line: string) => void = () => {},
    private readonly scheduler: WakeScheduler = { wakeAt: () => {} },
    /**
     * When the host last started having lost its agents' sockets. A Durable Object passes it because
     * it builds a new coordinator on every wake-up from hibernation, which is not a restart; without
     * it, the first view load counts as the start (Node: boot).
     */
    private readonly hostStartedAtMs?: number,
  ) {
    this.eventFeed = new TaskEventFeed(deps);
  }

  /** Loads the cluster and arms the disconnect deadlines of agents that were connected before a restart. */
  resume() {
    return this.queue.run(async () => {
      const cluster = await this.cluster();
      await this.loadedView(cluster.arn);
      this.armAgentDeadlines();
    });
  }

  /** Called by the host when a requested wake time has come. */
  onWake() {
    return this.queue.run(async () => {
      const cluster = await this.cluster();
      const view = await this.loadedView(cluster.arn);
      const nowMs = this.deps.now();
      for (const { row } of view.instances.values()) {
        if (!row.agentConnected || this.links.linkFor(row.arn)) continue;
        if (this.agentDeadline(row) > nowMs) continue;
        // A disconnect is not a stop: the instance's tasks keep their status; only placement avoids it.
        const [updated] = await this.deps.db
          .update(containerInstances)
          .set({ agentConnected: false })
          .where(eq(containerInstances.arn, row.arn))
          .returning();
        view.upsertInstance(updated);
        this.log(
          `agent ${row.instanceId} marked disconnected after ${this.deps.config.agentDisconnectGraceMs} ms`,
        );
      }
      this.armAgentDeadlines();
    });
  }

  /** An agent without a socket is still counted connected until this time (grace for reconnects and restarts). */
  private agentDeadline(row: ContainerInstanceRow): number {
    return Math.max(row.lastSeenAtMs, this.loadedAtMs) + this.deps.config.agentDisconnectGraceMs;
  }

  private armAgentDeadlines(): void {
    let earliest = Number.POSITIVE_INFINITY;
    for (const { row } of this.view?.instances.values() ?? []) {
      if (row.agentConnected && !this.links.linkFor(row.arn))
        earliest = Math.min(earliest, this.agentDeadline(row));
    }
    if (earliest !== Number.POSITIVE_INFINITY) this.scheduler.wakeAt(earliest);
  }

  private async cluster() {
    return requireCluster(this.deps, this.clusterName);
  }

  private async loadedView(clusterArn: string): Promise<ClusterView> {
    if (!this.view) {
      this.view = await ClusterView.load(this.deps.db, clusterArn);
      this.loadedAtMs = this.hostStartedAtMs ?? this.deps.now();
    }
    return this.view;
  }

  /**
   * Runs a write in the queue. If it fails for any reason other than the caller's input, the
   * in-memory view may be ahead of the database, so it is dropped and reloaded on next use.
   */
  private write<T>(job: () => Promise<T>): Promise<T> {
    return this.queue.run(async () => {
      try {
        return await job();
      } catch (error) {
        if (!(error instanceof EcsError)) this.view = undefined;
        throw error;
      }
    });
  }

  /** A write that needs the cluster (still ACTIVE, else ClusterNotFoundException) and its view. */
  private writeWithView<T>(job: (cluster: ClusterRow, view: ClusterView) => Promise<T>): Promise<T> {
    return this.write(async () => {
      const cluster = await this.cluster();
      return job(cluster, await this.loadedView(cluster.arn));
    });
  }

  // ---- API calls ----

  runTask(input: RunTaskInput) {
    return this.writeWithView(async (cluster, view) => {
      const plan = await planAndWriteRunTask(this.deps, cluster, view, input, this.random);
      return this.dispatchPlan(view, plan);
    });
  }

  startTask(input: StartTaskInput) {
    return this.writeWithView(async (cluster, view) => {
      const plan = await planAndWriteStartTask(this.deps, cluster, view, input, this.random);
      return this.dispatchPlan(view, plan);
    });
  }

  /** After a plan is durable: track it, tell the agents, and answer in the order the tasks were created. */
  private dispatchPlan(view: ClusterView, plan: RunTaskPlan) {
    if (!plan.replayedTaskArns) {
      if (plan.rows.length > 0) this.notifyEventListeners();
      for (const row of plan.rows) {
        view.trackTask(row);
        this.sendToInstance(row.containerInstanceArn, {
          type: 'runTask',
          messageId: this.deps.newId(),
          task: desiredTaskOf(row),
        });
      }
    }
    const byArn = new Map(plan.rows.map((r) => [r.arn, r]));
    const ordered = plan.replayedTaskArns ? plan.replayedTaskArns.map((a) => byArn.get(a)) : plan.rows;
    return {
      tasks: ordered.filter((row) => row !== undefined).map((row) => toEcsTask(row, { tags: true })),
      failures: plan.failures,
    };
  }

  updateContainerInstancesState(input: { cluster?: string; containerInstances: string[]; status: string }) {
    return this.write(async () => {
      if (input.status !== 'ACTIVE' && input.status !== 'DRAINING') {
        throw invalidParameter(`status: must be ACTIVE or DRAINING, got ${input.status}`);
      }
      const cluster = await this.cluster();
      const view = await this.loadedView(cluster.arn);
      const { updated, failures } = await setInstanceStatus(
        this.deps,
        cluster,
        view,
        input.containerInstances,
        input.status,
      );
      const described = await describeContainerInstances(this.deps, {
        cluster: cluster.name,
        containerInstances: updated.map((r) => r.arn),
      });
      return { containerInstances: described.containerInstances, failures };
    });
  }

  deregisterContainerInstance(input: { cluster?: string; containerInstance: string; force?: boolean }) {
    return this.writeWithView(async (cluster, view) => {
      const arn = instanceArnOf(this.deps, cluster.name, input.containerInstance);
      const instance = view.instances.get(arn);
      if (!instance)
        throw invalidParameter(
          `containerInstance: ${input.containerInstance} was not found in ${cluster.name}`,
        );
      const active = await activeTasksOn(this.deps, arn);
      if (active.length > 0 && !input.force) {
        throw invalidParameter(
          `containerInstance: it has ${active.length} active tasks; stop them first or pass force to deregister anyway`,
        );
      }
      const nowMs = this.deps.now();
      for (const row of active) {
        this.sendToInstance(arn, {
          type: 'stopTask',
          messageId: this.deps.newId(),
          taskArn: row.arn,
          generation: row.generation + 1,
          reason: 'Container instance deregistered',
        });
        await this.saveTask(
          row,
          stopWithoutAgent(taskStateOf(row), 'TaskFailedToStart', 'Container instance deregistered', nowMs),
        );
      }
      const [row] = await this.deps.db
        .update(containerInstances)
        .set({ status: 'INACTIVE', agentConnected: false, version: instance.row.version + 1 })
        .where(eq(containerInstances.arn, arn))
        .returning();
      view.removeInstance(arn);
      const link = this.links.linkFor(arn);
      if (link) {
        this.links.unbind(link);
        link.close(CLOSE_CODES.deregistered, 'container instance deregistered');
      }
      const described = await describeContainerInstances(this.deps, {
        cluster: cluster.name,
        containerInstances: [row.arn],
      });
      return { containerInstance: described.containerInstances[0] };
    });
  }

  putAttributes(input: { cluster?: string; attributes: AttributeInput[] }) {
    return this.writeWithView((cluster, view) =>
      changeAttributes(this.deps, cluster, view, input.attributes, 'put'),
    );
  }

  deleteAttributes(input: { cluster?: string; attributes: AttributeInput[] }) {
    return this.writeWithView((cluster, view) =>
      changeAttributes(this.deps, cluster, view, input.attributes, 'delete'),
    );
  }

  stopTask(input: StopTaskInput) {
    return this.write(async () => {
      const cluster = await this.cluster();
      if (input.reason !== undefined && input.reason.length > 255) {
        throw invalidParameter('reason: must be at most 255 characters');
      }
      const row = await this.findTask(cluster.arn, input.task);
      const next = requestStop(
        taskStateOf(row),
        'UserInitiated',
        input.reason ?? 'Task stopped by user',
        this.deps.now(),
      );
      if (!next) return { task: toEcsTask(row, { tags: false }) };
      const updated = await this.saveTask(row, next);
      // If the agent is away the stop waits in the database: its next welcome carries it.
      this.sendToInstance(updated.containerInstanceArn, {
        type: 'stopTask',
        messageId: this.deps.newId(),
        taskArn: updated.arn,
        generation: next.generation,
        reason: next.stoppedReason ?? '',
      });
      return { task: toEcsTask(updated, { tags: false }) };
    });
  }

  /** A task of this cluster, by ARN or id: from the view when it has not stopped, else from the database. */
  private async findTask(clusterArn: string, reference: string): Promise<TaskRow> {
    const arn = arnInCluster(this.deps.config, 'task', this.clusterName, reference);
    const cached = this.view?.taskRows.get(arn);
    if (cached) return cached;
    const [row] = await this.deps.db
      .select()
      .from(tasks)
      .where(and(eq(tasks.clusterArn, clusterArn), eq(tasks.arn, arn)));
    if (!row) throw invalidParameter('task: The referenced task was not found.');
    return row;
  }

  // ---- agent events ----

  agentHello(link: AgentLink, hello: Hello) {
    return this.queue.run(async () => {
      if (hello.protocolVersion !== PROTOCOL_VERSION) {
        link.close(
          CLOSE_CODES.protocolError,
          `protocol version ${hello.protocolVersion} is not ${PROTOCOL_VERSION}`,
        );
        return;
      }
      if (this.links.instanceOf(link)) {
        link.close(CLOSE_CODES.protocolError, 'hello was already sent on this connection');
        return;
      }
      const cluster = await this.cluster();
      const view = await this.loadedView(cluster.arn);
      const registration = await registerInstance(this.deps, cluster, view, link.identity, hello);
      if (registration.outcome === 'refused') {
        const code =
          registration.reason === 'deregistered'
            ? CLOSE_CODES.deregistered
            : CLOSE_CODES.registrationRateLimited;
        link.close(code, registration.message);
        return;
      }
      const instance = registration.row;
      const previous = this.links.linkFor(instance.arn);
      if (previous && previous.id !== link.id) {
        this.links.unbind(previous);
        previous.close(
          CLOSE_CODES.replacedByNewConnection,
          'a newer connection from this instance took over',
        );
      }
      this.links.bind(link, instance.arn);
      // The snapshot is the agent's present truth (only an instance that proved its credential has
      // tasks to report on); the status order keeps it from undoing anything newer.
      const snapshot = hello.tasks.map((task) => ({ instanceArn: instance.arn, seq: undefined, task }));
      if (registration.outcome === 'resumed' && snapshot.length > 0) await this.recordBatch(view, snapshot);
      const desired = await this.deps.db
        .select()
        .from(tasks)
        .where(
          and(
            eq(tasks.containerInstanceArn, instance.arn),
            or(eq(tasks.desiredStatus, 'RUNNING'), ne(tasks.lastStatus, 'STOPPED')),
          ),
        );
      this.send(link, {
        type: 'welcome',
        containerInstanceArn: instance.arn,
        instanceId: instance.instanceId,
        heartbeatIntervalMs: this.deps.config.heartbeatIntervalMs ?? HEARTBEAT_INTERVAL_MS,
        desiredTasks: desired.map(desiredTaskOf),
        ...(registration.outcome === 'registered' ? { instanceCredential: registration.credential } : {}),
      });
      this.log(`agent ${instance.instanceId} connected to ${cluster.name} (${desired.length} desired tasks)`);
    });
  }

  agentFrame(link: AgentLink, frame: Exclude<AgentFrame, Hello>) {
    switch (frame.type) {
      case 'ping':
        this.send(link, { type: 'pong', sentAtMs: frame.sentAtMs });
        return Promise.resolve();
      case 'pong':
      case 'ack':
        return Promise.resolve();
      case 'taskState': {
        // Reports sent before the welcome are covered by the hello snapshot.
        const instanceArn = this.links.instanceOf(link);
        if (!instanceArn) return Promise.resolve();
        return this.reports.add({ instanceArn, seq: frame.seq, task: frame.task });
      }
    }
  }

  agentClosed(link: AgentLink) {
    return this.queue.run(async () => {
      const instanceArn = this.links.instanceOf(link);
      this.links.unbind(link);
      if (!instanceArn || this.links.linkFor(instanceArn)) return;
      // agentConnected stays true for a grace period: agents behind NAT reconnect often, and a blip is not an outage.
      const [row] = await this.deps.db
        .update(containerInstances)
        .set({ lastSeenAtMs: this.deps.now() })
        .where(eq(containerInstances.arn, instanceArn))
        .returning();
      if (row) this.view?.upsertInstance(row);
      // A coordinator just woken from hibernation has no view yet, and the deadline needs one.
      if (row && !this.view) await this.loadedView(row.clusterArn);
      this.armAgentDeadlines();
    });
  }

  private readonly reports = new ReportBatcher(
    (flush) => this.write(flush),
    (batch) => this.recordBatchNow(batch),
  );

  private async recordBatchNow(batch: PendingReport[]) {
    const cluster = await this.cluster();
    await this.recordBatch(await this.loadedView(cluster.arn), batch);
  }

  private async recordBatch(view: ClusterView, batch: PendingReport[]) {
    const { events } = await recordReports(this.deps, view, batch);
    if (events > 0) this.notifyEventListeners();
  }

  /** Writes a task's new state and, when it really changed, its state-change event, in one batch. */
  private async saveTask(row: TaskRow, next: TaskState): Promise<TaskRow> {
    const updated: TaskRow = { ...row, ...taskStateColumns(next) };
    const update = this.deps.db.update(tasks).set(taskStateColumns(next)).where(eq(tasks.arn, row.arn));
    if (next.version === row.version) await update;
    else await this.deps.db.batch([update, taskEventInsert(this.deps, updated)]);
    // Every task write goes through the view too: reports are applied to the view's rows.
    this.view?.trackTask(updated);
    if (next.version !== row.version) this.notifyEventListeners();
    return updated;
  }

  // ---- task state-change events ----

  private notifyEventListeners(): void {
    this.eventFeed.notify();
  }

  /** A Server-Sent Events stream of this cluster's task state changes after `afterEventId`. */
  async openTaskEventStream(afterEventId: number): Promise<ReadableStream<Uint8Array>> {
    const cluster = await this.cluster();
    return this.eventFeed.open(cluster.arn, afterEventId);
  }

  private sendToInstance(instanceArn: string | null, frame: ControlFrame): void {
    const link = instanceArn ? this.links.linkFor(instanceArn) : undefined;
    if (link) this.send(link, frame);
  }

  private send(link: AgentLink, frame: ControlFrame): void {
    try {
      link.send(JSON.stringify(frame));
    } catch (error) {
      // A socket that died under us: the agent's next hello reconciles whatever this frame carried.
      this.log(`send to agent link ${link.id} failed: ${String(error)}`);
    }
  }
}
