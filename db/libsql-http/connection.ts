/**
 * One real libSQL connection (the `libsql` native engine that `@libsql/client` itself uses for
 * `file:` URLs). Every Hrana stream owns one, so an interactive transaction lives on its own
 * connection exactly as it does in sqld.
 *
 * The engine's JS API cannot reset or finalize a statement: statement objects live until garbage
 * collection. A statement left mid-run (an EXPLAIN after its last row, one that failed SQLITE_BUSY)
 * makes SQLite hold back later autocommits on the connection, and a close leaves the connection
 * (and its transaction) alive until collection. The code below works around both; see write-gate.ts.
 */
import Database from 'libsql';
import { HranaError } from './errors';
import { isExplainStatement } from './sql-text';

/** What SQLite takes as a parameter and gives back in a row (integers always as bigint). */
export type SqlValue = null | bigint | number | string | Buffer;

export interface StatementArgs {
  positional: SqlValue[];
  /** Keyed by parameter name without its `:`, `@`, `$` or `?` prefix. */
  named: Map<string, SqlValue>;
}

export interface ResultColumn {
  name: string;
  decltype: string | null;
}

export interface PreparedSql {
  readonly sql: string;
  readonly statement: Database.Statement;
}

export interface StatementOutcome {
  columns: ResultColumn[];
  rows: SqlValue[][];
  affectedRowCount: number;
  /** Null when the statement changed no row. */
  lastInsertRowid: bigint | null;
  durationMs: number;
}

export interface StatementDescription {
  /** Parameter names by position (index 0 is parameter 1); null for a nameless `?`. */
  params: Array<string | null>;
  columns: ResultColumn[];
  isExplain: boolean;
  isReadonly: boolean;
}

/** Program analyses kept per connection; drizzle reuses a small set of SQL texts. */
const PROGRAM_CACHE_MAX_ENTRIES = 256;

interface ProgramAnalysis {
  params: Array<string | null>;
  isReadonly: boolean;
}

export function stripParamPrefix(name: string): string {
  return /^[:@$?]/.test(name) ? name.slice(1) : name;
}

export class SqlConnection {
  readonly #db: Database.Database;
  readonly #programCache = new Map<string, ProgramAnalysis>();
  readonly #totalChangesQuery: Database.Statement;
  readonly #changeCountersQuery: Database.Statement;

  private constructor(db: Database.Database) {
    this.#db = db;
    this.#totalChangesQuery = db.prepare('SELECT total_changes()').raw(true);
    this.#changeCountersQuery = db
      .prepare('SELECT total_changes(), changes(), last_insert_rowid()')
      .raw(true);
  }

  /** Opens `databasePath` (created if missing) in WAL mode with fully synchronous commits. */
  static open(databasePath: string): SqlConnection {
    // busy timeout 0: waiting inside SQLite would block the event loop, and with it the very stream
    // holding the lock; the server retries busy statements asynchronously instead.
    const db = new Database(databasePath, { timeout: 0 });
    try {
      db.defaultSafeIntegers(true);
      db.prepare('PRAGMA journal_mode=WAL').raw(true).all([]);
      // An acknowledged commit must survive a power cut, not only a process crash.
      db.exec('PRAGMA synchronous=FULL');
    } catch (error) {
      db.close();
      throw error;
    }
    return new SqlConnection(db);
  }

  get isAutocommit(): boolean {
    return !this.#db.inTransaction;
  }

  get isOpen(): boolean {
    return this.#db.open;
  }

  prepare(sql: string): PreparedSql {
    return { sql, statement: this.#db.prepare(sql) };
  }

  /**
   * Runs a prepared statement to completion. Throws SQLite's error, SQLITE_BUSY included, untouched;
   * a statement that failed busy may be run again (each run starts with a reset).
   */
  execute({ sql, statement }: PreparedSql, args: StatementArgs, wantRows: boolean): StatementOutcome {
    const startedAt = performance.now();
    const bound = this.#bind(sql, args);
    const [totalChangesBefore] = this.#totalChangesQuery.get([]) as [bigint];
    let columns: ResultColumn[] = [];
    let rows: SqlValue[][] = [];
    if (statement.reader) {
      columns = statement.columns().map((column) => ({ name: column.name, decltype: column.type }));
      const allRows = readAllRows(statement, sql, bound);
      if (wantRows) rows = allRows;
    } else {
      statement.run(bound);
    }
    // changes() and last_insert_rowid() keep their old values across statements that write nothing
    // (SELECT, DDL), so they are reported only when this statement really changed rows.
    const [totalChangesAfter, changes, lastInsertRowid] = this.#changeCountersQuery.get([]) as [
      bigint,
      bigint,
      bigint,
    ];
    const changedRows = totalChangesAfter !== totalChangesBefore;
    return {
      columns,
      rows,
      affectedRowCount: changedRows ? Number(changes) : 0,
      lastInsertRowid: changedRows ? lastInsertRowid : null,
      durationMs: performance.now() - startedAt,
    };
  }

