/**
 * A Hrana stream: one connection, the SQL texts stored on it, and the requests that run on it in
 * order. Knows nothing of HTTP or batons.
 */
import type { PreparedSql, SqlConnection, StatementArgs, StatementOutcome } from './connection';
import { HranaError, isBusyError, leavesStatementRunning, toWireError } from './errors';
import { mayWrite, singleStatement, splitStatements } from './sql-text';
import { statementArgsFromWire, stmtResultToWire } from './values';
import type {
  BatchCond,
  StreamRequest,
  StreamResponse,
  WireBatch,
  WireBatchResult,
  WireDescribeResult,
  WireStmt,
  WireStmtResult,
} from './wire';
import { retryWhileBusy, type WriteGate } from './write-gate';

/** `@libsql/client` stores at most 30 per stream; this only bounds a misbehaving client. */
export const MAX_STORED_SQL_PER_STREAM = 150;

interface SqlSource {
  sql?: string | null;
  sql_id?: number | null;
}

const NO_ARGS: StatementArgs = { positional: [], named: new Map() };

export class HranaStream {
  readonly #connection: SqlConnection;
  readonly #writeGate: WriteGate;
  readonly #storedSql = new Map<number, string>();
  #closed = false;

  constructor(connection: SqlConnection, writeGate: WriteGate) {
    this.#connection = connection;
    this.#writeGate = writeGate;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Runs one request. Throws (HranaError or SQLite's error) when the request itself fails. */
  async handle(request: StreamRequest): Promise<StreamResponse> {
    if (this.#closed) throw new HranaError('STREAM_CLOSED', 'The stream is closed');
    switch (request.type) {
      case 'close':
        this.close();
        return { type: 'close' };
      case 'execute':
        return { type: 'execute', result: await this.#execute(request.stmt) };
      case 'batch':
        return { type: 'batch', result: await this.#batch(request.batch) };
      case 'sequence':
        await this.#sequence(this.#sqlText(request));
        return { type: 'sequence' };
      case 'describe':
        return { type: 'describe', result: this.#describe(this.#sqlText(request)) };
      case 'store_sql':
        this.#storeSql(request.sql_id, request.sql);
        return { type: 'store_sql' };
      case 'close_sql':
        this.#storedSql.delete(request.sql_id);
        return { type: 'close_sql' };
      case 'get_autocommit':
        return { type: 'get_autocommit', is_autocommit: this.#connection.isAutocommit };
    }
  }

  /** Rolls back an open transaction and gives up the write gate. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#storedSql.clear();
    this.#connection.close();
    this.#writeGate.release(this);
  }

  async #execute(stmt: WireStmt): Promise<WireStmtResult> {
    const sql = singleStatement(this.#sqlText(stmt));
    return stmtResultToWire(await this.#run(sql, statementArgsFromWire(stmt), stmt.want_rows));
  }

  /**
   * Holds the write gate from the first statement that may write until the connection is back in
   * autocommit, so a whole transaction is one turn at the gate.
   */
  async #run(sql: string, args: StatementArgs, wantRows: boolean): Promise<StatementOutcome> {
    if (mayWrite(sql)) await this.#writeGate.acquire(this);
    if (this.#closed) {
      this.#writeGate.release(this);
      throw new HranaError('STREAM_CLOSED', 'The stream is closed');
    }
    let prepared: PreparedSql | undefined;
    try {
      return await retryWhileBusy(() => {
        prepared ??= this.#connection.prepare(sql);
        return this.#connection.execute(prepared, args, wantRows);
      }, isBusyError);
    } catch (error) {
      // Only another process can still make SQLite busy here; a statement left busy would hold back
      // this connection's later commits, so the stream ends rather than go on unreliably.
      if (leavesStatementRunning(error)) this.close();
      throw error;
    } finally {
      if (!this.#closed && this.#connection.isAutocommit) this.#writeGate.release(this);
    }
  }

  /** Steps run in order; a step whose condition is false is skipped and leaves null in both lists. */
  async #batch(batch: WireBatch): Promise<WireBatchResult> {
    const result: WireBatchResult = { step_results: [], step_errors: [] };
    for (const step of batch.steps) {
      if (step.condition && !this.#holds(step.condition, result)) {
        result.step_results.push(null);
        result.step_errors.push(null);
        continue;
      }
      try {
        result.step_results.push(await this.#execute(step.stmt));
        result.step_errors.push(null);
      } catch (error) {
        result.step_results.push(null);
        result.step_errors.push(toWireError(error));
      }
    }
    return result;
  }

  /** A condition on a step that has not run yet (a later index) is false, like a skipped one. */
  #holds(condition: BatchCond, done: WireBatchResult): boolean {
    switch (condition.type) {
      case 'ok':
        return (done.step_results[condition.step] ?? null) !== null;
      case 'error':
        return (done.step_errors[condition.step] ?? null) !== null;
      case 'not':
        return !this.#holds(condition.cond, done);
      case 'and':
        return condition.conds.every((inner) => this.#holds(inner, done));
      case 'or':
        return condition.conds.some((inner) => this.#holds(inner, done));
      case 'is_autocommit':
        return this.#connection.isAutocommit;
    }
  }

  /** Statement by statement, so a busy one is retried alone and the ones before it are not re-run. */
  async #sequence(sql: string): Promise<void> {
    for (const statement of splitStatements(sql)) {
      await this.#run(statement, NO_ARGS, false);
    }
  }

  #describe(sql: string): WireDescribeResult {
    const description = this.#connection.describe(singleStatement(sql));
    return {
      params: description.params.map((name) => ({ name })),
      cols: description.columns,
      is_explain: description.isExplain,
      is_readonly: description.isReadonly,
    };
  }

  #storeSql(sqlId: number, sql: string): void {
    if (this.#storedSql.has(sqlId)) {
      throw new HranaError('PROTOCOL_ERROR', `SQL text id ${sqlId} is already in use on this stream`);
    }
    if (this.#storedSql.size >= MAX_STORED_SQL_PER_STREAM) {
      throw new HranaError(
        'SQL_STORE_TOO_MANY',
        `A stream may hold at most ${MAX_STORED_SQL_PER_STREAM} stored SQL texts`,
      );
    }
    this.#storedSql.set(sqlId, sql);
  }

  #sqlText(source: SqlSource): string {
    const hasSql = source.sql !== undefined && source.sql !== null;
    const hasSqlId = source.sql_id !== undefined && source.sql_id !== null;
    if (hasSql === hasSqlId) {
      throw new HranaError('PROTOCOL_ERROR', 'Exactly one of "sql" and "sql_id" must be given');
    }
    if (hasSql) return source.sql as string;
    const stored = this.#storedSql.get(source.sql_id as number);
    if (stored === undefined) {
      throw new HranaError('SQL_NOT_FOUND', `No SQL text is stored under id ${source.sql_id}`);
    }
    return stored;
  }
}
