/**
 * The audit log: who did what to which resource, with what result, from where and when. Recorded:
 * every write call (ECS actions other than Describe and List, every Berth API write), every admin
 * call (keys, join tokens, revocations, reading this log), every agent registration and refused
 * agent connect, every exec session (recordExecSession), and every call of a known key that was
 * refused (AccessDeniedException, a wrong signature, an inactive key).
 *
 * Writes are group-committed (AuditWriter): calls that finish while an insert is in flight share
 * the next one, and each call waits for its own row before its response is sent, so an
 * acknowledged call is never missing from the log. Each batch also claims the purge deadline
 * (one row, `audit_purge`): whichever host's batch finds it due deletes events older than the
 * retention (BERTH_AUDIT_RETENTION_DAYS, 90 by default) and moves it an hour on. The same step
 * runs on Node and on Workers, with no timer of its own.
 */
import { and, desc, eq, gte, inArray, like, lt, lte, type SQL } from 'drizzle-orm';
import { type AuditEventRow, auditEvents, auditPurge } from '../../../db/schema';
import type { CoreDeps } from '../deps';
import { invalidParameter } from '../errors';

export const DEFAULT_AUDIT_RETENTION_DAYS = 90;
/** How often the purge runs (any host's batch may be the one). */
export const AUDIT_PURGE_INTERVAL_MS = 60 * 60 * 1000;
/** A purge deletes at most this many rows at a time; past it the next batch continues. */
const PURGE_CHUNK = 10_000;
/** Rows per insert: SQLite's bound-parameter limit is 32,766 and a row has 10. */
const MAX_BATCH = 1_000;
const DAY_MS = 24 * 60 * 60 * 1000;

export type AuditOutcome = 'ok' | 'denied' | 'error';
export const SUCCESS = 'Success';

/** Errors that mean "refused": the caller's identity or permissions, not the request. */
const DENIED_ERRORS = new Set([
  'AccessDeniedException',
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'IncompleteSignatureException',
  'MissingAuthenticationTokenException',
  'Unauthorized',
  'Forbidden',
  'CredentialRevoked',
  'InstanceDeregistered',
]);

export interface AuditEntry {
  /** An access key's principal, or `instance/<id>` / `join-token/<id>` for an agent. */
  principalName: string;
  accessKeyId?: string;
  action: string;
  clusterName?: string;
  /** An ARN, the cluster's ARN, or `*`. */
  resource: string;
  /** `Success` or the error's name. */
  result: string;
  sourceAddress?: string;
  detail?: Record<string, unknown>;
  /** Default: now. */
  atMs?: number;
}

export function outcomeOf(result: string): AuditOutcome {
  if (result === SUCCESS) return 'ok';
  return DENIED_ERRORS.has(result) ? 'denied' : 'error';
}

const clip = (text: string | undefined, max: number) =>
  text === undefined ? null : text.length > max ? text.slice(0, max) : text;

function rowOf(deps: CoreDeps, entry: AuditEntry): typeof auditEvents.$inferInsert {
  return {
    atMs: entry.atMs ?? deps.now(),
    principalName: clip(entry.principalName, 256)!,
    accessKeyId: clip(entry.accessKeyId, 128),
    action: clip(entry.action, 128)!,
    clusterName: clip(entry.clusterName, 255),
    resource: clip(entry.resource, 1024)!,
    outcome: outcomeOf(entry.result),
    result: clip(entry.result, 128)!,
    sourceAddress: clip(entry.sourceAddress, 64),
    detailJson: entry.detail ? clip(JSON.stringify(entry.detail), 4096) : null,
  };
}

/**
 * Writes entries now, in one statement, with the purge step. For callers outside the API's group
 * commit: agent registrations, exec sessions.
 */
export async function recordAuditEvents(deps: CoreDeps, entries: AuditEntry[]): Promise<void> {
  if (entries.length === 0) return;
  await insertWithPurgeStep(
    deps,
    entries.map((e) => rowOf(deps, e)),
  );
}

