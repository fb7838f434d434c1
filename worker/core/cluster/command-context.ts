/**
 * What a cluster command may use. A command is a function `(ctx, input) => output` that lives
 * beside its resource (worker/core/tasks/run-task.ts, worker/core/container-instances/deregister.ts,
 * ...) and is registered once in CLUSTER_COMMANDS (commands.ts). The room runs commands one at a
 * time, so a command sees a view that nothing else changes while it runs.
 */
import type { ClusterRow, TaskRow } from '../../../db/schema';
import type { ControlFrame } from '../../../protocol/agent-protocol';
import type { CoreDeps } from '../deps';
import type { TaskState } from '../tasks/task-record';
import type { ClusterView } from './cluster-view';
import type { NamedDeadlines } from './deadlines';
import type { Alongside, TaskChange } from './save-task';

export interface CommandContext {
  readonly deps: CoreDeps;
  /** The cluster, ACTIVE (the room answers ClusterNotFoundException before any command runs otherwise). */
  readonly cluster: ClusterRow;
  /** The cluster's capacity and non-stopped tasks, exact because the room is the only writer. */
  readonly view: ClusterView;
  /** Placement's randomness, injected so tests can fix it. */
  readonly random: () => number;
  /** When the room loaded its view: after a control-plane start, agent grace counts from here. */
  readonly loadedAtMs: number;
  readonly deadlines: NamedDeadlines;
  log(line: string): void;
  /** Writes a task's new state and, when it really changed, its state-change event, in one batch. */
  saveTask(row: TaskRow, next: TaskState): Promise<TaskRow>;
  /**
   * Writes several tasks' new states, their events and the command's other writes (`alongside`)
   * in one batch: one transaction, so a scheduler step costs one commit however much it changes.
   */
  saveTasks(changes: readonly TaskChange[], alongside?: Alongside): Promise<TaskRow[]>;
  /** Tells the room about task rows a command inserted itself (with their events): tracked, streamed. */
  tasksCreated(rows: TaskRow[]): void;
  /** Tells the room a command wrote rows to the event table itself (a service's events): streamed. */
  eventsWritten(): void;
  /** Sends a frame to the instance's agent if it is connected; an absent agent hears it in its next welcome. */
  sendToInstance(instanceArn: string | null, frame: ControlFrame): void;
  /** Whether the instance's agent has a socket to this room right now. */
  agentLinked(instanceArn: string): boolean;
  /** Closes the instance's agent socket, if it has one (deregistration). */
  disconnectAgent(instanceArn: string, code: number, reason: string): void;
}

/** A write to one cluster, run by its room. */
export type ClusterCommand<Input, Output> = (ctx: CommandContext, input: Input) => Promise<Output>;
