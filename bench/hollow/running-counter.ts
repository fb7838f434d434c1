/**
 * Counts tasks whose RUNNING report the control plane has recorded, by reading its task-event table
 * from this process (a second reader of the WAL database). Every recorded change writes its event in
 * the same batch as the change, so a RUNNING event is a durable RUNNING report. Reading the table
 * here instead of following the SSE stream keeps the measured process doing only the pipeline's
 * work; the stream would make it read back and send every event too.
 */
import { join } from 'node:path';
import { type Client, createClient } from '@libsql/client';

const POLL_INTERVAL_MS = 100;
const ROWS_PER_READ = 20_000;

export interface RunningSample {
  /** Milliseconds since the counter started. */
  atMs: number;
  running: number;
}

export class RunningCounter {
  private readonly client: Client;
  private lastEventId = 0;
  private readonly runningAtMs = new Map<string, number>();
  private readonly waiters: { count: number; resolve: () => void }[] = [];
  private readonly startedAt = performance.now();
  readonly timeline: RunningSample[] = [];
  private timer: NodeJS.Timeout | undefined;
  private reading = false;
  /** Reads that failed (e.g. the database busy); the next poll simply reads again. */
  failedReads = 0;

  constructor(dataDir: string) {
    this.client = createClient({ url: `file:${join(dataDir, 'berth.db')}` });
  }

  start(): void {
    this.timer = setInterval(() => {
      this.read().catch(() => {
        this.failedReads++;
      });
    }, POLL_INTERVAL_MS);
  }

  get running(): number {
    return this.runningAtMs.size;
  }

  /** When the RUNNING report of a task was recorded (the control plane's clock, epoch ms). */
  recordedAtMs(taskArn: string): number | undefined {
    return this.runningAtMs.get(taskArn);
  }

  /** Resolves once at least `count` tasks have a recorded RUNNING report. */
  waitForRunning(count: number): Promise<void> {
    if (this.running >= count) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ count, resolve }));
  }

  private async read(): Promise<void> {
    if (this.reading) return;
    this.reading = true;
    try {
      for (;;) {
        const result = await this.client.execute({
          sql: `SELECT id, task_arn, created_at_ms,
                  json_extract(event_json, '$.detail.lastStatus') AS last_status
                FROM task_events WHERE id > ? ORDER BY id LIMIT ?`,
          args: [this.lastEventId, ROWS_PER_READ],
        });
        for (const row of result.rows) {
          this.lastEventId = Number(row.id);
          const taskArn = String(row.task_arn);
          if (row.last_status === 'RUNNING' && !this.runningAtMs.has(taskArn))
            this.runningAtMs.set(taskArn, Number(row.created_at_ms));
        }
        if (result.rows.length < ROWS_PER_READ) break;
      }
      this.timeline.push({ atMs: performance.now() - this.startedAt, running: this.running });
      for (const waiter of [...this.waiters]) {
        if (this.running < waiter.count) continue;
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    } finally {
      this.reading = false;
    }
  }

  close(): void {
    clearInterval(this.timer);
    this.client.close();
  }
}
