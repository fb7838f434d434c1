/**
 * The ECS cluster query language, as used by `memberOf` placement constraints and by
 * ListContainerInstances' `filter`:
 *
 *   subject operator [argument]     e.g. attribute:ecs.instance-type =~ t2.*
 *
 * joined with `and`/`&&`, `or`/`||`, negated with `not`/`!`, grouped with parentheses. `not`
 * binds tighter than `and`, which binds tighter than `or`. The parser is driven by what it
 * expects next (subject, operator, argument), so a value may be a word that is also a keyword.
 * Errors name the 0-based position where the expression went wrong.
 */
import { invalidParameter } from '../errors';
import { parseArgument } from './cluster-query-arguments';
import type { ClusterQuery, ComparisonOperator, QuerySubject } from './cluster-query-syntax';
import {
  ATTRIBUTE_NAME,
  FIXED_SUBJECTS,
  OPERATORS_BY_SUBJECT,
  SYMBOL_OPERATORS,
  WORD_OPERATORS,
} from './cluster-query-syntax';
import { Pattern, PatternSyntaxError } from './pattern';

export { matchesClusterQuery } from './cluster-query-match';
export type { ClusterQuery, ComparisonOperator, QuerySubject } from './cluster-query-syntax';

export const MAX_CLUSTER_QUERY_LENGTH = 2000;

