/**
 * The one way a command writes a task's new state: the row and, when the task really changed, its
 * state-change event, in one batch; then the view, which every task write goes through.
 */
import { eq } from 'drizzle-orm';
import { type TaskRow, tasks } from '../../../db/schema';
import type { CoreDeps } from '../deps';
import { taskEventInsert } from '../events/task-events';
import { type TaskState, taskStateColumns } from '../tasks/task-record';
import type { ClusterView } from './cluster-view';

export async function saveTaskState(
  deps: CoreDeps,
  view: ClusterView,
  row: TaskRow,
  next: TaskState,
): Promise<TaskRow> {
  const updated: TaskRow = { ...row, ...taskStateColumns(next) };
  const update = deps.db.update(tasks).set(taskStateColumns(next)).where(eq(tasks.arn, row.arn));
  if (next.version === row.version) await update;
  else await deps.db.batch([update, taskEventInsert(deps, updated)]);
  view.trackTask(updated);
  return updated;
}
