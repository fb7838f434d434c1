/**
 * The one way a command writes tasks' new states: the rows and, for the tasks that really changed,
 * their state-change events, in one batch (with whatever else the command writes beside them, so a
 * command is one transaction); then the view, which every task write goes through.
 */
import { eq } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import { type TaskRow, tasks } from '../../../db/schema';
import type { CoreDeps } from '../deps';
import { taskEventsInsert } from '../events/task-events';
import { type TaskState, taskStateColumns } from '../tasks/task-record';
import type { ClusterView } from './cluster-view';

export interface TaskChange {
  row: TaskRow;
  next: TaskState;
}

/** Statements a command writes in the same transaction as its task changes. */
export type Alongside = BatchItem<'sqlite'>[];

export async function saveTaskStates(
  deps: CoreDeps,
  view: ClusterView,
  changes: readonly TaskChange[],
  alongside: Alongside = [],
): Promise<TaskRow[]> {
  const updated = changes.map(({ row, next }): TaskRow => ({ ...row, ...taskStateColumns(next) }));
  const writes: BatchItem<'sqlite'>[] = changes.map(({ row, next }) =>
    deps.db.update(tasks).set(taskStateColumns(next)).where(eq(tasks.arn, row.arn)),
  );
  const evented = updated.filter((row, i) => row.version !== changes[i]?.row.version);
  if (evented.length > 0) writes.push(taskEventsInsert(deps, evented));
  writes.push(...alongside);
  const [first, ...rest] = writes;
  if (first) await deps.db.batch([first, ...rest]);
  for (const row of updated) view.trackTask(row);
  return updated;
}

export async function saveTaskState(
  deps: CoreDeps,
  view: ClusterView,
  row: TaskRow,
  next: TaskState,
): Promise<TaskRow> {
  const [updated] = await saveTaskStates(deps, view, [{ row, next }]);
  return updated!;
}
