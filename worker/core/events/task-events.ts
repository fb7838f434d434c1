/**
 * Task state-change events in the shape of EventBridge's "ECS Task State Change": `detail` is the
 * task as DescribeTasks shows it, with ISO timestamps, and `detail.version` increases with every
 * change so a consumer can drop duplicates and out-of-order deliveries.
 */
import { and, asc, eq, gt } from 'drizzle-orm';
import { type TaskRow, taskEvents } from '../../../db/schema';
import type { CoreDeps } from '../deps';
import { toEcsTask } from '../tasks/task-record';

const TIME_FIELDS = [
  'createdAt',
  'startedAt',
  'pullStartedAt',
  'pullStoppedAt',
  'stoppingAt',
  'stoppedAt',
  'executionStoppedAt',
] as const;

export function taskStateChangeEvent(deps: CoreDeps, row: TaskRow, eventId: string) {
  const detail: Record<string, unknown> = { ...toEcsTask(row, { tags: false }) };
  for (const field of TIME_FIELDS) {
    const seconds = detail[field] as number | undefined;
    detail[field] = seconds === undefined ? undefined : new Date(seconds * 1000).toISOString();
  }
  detail.updatedAt = new Date(deps.now()).toISOString();
  return {
    version: '0',
    id: eventId,
    'detail-type': 'ECS Task State Change',
    source: 'aws.ecs',
    account: deps.config.accountId,
    time: new Date(deps.now()).toISOString(),
    region: deps.config.region,
    resources: [row.arn],
    detail,
  };
}

/** The row that records a task's change; the caller writes it in the same batch as the change itself. */
function taskEventRow(deps: CoreDeps, row: TaskRow) {
  return {
    clusterArn: row.clusterArn,
    taskArn: row.arn,
    taskVersion: row.version,
    createdAtMs: deps.now(),
    eventJson: JSON.stringify(taskStateChangeEvent(deps, row, deps.newId())),
  };
}

/** One multi-row INSERT for the events of several changed tasks (one statement, not one per task). */
export function taskEventsInsert(deps: CoreDeps, rows: TaskRow[]) {
  return deps.db.insert(taskEvents).values(rows.map((row) => taskEventRow(deps, row)));
}

export const taskEventInsert = (deps: CoreDeps, row: TaskRow) => taskEventsInsert(deps, [row]);

export interface StoredTaskEvent {
  id: number;
  eventJson: string;
  /** The SSE event name: task-state-change, or a service's deployment-state-change / service-action. */
  kind?: string;
}

/**
 * A stream reads the table a page at a time, and only when its client has room for more (see
 * task-event-feed.ts). 64 typical events (about 1.5 KB each) are roughly one client's buffer, so a
 * page is seldom read and then mostly left behind, and a reading client replays 12,000 events in
 * under 200 small queries.
 */
export const EVENT_PAGE_ROWS = 64;

export async function eventsAfter(
  deps: CoreDeps,
  clusterArn: string,
  afterId: number,
  limit = EVENT_PAGE_ROWS,
) {
  return deps.db
    .select({ id: taskEvents.id, eventJson: taskEvents.eventJson, kind: taskEvents.kind })
    .from(taskEvents)
    .where(and(eq(taskEvents.clusterArn, clusterArn), gt(taskEvents.id, afterId)))
    .orderBy(asc(taskEvents.id))
    .limit(limit);
}

/** One Server-Sent Events message; the id lets a reconnecting client resume with Last-Event-ID. */
export const sseMessage = (event: StoredTaskEvent) =>
  `id: ${event.id}\nevent: ${event.kind ?? 'task-state-change'}\ndata: ${event.eventJson}\n\n`;
