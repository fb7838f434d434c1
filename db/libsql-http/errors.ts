/**
 * Errors as Hrana puts them on the wire: `{ message, code }`. SQLite failures carry the base result
 * code name (`SQLITE_CONSTRAINT`, not `SQLITE_CONSTRAINT_PRIMARYKEY`), which is what `@libsql/client`
 * reports as `LibsqlError.code` for a local file too, so callers behave the same on either URL.
 */
import type { WireError } from './wire';

/** A failure of the protocol layer (bad request, unknown SQL id, closed stream), with a stable code. */
export class HranaError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'HranaError';
  }
}

const SQLITE_BASE_CODE_NAMES = [
  'SQLITE_OK',
  'SQLITE_ERROR',
  'SQLITE_INTERNAL',
  'SQLITE_PERM',
  'SQLITE_ABORT',
  'SQLITE_BUSY',
  'SQLITE_LOCKED',
  'SQLITE_NOMEM',
  'SQLITE_READONLY',
  'SQLITE_INTERRUPT',
  'SQLITE_IOERR',
  'SQLITE_CORRUPT',
  'SQLITE_NOTFOUND',
  'SQLITE_FULL',
  'SQLITE_CANTOPEN',
  'SQLITE_PROTOCOL',
  'SQLITE_EMPTY',
  'SQLITE_SCHEMA',
  'SQLITE_TOOBIG',
  'SQLITE_CONSTRAINT',
  'SQLITE_MISMATCH',
  'SQLITE_MISUSE',
  'SQLITE_NOLFS',
  'SQLITE_AUTH',
  'SQLITE_FORMAT',
  'SQLITE_RANGE',
  'SQLITE_NOTADB',
  'SQLITE_NOTICE',
  'SQLITE_WARNING',
];

interface SqliteFailure {
  message: string;
  code: string;
  rawCode?: number;
}

function isSqliteFailure(error: unknown): error is SqliteFailure {
  if (!(error instanceof Error) || error instanceof HranaError) return false;
  const code: unknown = (error as Error & { code?: unknown }).code;
  return typeof code === 'string' && code.startsWith('SQLITE_');
}

/** True when SQLite refused for a lock another connection holds, so trying again later can succeed. */
export function isBusyError(error: unknown): boolean {
  // SQLITE_BUSY_SNAPSHOT is left out on purpose: a transaction reading a stale snapshot can never
  // upgrade to a writer, however long it waits.
  return isSqliteFailure(error) && (error.code === 'SQLITE_BUSY' || error.code === 'SQLITE_BUSY_RECOVERY');
}

/**
 * True for every flavour of SQLITE_BUSY. SQLite leaves such a statement mid-run (so it can be
 * stepped again), which on this engine means until garbage collection.
 */
export function leavesStatementRunning(error: unknown): boolean {
  return isSqliteFailure(error) && error.code.startsWith('SQLITE_BUSY');
}

export function toWireError(error: unknown): WireError {
  if (error instanceof HranaError) return { message: error.message, code: error.code };
  if (isSqliteFailure(error)) {
    const baseCode = error.rawCode === undefined ? undefined : SQLITE_BASE_CODE_NAMES[error.rawCode & 0xff];
    return { message: error.message, code: baseCode ?? error.code };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { message, code: 'INTERNAL_ERROR' };
}
