/**
 * Named deadlines of one cluster's room: "agent grace for instance X" today; "deployment step",
 * "exec idle", "webhook retry" next. Each is `<kind>:<key>` with a due time; the room folds the
 * earliest of them into its host's single wake-up (a timer on Node, the alarm on Workers) and, when
 * woken, runs the handler of every kind that is due (see DEADLINE_HANDLERS in commands.ts).
 *
 * Scheduling a name again moves it; cancelling forgets it. A deadline that must survive a restart
 * of the control plane is persisted in `cluster_deadlines` and reloaded on resume; one that can be
 * derived again from the database at resume (agent grace) stays in memory.
 */
import { and, eq, inArray } from 'drizzle-orm';
import { clusterDeadlines } from '../../../db/schema';
import type { CoreDeps } from '../deps';

/** How a room asks its host to call `onWake()` at (or soon after) a time; an earlier request replaces a later one. */
export interface WakeScheduler {
  wakeAt(whenMs: number): void;
}

export interface DueDeadline {
  kind: string;
  key: string;
}

export interface DeadlineOptions {
  /** Written to the database, so a restarted control plane still acts on it. */
  persist?: boolean;
}

export function deadlineName(kind: string, key: string): string {
  return `${kind}:${key}`;
}

export class NamedDeadlines {
  private readonly dueAtMs = new Map<string, number>();
  private readonly persisted = new Set<string>();

  constructor(
    private readonly deps: CoreDeps,
    private readonly clusterArn: () => string | undefined,
    private readonly scheduler: WakeScheduler,
  ) {}

  /** Loads the persisted deadlines of this cluster (at resume). */
  async load(clusterArn: string): Promise<void> {
    const rows = await this.deps.db
      .select()
      .from(clusterDeadlines)
      .where(eq(clusterDeadlines.clusterArn, clusterArn));
    for (const row of rows) {
      this.dueAtMs.set(row.name, row.dueAtMs);
      this.persisted.add(row.name);
    }
    this.arm();
  }

  async schedule(kind: string, key: string, dueAtMs: number, options: DeadlineOptions = {}): Promise<void> {
    const name = deadlineName(kind, key);
    this.dueAtMs.set(name, dueAtMs);
    if (options.persist) {
      const clusterArn = this.clusterArn();
      if (!clusterArn) throw new Error(`deadline ${name}: the room has no cluster loaded`);
      await this.deps.db
        .insert(clusterDeadlines)
        .values({ clusterArn, name, dueAtMs })
        .onConflictDoUpdate({
          target: [clusterDeadlines.clusterArn, clusterDeadlines.name],
          set: { dueAtMs },
        });
      this.persisted.add(name);
    }
    this.arm();
  }

  /**
   * Makes sure the deadline is due no later than `dueAtMs`: one already due at or before it is kept
   * as it is (no write), which suits "look again at least this often" deadlines that would otherwise
   * be moved, and rewritten, on every look.
   */
  async scheduleNoLaterThan(
    kind: string,
    key: string,
    dueAtMs: number,
    options: DeadlineOptions = {},
  ): Promise<void> {
    const name = deadlineName(kind, key);
    const existing = this.dueAtMs.get(name);
    const durableEnough = !options.persist || this.persisted.has(name);
    if (existing !== undefined && existing <= dueAtMs && durableEnough) return;
    await this.schedule(kind, key, dueAtMs, options);
  }

  async cancel(kind: string, key: string): Promise<void> {
    const name = deadlineName(kind, key);
    this.dueAtMs.delete(name);
    if (this.persisted.delete(name)) await this.forget([name]);
  }

  has(kind: string, key: string): boolean {
    return this.dueAtMs.has(deadlineName(kind, key));
  }

  /** Removes and returns every deadline due at `nowMs`; the caller runs their handlers. */
  async takeDue(nowMs: number): Promise<DueDeadline[]> {
    const due: DueDeadline[] = [];
    const persistedDue: string[] = [];
    for (const [name, atMs] of this.dueAtMs) {
      if (atMs > nowMs) continue;
      this.dueAtMs.delete(name);
      if (this.persisted.delete(name)) persistedDue.push(name);
      const colon = name.indexOf(':');
      due.push({ kind: name.slice(0, colon), key: name.slice(colon + 1) });
    }
    if (persistedDue.length > 0) await this.forget(persistedDue);
    return due;
  }

  /** Asks the host for a wake-up at the earliest deadline, if there is one. */
  arm(): void {
    let earliest = Number.POSITIVE_INFINITY;
    for (const atMs of this.dueAtMs.values()) earliest = Math.min(earliest, atMs);
    if (earliest !== Number.POSITIVE_INFINITY) this.scheduler.wakeAt(earliest);
  }

  private async forget(names: string[]): Promise<void> {
    const clusterArn = this.clusterArn();
    if (!clusterArn) return;
    await this.deps.db
      .delete(clusterDeadlines)
      .where(and(eq(clusterDeadlines.clusterArn, clusterArn), inArray(clusterDeadlines.name, names)));
  }
}
