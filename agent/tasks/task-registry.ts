/**
 * Every task this agent holds: applies commands and the welcome's desired state (fenced by
 * generation), takes inventory of the runtime, and turns task changes into sequenced reports.
 *
 * Invariants:
 * - A command is recorded in the state file before it is acknowledged, and acted on after; one
 *   that cannot be recorded is refused (CommandRefused, answered with a nack).
 * - A command whose generation is not newer than the task's is a duplicate or late: it does nothing.
 * - Nothing is stopped because the control plane did not mention it; only a desired STOPPED stops.
 * - `seq` grows with every report about a task, the hello snapshot included, across restarts.
 */
import type { AgentFrame } from '../../protocol/frames';
import { CONTAINER_LABELS } from '../../protocol/labels';
import type { DesiredTask, ObservedTask } from '../../protocol/task-frames';
import { CommandRefused, errorMessage } from '../errors';
import type { AgentTasks, RunTask, StopTask, Welcome } from '../handlers/types';
import { describeRuntimeError } from '../runtime/runtime-error';
import type { ContainerRuntime, ContainerState } from '../runtime/types';
import type { PersistedTask, StateStore } from '../state/state-file';
import { STOPPED_TASK_RETENTION_MS } from '../timing';
import { TaskController } from './task-controller';

export interface TaskRegistryDeps {
  runtime: ContainerRuntime;
  cluster: string;
  now(): number;
  log(line: string): void;
  /** Sends a frame if the link is welcomed; false when it is not (the next hello covers it). */
  send(frame: AgentFrame): boolean;
}

function newRecord(taskArn: string, generation: number): PersistedTask {
  return {
    taskArn,
    generation,
    desiredStatus: 'RUNNING',
    seq: 0,
    observed: { taskArn, generation, lastStatus: 'PENDING', containers: [] },
  };
}

