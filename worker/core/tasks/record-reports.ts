/**
 * Agent task reports, recorded in batches. Reports that arrive while a write is in flight are
 * gathered and written together in one database batch (group commit): at scale most frames are
 * reports, and one fsync per batch instead of per report is what keeps up with thousands of hosts.
 */
import { sql } from 'drizzle-orm';
import { type TaskRow, tasks } from '../../../db/schema';
import type { ObservedTask } from '../../../protocol/agent-protocol';
import type { ClusterView } from '../cluster/cluster-view';
import type { CoreDeps } from '../deps';
import { taskEventsInsert } from '../events/task-events';
import { taskStateColumns, taskStateOf } from './task-record';
import { applyReport } from './transitions';

export interface PendingReport {
  /** The instance whose socket carried the report: only the instance holding a task may report on it. */
  instanceArn: string;
  /** undefined for a hello snapshot, which is the agent's present truth and newer than anything recorded. */
  seq: number | undefined;
  task: ObservedTask;
}

/**
 * The task columns an agent report can change, and the only ones its upsert writes; everything else
 * about a task is fixed at RunTask, except its tags, which TagResource writes outside the room.
 */
const REPORTED_COLUMNS = [
  'lastStatus',
  'desiredStatus',
  'generation',
  'reportSeq',
  'version',
  'containersJson',
  'stopCode',
  'stoppedReason',
  'startedAtMs',
  'pullStartedAtMs',
  'pullStoppedAtMs',
  'stoppingAtMs',
  'stoppedAtMs',
  'executionStoppedAtMs',
] as const satisfies readonly (keyof TaskRow)[];

/** Rows per statement: well under SQLite's bound-variable limit at ~30 columns a row. */
const ROWS_PER_STATEMENT = 200;

/**
 * Applies reports in arrival order and writes every change in one batch: the changed tasks as a
 * few multi-row upserts and their events as a few multi-row inserts, rather than two statements
 * per report. Returns how many events were written, and each changed task as it was before the
 * batch and after it.
 */
export async function recordReports(deps: CoreDeps, view: ClusterView, reports: PendingReport[]) {
  const changed = new Map<string, TaskRow>();
  const before = new Map<string, TaskRow>();
  const evented: TaskRow[] = [];
  for (const report of reports) {
    // The view holds every task of the cluster that has not stopped, and a stopped task's record is
    // final, so a report on any task outside it changes nothing: no database read for it either
    // (an agent can't make the control plane read the table by reporting made-up task ARNs).
    const row = view.taskRows.get(report.task.taskArn);
    if (!row || row.containerInstanceArn !== report.instanceArn) continue;
    const next = applyReport(taskStateOf(row), report.task, report.seq ?? row.reportSeq + 1, deps.now());
    if (!next) continue;
    const updated: TaskRow = { ...row, ...taskStateColumns(next) };
    if (!before.has(row.arn)) before.set(row.arn, row);
    changed.set(updated.arn, updated);
    if (next.version !== row.version) evented.push(updated);
    // The view holds the newest row, so the next report on this task in the same batch builds on it.
    view.trackTask(updated);
  }
  const rows = [...changed.values()];
  const writes = [];
  for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
    writes.push(
      deps.db
        .insert(tasks)
        .values(rows.slice(i, i + ROWS_PER_STATEMENT))
        .onConflictDoUpdate({ target: tasks.arn, set: excludedColumns(REPORTED_COLUMNS) }),
    );
  }
  for (let i = 0; i < evented.length; i += ROWS_PER_STATEMENT) {
    writes.push(taskEventsInsert(deps, evented.slice(i, i + ROWS_PER_STATEMENT)));
  }
  if (writes.length > 0) await deps.db.batch(writes as [(typeof writes)[number], ...typeof writes]);
  return {
    events: evented.length,
    changes: rows.map((after) => ({ before: before.get(after.arn)!, after })),
  };
}

/** `SET col = excluded.col` for each column: an upsert that overwrites only what a report changes. */
function excludedColumns(columns: readonly (keyof TaskRow)[]) {
  return Object.fromEntries(columns.map((key) => [key, sql.raw(`excluded.${getColumnName(key)}`)]));
}

function getColumnName(key: keyof TaskRow): string {
  return tasks[key].name;
}

/**
 * Collects reports and asks for one flush job at a time; reports that arrive while a flush is
 * queued or running join the next one. `queue` runs a job in the room's queue with its context.
 */
export class ReportBatcher<Ctx> {
  private pending: PendingReport[] = [];
  private flushQueued = false;

  constructor(
    private readonly queue: (job: (ctx: Ctx) => Promise<void>) => Promise<void>,
    private readonly flush: (ctx: Ctx, reports: PendingReport[]) => Promise<void>,
  ) {}

  add(report: PendingReport): Promise<void> {
    this.pending.push(report);
    if (this.flushQueued) return Promise.resolve();
    this.flushQueued = true;
    return this.queue(async (ctx) => {
      this.flushQueued = false;
      await this.flush(ctx, this.pending.splice(0));
    });
  }
}
