/**
 * Splits SQL text into statements the way SQLite's own `sqlite3_complete()` decides where a statement
 * ends: semicolons inside strings, quoted identifiers and comments do not count, and inside
 * `CREATE TRIGGER ... BEGIN ... END` only a semicolon after `; END` closes the statement.
 */
import { HranaError } from './errors';

type TokenKind = 'semicolon' | 'other' | 'explain' | 'create' | 'temp' | 'trigger' | 'end';

interface Token {
  kind: TokenKind;
  start: number;
  end: number;
}

/** The states of sqlite3_complete()'s state machine, named after the token that led there. */
type State = 'start' | 'normal' | 'explain' | 'create' | 'trigger' | 'trigger-semicolon' | 'trigger-end';

const KEYWORD_KINDS: Record<string, TokenKind> = {
  EXPLAIN: 'explain',
  CREATE: 'create',
  TEMP: 'temp',
  TEMPORARY: 'temp',
  TRIGGER: 'trigger',
  END: 'end',
};

function nextState(state: State, kind: TokenKind): State {
  switch (state) {
    case 'start':
      if (kind === 'semicolon') return 'start';
      if (kind === 'explain') return 'explain';
      return kind === 'create' ? 'create' : 'normal';
    case 'normal':
      return kind === 'semicolon' ? 'start' : 'normal';
    case 'explain':
      if (kind === 'semicolon') return 'start';
      if (kind === 'create') return 'create';
      return kind === 'other' ? 'explain' : 'normal';
    case 'create':
      if (kind === 'semicolon') return 'start';
      if (kind === 'temp') return 'create';
      return kind === 'trigger' ? 'trigger' : 'normal';
    case 'trigger':
      return kind === 'semicolon' ? 'trigger-semicolon' : 'trigger';
    case 'trigger-semicolon':
      if (kind === 'semicolon') return 'trigger-semicolon';
      return kind === 'end' ? 'trigger-end' : 'trigger';
    case 'trigger-end':
      return kind === 'semicolon' ? 'start' : 'trigger';
  }
}

const isWordStart = (char: string): boolean => /[A-Za-z_\u0080-\uffff]/.test(char);
const isWordPart = (char: string): boolean => /[A-Za-z0-9_$\u0080-\uffff]/.test(char);

/** Index just past the closing `quote`, where a doubled quote is an escaped one. */
function skipQuoted(sql: string, openAt: number, quote: string): number {
  let at = openAt + 1;
  while (at < sql.length) {
    if (sql[at] === quote) {
      if (sql[at + 1] !== quote) return at + 1;
      at += 2;
    } else {
      at += 1;
    }
  }
  return sql.length;
}

function* tokens(sql: string): Generator<Token> {
  let at = 0;
  while (at < sql.length) {
    const char = sql[at];
    const start = at;
    if (/\s/.test(char)) {
      at += 1;
      continue;
    }
    if (char === '-' && sql[at + 1] === '-') {
      const newline = sql.indexOf('\n', at);
      at = newline === -1 ? sql.length : newline + 1;
      continue;
    }
    if (char === '/' && sql[at + 1] === '*') {
      const close = sql.indexOf('*/', at + 2);
      at = close === -1 ? sql.length : close + 2;
      continue;
    }
    if (char === ';') {
      at += 1;
      yield { kind: 'semicolon', start, end: at };
      continue;
    }
    if (char === "'" || char === '"' || char === '`') {
      at = skipQuoted(sql, at, char);
    } else if (char === '[') {
      const close = sql.indexOf(']', at);
      at = close === -1 ? sql.length : close + 1;
    } else if (isWordStart(char)) {
      while (at < sql.length && isWordPart(sql[at])) at += 1;
      const kind = KEYWORD_KINDS[sql.slice(start, at).toUpperCase()] ?? 'other';
      yield { kind, start, end: at };
      continue;
    } else {
      at += 1;
    }
    yield { kind: 'other', start, end: at };
  }
}

/** The statements in `sql`, each without its closing semicolon; empty statements are dropped. */
export function splitStatements(sql: string): string[] {
  const statements: string[] = [];
  let state: State = 'start';
  let statementStart = -1;
  for (const token of tokens(sql)) {
    const next = nextState(state, token.kind);
    if (state === 'start' && token.kind !== 'semicolon') statementStart = token.start;
    if (next === 'start' && statementStart !== -1) {
      statements.push(sql.slice(statementStart, token.start).trimEnd());
      statementStart = -1;
    }
    state = next;
  }
  if (statementStart !== -1) statements.push(sql.slice(statementStart).trimEnd());
  return statements;
}

/** The one statement in `sql`; Hrana's `execute` and `describe` take exactly one, as sqld does. */
export function singleStatement(sql: string): string {
  const statements = splitStatements(sql);
  if (statements.length === 0) {
    throw new HranaError('SQL_NO_STATEMENT', 'SQL string does not contain any statement');
  }
  if (statements.length > 1) {
    throw new HranaError(
      'SQL_MANY_STATEMENTS',
      `SQL string contains ${statements.length} statements; execute takes one (use sequence for several)`,
    );
  }
  return statements[0];
}

function firstWord(sql: string): string | undefined {
  const first = tokens(sql).next();
  return first.done ? undefined : sql.slice(first.value.start, first.value.end).toUpperCase();
}

export function isExplainStatement(sql: string): boolean {
  return firstWord(sql) === 'EXPLAIN';
}

const READ_ONLY_FIRST_WORDS = new Set(['SELECT', 'VALUES', 'EXPLAIN']);

/** False only for statements that cannot write or open a transaction; WITH and PRAGMA may write. */
export function mayWrite(sql: string): boolean {
  return !READ_ONLY_FIRST_WORDS.has(firstWord(sql) ?? '');
}