export class TaskRegistry implements AgentTasks {
  private readonly controllers = new Map<string, TaskController>();
  /** The observed state last reported per task, to report only real changes. */
  private readonly reported = new Map<string, string>();
  /** What the last hello said per task, to re-send what changed before the welcome arrived. */
  private snapshot = new Map<string, string>();
  private closed = false;
  /** Set when shutdown begins: commands from then on are refused rather than half-done. */
  private closing = false;
  private resyncing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: StateStore,
    private readonly deps: TaskRegistryDeps,
  ) {
    for (const record of store.state.tasks) {
      this.addController(record);
      this.reported.set(record.taskArn, JSON.stringify(record.observed));
    }
  }

  task(taskArn: string): TaskController | undefined {
    return this.controllers.get(taskArn);
  }

  // ---- commands ----

  /** Resolves when the command is recorded and may be acknowledged; rejects with CommandRefused otherwise. */
  async runTask(command: RunTask): Promise<void> {
    this.refuseWhileClosing(command);
    this.accept(command.task);
    await this.record(command);
    this.controllers.get(command.task.taskArn)?.reevaluate();
  }

  async stopTask(command: StopTask): Promise<void> {
    this.refuseWhileClosing(command);
    this.acceptStop(command.taskArn, command.generation, command.reason);
    await this.record(command);
    this.controllers.get(command.taskArn)?.reevaluate();
  }

  private refuseWhileClosing(command: RunTask | StopTask): void {
    if (this.closing) {
      throw new CommandRefused('AgentStopping', `the agent is stopping; ${command.type} not accepted`, true);
    }
  }

  /**
   * Makes the command durable. Even a duplicate waits for this and is then re-evaluated (which does
   * nothing when all is well): an earlier copy may have been taken in memory and refused because
   * the write failed, and this write is the one that records it.
   */
  private async record(command: RunTask | StopTask): Promise<void> {
    try {
      await this.store.save();
    } catch (error) {
      throw new CommandRefused(
        'StateFileWriteFailed',
        `could not record ${command.type} in the state file: ${errorMessage(error)}`,
        true,
      );
    }
  }

  /** Takes a newer desired state in memory; a duplicate or an older one changes nothing. */
  private accept(desired: DesiredTask): void {
    const existing = this.controllers.get(desired.taskArn);
    if (existing && desired.generation <= existing.record.generation) {
      // A task found from labels alone takes the spec of its own generation.
      if (!existing.record.spec && desired.generation === existing.record.generation) {
        existing.record.spec = desired;
        existing.adoptSpec();
      }
      return;
    }
    const controller = existing ?? this.addNew(desired.taskArn, desired.generation);
    const record = controller.record;
    record.generation = desired.generation;
    record.observed.generation = desired.generation;
    record.desiredStatus = desired.desiredStatus;
    record.spec = desired;
    if (desired.desiredStatus === 'STOPPED') record.stopReason = desired.stoppedReason;
    controller.adoptSpec();
  }

  private acceptStop(taskArn: string, generation: number, reason: string): void {
    const existing = this.controllers.get(taskArn);
    if (existing && generation <= existing.record.generation) return;
    const controller = existing ?? this.addNew(taskArn, generation);
    controller.record.generation = generation;
    controller.record.observed.generation = generation;
    controller.record.desiredStatus = 'STOPPED';
    controller.record.stopReason = reason;
  }

  private addNew(taskArn: string, generation: number): TaskController {
    const record = newRecord(taskArn, generation);
    this.store.state.tasks.push(record);
    return this.addController(record);
  }

  private addController(record: PersistedTask): TaskController {
    const controller = new TaskController(record, {
      runtime: this.deps.runtime,
      cluster: this.deps.cluster,
      instanceId: () => this.store.state.instanceId,
      now: this.deps.now,
      log: this.deps.log,
      onChange: (task) => this.report(task),
    });
    this.controllers.set(record.taskArn, controller);
    return controller;
  }

  // ---- the link ----

  /** The tasks for hello. The snapshot counts as a report (the control plane records it as one), so seq moves. */
  async helloSnapshot(): Promise<ObservedTask[]> {
    const included = this.store.state.tasks.filter((r) => r.confirmedStoppedAtMs === undefined);
    this.snapshot = new Map();
    for (const record of included) {
      record.seq++;
      const json = JSON.stringify(record.observed);
      this.snapshot.set(record.taskArn, json);
      this.reported.set(record.taskArn, json);
    }
    await this.store.save();
    return included.map((r) => structuredClone(r.observed));
  }

  async reconcile(welcome: Welcome): Promise<void> {
    const state = this.store.state;
    state.instanceId = welcome.instanceId;
    state.containerInstanceArn = welcome.containerInstanceArn;
    if (welcome.instanceCredential) state.instanceCredential = welcome.instanceCredential;
    const listed = new Set<string>();
    for (const desired of welcome.desiredTasks) {
      listed.add(desired.taskArn);
      this.accept(desired);
    }
    const nowMs = this.deps.now();
    for (const record of state.tasks) {
      // Absent from the welcome and stopped here: the control plane has recorded it, so hello can drop it.
      if (listed.has(record.taskArn)) record.confirmedStoppedAtMs = undefined;
      else if (record.observed.lastStatus === 'STOPPED') record.confirmedStoppedAtMs ??= nowMs;
    }
    const expired = state.tasks.filter(
      (r) =>
        r.confirmedStoppedAtMs !== undefined && nowMs - r.confirmedStoppedAtMs > STOPPED_TASK_RETENTION_MS,
    );
    for (const record of expired) {
      this.controllers.delete(record.taskArn);
      this.reported.delete(record.taskArn);
    }
    state.tasks = state.tasks.filter((r) => !expired.includes(r));
    await this.store.save();
    for (const controller of this.controllers.values()) controller.reevaluate();
    // Changes made between the hello and the welcome were not sent (the control plane ignores them then).
    for (const [taskArn, json] of this.snapshot) {
      const record = this.controllers.get(taskArn)?.record;
      if (record && JSON.stringify(record.observed) !== json) this.send(record);
    }
  }

  private report(task: TaskController): void {
    if (this.closed) return;
    const record = task.record;
    const json = JSON.stringify(record.observed);
    if (this.reported.get(record.taskArn) === json) return;
    this.reported.set(record.taskArn, json);
    record.seq++;
    const frame: AgentFrame = { type: 'taskState', seq: record.seq, task: JSON.parse(json) as ObservedTask };
    // Sent only once the seq is durable: a restart must never reuse it.
    this.store.save().then(
      () => {
        if (!this.closed) this.deps.send(frame);
      },
      (error: unknown) => this.deps.log(`could not write the state file: ${errorMessage(error)}`),
    );
  }

  private send(record: PersistedTask): void {
    this.deps.send({ type: 'taskState', seq: record.seq, task: structuredClone(record.observed) });
  }

  // ---- the runtime ----

  /** Re-inspects every container of this cluster and acts on what changed while nobody was watching. */
  resync(): Promise<void> {
    const run = this.resyncing.then(() => this.takeInventory());
    this.resyncing = run.catch(() => undefined);
    return run;
  }

  private async takeInventory(): Promise<void> {
    const states = await this.deps.runtime.listContainers({ [CONTAINER_LABELS.cluster]: this.deps.cluster });
    const byTask = new Map<string, ContainerState[]>();
    for (const state of states) {
      const taskArn = state.labels[CONTAINER_LABELS.taskArn];
      if (taskArn) byTask.set(taskArn, [...(byTask.get(taskArn) ?? []), state]);
    }
    for (const [taskArn, found] of byTask) {
      if (this.controllers.has(taskArn)) continue;
      // Containers of another agent on the same engine carry another instance id: not ours to adopt.
      const instanceId = this.store.state.instanceId;
      if (!instanceId || !found.some((s) => s.labels[CONTAINER_LABELS.instanceId] === instanceId)) continue;
      const generation = Math.max(...found.map((s) => Number(s.labels[CONTAINER_LABELS.generation]) || 0));
      this.deps.log(`adopting containers of ${taskArn} found without a record in the state file`);
      this.addNew(taskArn, generation);
    }
    for (const controller of [...this.controllers.values()]) {
      controller.observeInventory(byTask.get(controller.taskArn) ?? []);
    }
    await this.store.save();
    for (const controller of this.controllers.values()) controller.reevaluate();
  }

  async onContainerEvent(containerId: string): Promise<void> {
    let state: ContainerState | undefined;
    try {
      state = await this.deps.runtime.inspectContainer(containerId);
    } catch (error) {
      this.deps.log(`could not inspect container ${containerId}: ${describeRuntimeError(error)}`);
      return;
    }
    const taskArn = state?.labels[CONTAINER_LABELS.taskArn];
    if (state && taskArn) this.controllers.get(taskArn)?.observe(state);
  }

  /** Agent shutdown: no more commands, reports or writes; containers are left as they are. */
  async close(): Promise<void> {
    this.closing = true;
    await Promise.all([...this.controllers.values()].map((c) => c.detach()));
    await this.store.save().catch(() => undefined);
    this.closed = true;
  }
}