  describe(sql: string): StatementDescription {
    const statement = this.#db.prepare(sql);
    const columns = statement.reader
      ? statement.columns().map((column) => ({ name: column.name, decltype: column.type }))
      : [];
    if (isExplainStatement(sql)) return { params: [], columns, isExplain: true, isReadonly: true };
    const { params, isReadonly } = this.#analyze(sql);
    return { params, columns, isExplain: false, isReadonly };
  }

  /**
   * Rolls back first: the engine only really closes once every statement object has been garbage
   * collected, and until then an open transaction would keep holding its locks.
   */
  close(): void {
    if (!this.#db.open) return;
    if (this.#db.inTransaction) {
      try {
        this.#db.exec('ROLLBACK');
      } catch {
        // Closing is what matters; SQLite rolls back on the real close anyway.
      }
    }
    this.#db.close();
  }

  /**
   * Always binds by position: the engine's own by-name binding aborts the whole process on a
   * statement that mixes `?` with named parameters, so names are resolved here instead.
   */
  #bind(sql: string, args: StatementArgs): SqlValue[] {
    if (args.named.size === 0) return args.positional;
    const { params } = this.#analyze(sql);
    const bound: SqlValue[] = [];
    for (let index = 0; index < Math.max(params.length, args.positional.length); index++) {
      const name = params[index];
      const namedValue =
        name === null || name === undefined ? undefined : args.named.get(stripParamPrefix(name));
      bound.push(namedValue !== undefined ? namedValue : (args.positional[index] ?? null));
    }
    return bound;
  }

  /**
   * Reads parameter names and read-only-ness from the compiled program (EXPLAIN), which is SQLite's
   * own answer, rather than from a second SQL parser that could disagree with it.
   */
  #analyze(sql: string): ProgramAnalysis {
    const cached = this.#programCache.get(sql);
    if (cached) return cached;
    if (isExplainStatement(sql)) {
      throw new HranaError('ARGS_INVALID', 'Named arguments are not supported on EXPLAIN statements');
    }
    // Columns of an EXPLAIN row: addr, opcode, p1, p2, p3, p4, p5, comment.
    const explainSql = `EXPLAIN ${sql}`;
    const program = readAllRows(this.#db.prepare(explainSql), explainSql, []);
    const params: Array<string | null> = [];
    let isReadonly = true;
    for (const [, opcode, p1, p2, , p4] of program as unknown[][]) {
      if (opcode === 'Variable') {
        const index = Number(p1) - 1;
        while (params.length <= index) params.push(null);
        if (typeof p4 === 'string') params[index] = p4;
      }
      // A Transaction opcode with P2 != 0 starts a write transaction (sqlite3_stmt_readonly's rule).
      if (opcode === 'Transaction' && Number(p2) !== 0) isReadonly = false;
    }
    const analysis = { params, isReadonly };
    if (this.#programCache.size >= PROGRAM_CACHE_MAX_ENTRIES) this.#programCache.clear();
    this.#programCache.set(sql, analysis);
    return analysis;
  }
}

/**
 * The engine does not reset a statement after its last row. For ordinary statements that is harmless,
 * but an EXPLAIN program then stays counted as running, and SQLite holds back the autocommit of every
 * later write on the connection, which would silently lose it on close. `get()` does reset.
 */
function readAllRows(statement: Database.Statement, sql: string, bound: SqlValue[]): SqlValue[][] {
  const rows = statement.raw(true).all(bound) as SqlValue[][];
  if (isExplainStatement(sql)) statement.get(bound);
  return rows;
}