/** What the exec feature records for a session: opened, refused, or ended. */
export interface ExecSessionAudit {
  principalName: string;
  accessKeyId?: string;
  clusterName: string;
  taskArn: string;
  container?: string;
  command?: string;
  interactive?: boolean;
  /** `Success`, or the error's name. */
  result: string;
  sourceAddress?: string;
  /** `ecs:ExecuteCommand` unless the feature names a finer action (e.g. `berth:EndExecSession`). */
  action?: string;
  detail?: Record<string, unknown>;
}

/** Records an exec session (ECS ExecuteCommand and what Berth adds to it). */
export function recordExecSession(deps: CoreDeps, session: ExecSessionAudit): Promise<void> {
  return recordAuditEvents(deps, [
    {
      principalName: session.principalName,
      accessKeyId: session.accessKeyId,
      action: session.action ?? 'ecs:ExecuteCommand',
      clusterName: session.clusterName,
      resource: session.taskArn,
      result: session.result,
      sourceAddress: session.sourceAddress,
      detail: {
        ...(session.container !== undefined ? { container: session.container } : {}),
        ...(session.command !== undefined ? { command: session.command.slice(0, 1024) } : {}),
        ...(session.interactive !== undefined ? { interactive: session.interactive } : {}),
        ...session.detail,
      },
    },
  ]);
}

/**
 * Group commit for API calls. `record` resolves once the entry is in the database (or its insert
 * failed and was logged: the call itself already happened, so its answer is still sent).
 */
export class AuditWriter {
  private pending: { row: typeof auditEvents.$inferInsert; done: () => void }[] = [];
  private flushing = false;

  constructor(
    private readonly deps: CoreDeps,
    private readonly log: (line: string) => void,
  ) {}

