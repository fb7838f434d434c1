/**
 * Hrana values <-> SQLite values. Integers cross the wire as decimal strings and stay bigint on this
 * side, so 64-bit values never pass through a float.
 */
import type { SqlValue, StatementArgs, StatementOutcome } from './connection';
import { stripParamPrefix } from './connection';
import { HranaError } from './errors';
import type { WireStmt, WireStmtResult, WireValue } from './wire';

const MIN_INT64 = -(2n ** 63n);
const MAX_INT64 = 2n ** 63n - 1n;

export function sqlValueFromWire(value: WireValue): SqlValue {
  switch (value.type) {
    case 'null':
      return null;
    case 'integer': {
      const integer = BigInt(value.value);
      if (integer < MIN_INT64 || integer > MAX_INT64) {
        throw new HranaError('ARGS_INVALID', `Integer argument ${value.value} does not fit in 64 bits`);
      }
      return integer;
    }
    case 'float':
      return value.value;
    case 'text':
      return value.value;
    case 'blob':
      return Buffer.from(value.base64, 'base64');
  }
}

export function sqlValueToWire(value: SqlValue): WireValue {
  if (value === null) return { type: 'null' };
  if (typeof value === 'bigint') return { type: 'integer', value: value.toString() };
  if (typeof value === 'number') return { type: 'float', value };
  if (typeof value === 'string') return { type: 'text', value };
  return { type: 'blob', base64: Buffer.from(value).toString('base64') };
}

export function statementArgsFromWire(stmt: WireStmt): StatementArgs {
  const named = new Map<string, SqlValue>();
  for (const arg of stmt.named_args) named.set(stripParamPrefix(arg.name), sqlValueFromWire(arg.value));
  return { positional: stmt.args.map(sqlValueFromWire), named };
}

export function stmtResultToWire(outcome: StatementOutcome): WireStmtResult {
  return {
    cols: outcome.columns.map((column) => ({ name: column.name, decltype: column.decltype })),
    rows: outcome.rows.map((row) => row.map(sqlValueToWire)),
    affected_row_count: outcome.affectedRowCount,
    last_insert_rowid: outcome.lastInsertRowid === null ? null : outcome.lastInsertRowid.toString(),
    query_duration_ms: outcome.durationMs,
  };
}
