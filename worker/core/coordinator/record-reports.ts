/**
 * Agent task reports, recorded in batches. Reports that arrive while a write is in flight are
 * gathered and written together in one database batch (group commit): at scale most frames are
 * reports, and one fsync per batch instead of per report is what keeps up with thousands of hosts.
 */
import { eq } from 'drizzle-orm';
import { type TaskRow, tasks } from '../../../db/schema';
import type { ObservedTask } from '../../../protocol/agent-protocol';
import type { CoreDeps } from '../deps';
import { taskEventInsert } from '../events/task-events';
import { taskStateColumns, taskStateOf } from '../tasks/task-record';
import { applyReport } from '../tasks/transitions';
import type { ClusterView } from './cluster-view';

export interface PendingReport {
  /** The instance whose socket carried the report: only the instance holding a task may report on it. */
  instanceArn: string;
  /** undefined for a hello snapshot, which is the agent's present truth and newer than anything recorded. */
  seq: number | undefined;
  task: ObservedTask;
}

/** Applies reports in arrival order and writes every change in one batch. Returns the rows that changed. */
export async function recordReports(deps: CoreDeps, view: ClusterView, reports: PendingReport[]) {
  const writes = [];
  let events = 0;
  for (const report of reports) {
    const row = view.taskRows.get(report.task.taskArn) ?? (await loadTask(deps, report.task.taskArn));
    if (!row || row.containerInstanceArn !== report.instanceArn) continue;
    const next = applyReport(taskStateOf(row), report.task, report.seq ?? row.reportSeq + 1, deps.now());
    if (!next) continue;
    const updated: TaskRow = { ...row, ...taskStateColumns(next) };
    writes.push(deps.db.update(tasks).set(taskStateColumns(next)).where(eq(tasks.arn, row.arn)));
    if (next.version !== row.version) {
      writes.push(taskEventInsert(deps, updated));
      events++;
    }
    // The view holds the newest row, so the next report on this task in the same batch builds on it.
    view.trackTask(updated);
  }
  if (writes.length > 0) await deps.db.batch(writes as [(typeof writes)[number], ...typeof writes]);
  return { events };
}

async function loadTask(deps: CoreDeps, taskArn: string): Promise<TaskRow | undefined> {
  const [row] = await deps.db.select().from(tasks).where(eq(tasks.arn, taskArn));
  return row;
}

/**
 * Collects reports and asks for one flush job at a time; reports that arrive while a flush is
 * queued or running join the next one.
 */
export class ReportBatcher {
  private pending: PendingReport[] = [];
  private flushQueued = false;

  constructor(
    private readonly queueFlush: (flush: () => Promise<void>) => Promise<void>,
    private readonly flush: (reports: PendingReport[]) => Promise<void>,
  ) {}

  add(report: PendingReport): Promise<void> {
    this.pending.push(report);
    if (this.flushQueued) return Promise.resolve();
    this.flushQueued = true;
    return this.queueFlush(async () => {
      this.flushQueued = false;
      await this.flush(this.pending.splice(0));
    });
  }
}