  record(entry: AuditEntry): Promise<void> {
    return new Promise((done) => {
      this.pending.push({ row: rowOf(this.deps, entry), done });
      if (!this.flushing) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, MAX_BATCH);
      try {
        await insertWithPurgeStep(
          this.deps,
          batch.map((p) => p.row),
        );
      } catch (error) {
        this.log(
          `audit: writing ${batch.length} events failed: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
      for (const p of batch) p.done();
    }
    this.flushing = false;
  }
}

async function insertWithPurgeStep(deps: CoreDeps, rows: (typeof auditEvents.$inferInsert)[]) {
  const nowMs = deps.now();
  // One round trip (one HTTP request to libSQL on Workers): the rows, and a claim of the purge
  // deadline that changes nothing unless it is due.
  const [, claimed] = await deps.db.batch([
    deps.db.insert(auditEvents).values(rows),
    deps.db
      .insert(auditPurge)
      .values({ id: 1, nextPurgeAtMs: nowMs + AUDIT_PURGE_INTERVAL_MS })
      .onConflictDoUpdate({
        target: auditPurge.id,
        set: { nextPurgeAtMs: nowMs + AUDIT_PURGE_INTERVAL_MS },
        setWhere: lte(auditPurge.nextPurgeAtMs, nowMs),
      })
      .returning({ id: auditPurge.id }),
  ]);
  if (claimed.length > 0) await purgeExpiredAuditEvents(deps, nowMs);
}

/** Deletes events older than the retention; returns how many. Called when this host claimed the purge. */
export async function purgeExpiredAuditEvents(deps: CoreDeps, nowMs = deps.now()): Promise<number> {
  const retentionDays = deps.config.auditRetentionDays ?? DEFAULT_AUDIT_RETENTION_DAYS;
  const cutoffMs = nowMs - retentionDays * DAY_MS;
  const expired = deps.db
    .select({ id: auditEvents.id })
    .from(auditEvents)
    .where(lt(auditEvents.atMs, cutoffMs))
    .limit(PURGE_CHUNK);
  const deleted = await deps.db
    .delete(auditEvents)
    .where(inArray(auditEvents.id, expired))
    .returning({ id: auditEvents.id });
  if (deleted.length === PURGE_CHUNK) {
    // More are left: make the next batch purge again instead of waiting an hour.
    await deps.db.update(auditPurge).set({ nextPurgeAtMs: nowMs }).where(eq(auditPurge.id, 1));
  }
  return deleted.length;
}

export interface AuditQuery {
  principal?: string;
  /** Exact, or with a trailing `*` (`ecs:Run*`), case-insensitive. */
  action?: string;
  cluster?: string;
  resource?: string;
  /** `ok`, `denied`, `error`, or an error name. */
  result?: string;
  sinceMs?: number;
  untilMs?: number;
  limit?: number;
  nextToken?: string;
}

export interface AuditEvent {
  eventId: string;
  time: string;
  principal: string;
  accessKeyId?: string;
  action: string;
  cluster?: string;
  resource: string;
  outcome: AuditOutcome;
  result: string;
  sourceAddress?: string;
  detail?: Record<string, unknown>;
}

export const DEFAULT_AUDIT_PAGE = 100;
export const MAX_AUDIT_PAGE = 1_000;

/** Newest first, `limit` at a time; `nextToken` continues from where the previous page ended. */
export async function queryAuditLog(
  deps: CoreDeps,
  query: AuditQuery,
): Promise<{ events: AuditEvent[]; nextToken?: string }> {
  const limit = query.limit ?? DEFAULT_AUDIT_PAGE;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_AUDIT_PAGE) {
    throw invalidParameter(`limit: must be a whole number from 1 to ${MAX_AUDIT_PAGE}`);
  }
  const where: SQL[] = [];
  if (query.nextToken !== undefined) where.push(lt(auditEvents.id, beforeIdOf(query.nextToken)));
  if (query.principal !== undefined) where.push(eq(auditEvents.principalName, query.principal));
  if (query.action !== undefined) {
    // LIKE is case-insensitive for ASCII in SQLite, as IAM compares action names. Only letters,
    // digits, `-`, `:` and a trailing `*` get through, so nothing else acts as a wildcard.
    const action = query.action;
    if (!/^[A-Za-z0-9-]+:[A-Za-z0-9]*\*?$/.test(action)) {
      throw invalidParameter('action: must be service:Action, with a trailing * allowed');
    }
    where.push(like(auditEvents.action, action.endsWith('*') ? `${action.slice(0, -1)}%` : action));
  }
  if (query.cluster !== undefined) where.push(eq(auditEvents.clusterName, query.cluster));
  if (query.resource !== undefined) where.push(eq(auditEvents.resource, query.resource));
  if (query.result !== undefined) {
    const r = query.result;
    where.push(
      r === 'ok' || r === 'denied' || r === 'error' ? eq(auditEvents.outcome, r) : eq(auditEvents.result, r),
    );
  }
  if (query.sinceMs !== undefined) where.push(gte(auditEvents.atMs, query.sinceMs));
  if (query.untilMs !== undefined) where.push(lte(auditEvents.atMs, query.untilMs));
  const rows = await deps.db
    .select()
    .from(auditEvents)
    .where(where.length > 0 ? and(...where) : undefined)
    .orderBy(desc(auditEvents.id))
    .limit(limit + 1);
  const page = rows.slice(0, limit);
  return {
    events: page.map(eventOf),
    ...(rows.length > limit ? { nextToken: tokenBefore(page[page.length - 1]!.id) } : {}),
  };
}

function eventOf(row: AuditEventRow): AuditEvent {
  return {
    eventId: String(row.id),
    time: new Date(row.atMs).toISOString(),
    principal: row.principalName,
    ...(row.accessKeyId ? { accessKeyId: row.accessKeyId } : {}),
    action: row.action,
    ...(row.clusterName ? { cluster: row.clusterName } : {}),
    resource: row.resource,
    outcome: row.outcome,
    result: row.result,
    ...(row.sourceAddress ? { sourceAddress: row.sourceAddress } : {}),
    ...(row.detailJson ? { detail: JSON.parse(row.detailJson) as Record<string, unknown> } : {}),
  };
}

const tokenBefore = (id: number) =>
  btoa(`a:${id}`).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');

function beforeIdOf(token: string): number {
  try {
    const match = /^a:([1-9]\d{0,15})$/.exec(atob(token.replace(/-/g, '+').replace(/_/g, '/')));
    if (match && Number.isSafeInteger(Number(match[1]))) return Number(match[1]);
  } catch {
    // the error below
  }
  throw invalidParameter('nextToken: is not a token returned by a previous call');
}