const SUBJECT_CHAR = /[A-Za-z0-9_.:/\\-]/;
const WORD_CHAR = /[A-Za-z0-9_]/;
/** A bare value ends at whitespace, brackets, commas, quotes and the `&&` / `||` connectors. */
const BARE_VALUE_STOP = /[\s()[\],'"&|]/;
/** A bare value can't start like an operator, so `a <> b` is an error rather than `a < '>b'`. */
const OPERATOR_CHAR = /[=<>!~]/;

class ClusterQueryParser {
  private position = 0;
  constructor(
    private readonly expression: string,
    private readonly fieldName: string,
  ) {}

  parse(): ClusterQuery {
    const query = this.parseOr();
    this.skipSpace();
    if (this.position < this.expression.length) {
      const next = /^\S{1,20}/.exec(this.expression.slice(this.position))![0];
      const found = next.startsWith(')') ? "')' without a matching '('" : `'${next}'`;
      throw this.fail(`expected 'and', 'or' or the end of the expression but found ${found}`);
    }
    return query;
  }

  private fail(problem: string, position = this.position): Error {
    return invalidParameter(`${this.fieldName}: ${problem} at position ${position} in "${this.expression}"`);
  }

  private skipSpace(): void {
    while (this.position < this.expression.length && /\s/.test(this.expression[this.position]))
      this.position++;
  }

  /** Consumes `symbol` or the keyword `word` (only as a whole word). */
  private accept(symbol: string, word: string): boolean {
    this.skipSpace();
    if (this.expression.startsWith(symbol, this.position)) {
      this.position += symbol.length;
      return true;
    }
    const end = this.position + word.length;
    const isWord =
      this.expression.slice(this.position, end).toLowerCase() === word &&
      !WORD_CHAR.test(this.expression[end] ?? '');
    if (isWord) this.position = end;
    return isWord;
  }

  private parseOr(): ClusterQuery {
    let left = this.parseAnd();
    while (this.accept('||', 'or')) left = { kind: 'or', left, right: this.parseAnd() };
    return left;
  }

  private parseAnd(): ClusterQuery {
    let left = this.parseUnary();
    while (this.accept('&&', 'and')) left = { kind: 'and', left, right: this.parseUnary() };
    return left;
  }

  private parseUnary(): ClusterQuery {
    this.skipSpace();
    if (this.expression[this.position] === '(') {
      const open = this.position++;
      const inner = this.parseOr();
      this.skipSpace();
      if (this.expression[this.position] !== ')') throw this.fail(`expected ')' to close the '(' at ${open}`);
      this.position++;
      return inner;
    }
    if (this.accept('!', 'not')) return { kind: 'not', operand: this.parseUnary() };
    return this.parseComparison();
  }

  private parseComparison(): ClusterQuery {
    const subjectStart = this.position;
    const subject = this.parseSubject();
    const subjectText = this.expression.slice(subjectStart, this.position);
    this.skipSpace();
    const operatorStart = this.position;
    const operator = this.parseOperator(subjectText);
    const operatorText = this.expression.slice(operatorStart, this.position);
    if (!OPERATORS_BY_SUBJECT[subject.kind].has(operator)) {
      throw this.fail(`operator '${operatorText}' is not valid for ${subjectText}`, operatorStart);
    }
    if (operator === 'exists' || operator === 'not_exists') {
      return { kind: 'comparison', subject, operator, arguments: [], pattern: null };
    }
    const values =
      operator === 'in' || operator === 'not_in'
        ? this.parseList(operatorText)
        : [this.parseValue(operatorText, operator === 'matches' || operator === 'not_matches')];
    const parsed = values.map(({ text, position }) => {
      const argument = parseArgument(subject.kind, operator, text);
      if (typeof argument === 'string') throw this.fail(argument, position);
      return argument;
    });
    let pattern: Pattern | null = null;
    if (operator === 'matches' || operator === 'not_matches') {
      try {
        pattern = new Pattern(values[0].text);
      } catch (error) {
        if (!(error instanceof PatternSyntaxError)) throw error;
        throw this.fail(`bad pattern: ${error.message}`, values[0].position + values[0].offset + error.index);
      }
    }
    return { kind: 'comparison', subject, operator, arguments: parsed, pattern };
  }

  private parseSubject(): QuerySubject {
    const start = this.position;
    while (this.position < this.expression.length && SUBJECT_CHAR.test(this.expression[this.position])) {
      this.position++;
    }
    const text = this.expression.slice(start, this.position);
    if (text === '') throw this.fail('expected a subject such as attribute:<name> or task:group', start);
    const fixed = Object.hasOwn(FIXED_SUBJECTS, text) ? FIXED_SUBJECTS[text] : undefined;
    if (fixed) return fixed;
    if (text.startsWith('attribute:')) {
      const name = text.slice('attribute:'.length);
      if (ATTRIBUTE_NAME.test(name)) return { kind: 'attribute', name };
      throw this.fail(`'${name}' is not a valid attribute name`, start + 'attribute:'.length);
    }
    throw this.fail(`unknown subject '${text}'`, start);
  }

  private parseOperator(subjectText: string): ComparisonOperator {
    for (const [symbol, operator] of SYMBOL_OPERATORS) {
      const end = this.position + symbol.length;
      const wordSymbol = WORD_CHAR.test(symbol[symbol.length - 1]);
      if (!this.expression.startsWith(symbol, this.position)) continue;
      if (wordSymbol && WORD_CHAR.test(this.expression[end] ?? '')) continue;
      this.position = end;
      return operator;
    }
    const start = this.position;
    while (this.position < this.expression.length && WORD_CHAR.test(this.expression[this.position])) {
      this.position++;
    }
    const word = this.expression.slice(start, this.position).toLowerCase();
    if (WORD_OPERATORS.has(word)) return word as ComparisonOperator;
    this.position = start;
    throw this.fail(`expected an operator after '${subjectText}'`, start);
  }

  /** `position` is where the value starts; `offset` is 1 when it is quoted (the pattern starts after the quote). */
  private parseValue(after: string, pattern = false): { text: string; position: number; offset: number } {
    this.skipSpace();
    const start = this.position;
    const quote = this.expression[start];
    if (quote === "'" || quote === '"') {
      let text = '';
      this.position++;
      while (this.expression[this.position] !== quote) {
        if (this.position >= this.expression.length) throw this.fail('unterminated quoted value', start);
        if (this.expression[this.position] === '\\' && this.expression[this.position + 1] === quote)
          this.position++;
        text += this.expression[this.position++];
      }
      this.position++;
      return { text, position: start, offset: 1 };
    }
    if (OPERATOR_CHAR.test(this.expression[start] ?? ''))
      throw this.fail(`expected a value after '${after}'`, start);
    if (pattern) this.skipBarePattern();
    else {
      while (
        this.position < this.expression.length &&
        !BARE_VALUE_STOP.test(this.expression[this.position])
      ) {
        this.position++;
      }
    }
    if (this.position === start) throw this.fail(`expected a value after '${after}'`, start);
    return { text: this.expression.slice(start, this.position), position: start, offset: 0 };
  }

  /**
   * A bare pattern may hold balanced brackets and `|`, as in `t2.(micro|small)`; it ends at
   * whitespace, at a `)` or `]` that closes something outside it, or at `&&` / `||`.
   */
  private skipBarePattern(): void {
    let depth = 0;
    for (; this.position < this.expression.length; this.position++) {
      const ch = this.expression[this.position];
      const pair = this.expression.slice(this.position, this.position + 2);
      if (/\s/.test(ch) || pair === '&&' || pair === '||') return;
      if (ch === '(' || ch === '[') depth++;
      else if (ch === ')' || ch === ']') {
        if (depth === 0) return;
        depth--;
      }
    }
  }

  /** ECS documents `[a, b]`; `(a, b)` is accepted too. */
  private parseList(after: string): { text: string; position: number; offset: number }[] {
    this.skipSpace();
    const open = this.expression[this.position];
    if (open !== '[' && open !== '(') throw this.fail(`expected a list like [a, b] after '${after}'`);
    const close = open === '[' ? ']' : ')';
    this.position++;
    const values = [this.parseValue(open)];
    for (;;) {
      this.skipSpace();
      const ch = this.expression[this.position];
      if (ch === close) break;
      if (ch !== ',') throw this.fail(`expected ',' or '${close}' in the list`);
      this.position++;
      values.push(this.parseValue(','));
    }
    this.position++;
    return values;
  }
}

/**
 * Parses a cluster query expression. `fieldName` prefixes error messages so they name the
 * request field, e.g. `placementConstraints[0].expression`.
 */
export function parseClusterQuery(expression: string, fieldName = 'expression'): ClusterQuery {
  if (expression.length > MAX_CLUSTER_QUERY_LENGTH) {
    throw invalidParameter(`${fieldName}: must be at most ${MAX_CLUSTER_QUERY_LENGTH} characters`);
  }
  return new ClusterQueryParser(expression, fieldName).parse();
}

/** True when the query reads the instance's task groups, which change as tasks are placed. */
export function readsTaskGroups(query: ClusterQuery): boolean {
  switch (query.kind) {
    case 'and':
    case 'or':
      return readsTaskGroups(query.left) || readsTaskGroups(query.right);
    case 'not':
      return readsTaskGroups(query.operand);
    case 'comparison':
      return query.subject.kind === 'taskGroup';
  }
}
