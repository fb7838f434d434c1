/**
 * Parses the regular-expression subset of cluster query patterns (see pattern.ts) into a tree,
 * reporting the offset of the first problem.
 */
export class PatternSyntaxError extends Error {
  constructor(
    message: string,
    /** Offset inside the pattern where the problem is. */
    readonly index: number,
  ) {
    super(message);
  }
}

export type CharSet = { ranges: number[]; negated: boolean };
export type PatternNode =
  | { kind: 'char'; set: CharSet }
  | { kind: 'sequence'; items: PatternNode[] }
  | { kind: 'alternation'; options: PatternNode[] }
  | { kind: 'repeat'; item: PatternNode; min: number; max: number }
  | { kind: 'lineStart' }
  | { kind: 'lineEnd' };

const MAX_REPEAT = 1_000;

const range = (from: number, to: number): number[] => [from, to];
const code = (ch: string): number => ch.charCodeAt(0);
const DIGIT = range(code('0'), code('9'));
const WORD = [...DIGIT, ...range(code('A'), code('Z')), ...range(code('a'), code('z')), code('_'), code('_')];
const SPACE = [9, 13, 32, 32];
const ANY: CharSet = { ranges: [], negated: true };
const NAMED_ESCAPES: Record<string, CharSet> = {
  d: { ranges: DIGIT, negated: false },
  D: { ranges: DIGIT, negated: true },
  w: { ranges: WORD, negated: false },
  W: { ranges: WORD, negated: true },
  s: { ranges: SPACE, negated: false },
  S: { ranges: SPACE, negated: true },
  t: { ranges: [9, 9], negated: false },
  n: { ranges: [10, 10], negated: false },
  r: { ranges: [13, 13], negated: false },
  f: { ranges: [12, 12], negated: false },
};

export class PatternParser {
  private index = 0;
  constructor(private readonly source: string) {}

  parse(): PatternNode {
    const node = this.parseAlternation();
    if (this.index < this.source.length) throw this.fail(`unbalanced ')'`);
    return node;
  }

  private fail(message: string, index = this.index): PatternSyntaxError {
    return new PatternSyntaxError(message, index);
  }

  private parseAlternation(): PatternNode {
    const options = [this.parseSequence()];
    while (this.source[this.index] === '|') {
      this.index++;
      options.push(this.parseSequence());
    }
    return options.length === 1 ? options[0] : { kind: 'alternation', options };
  }

  private parseSequence(): PatternNode {
    const items: PatternNode[] = [];
    while (
      this.index < this.source.length &&
      this.source[this.index] !== '|' &&
      this.source[this.index] !== ')'
    ) {
      items.push(this.parseQuantified());
    }
    return { kind: 'sequence', items };
  }

  private parseQuantified(): PatternNode {
    const start = this.index;
    const item = this.parseAtom();
    const ch = this.source[this.index];
    let min: number;
    let max: number;
    if (ch === '*' || ch === '+' || ch === '?') {
      this.index++;
      min = ch === '+' ? 1 : 0;
      max = ch === '?' ? 1 : Number.POSITIVE_INFINITY;
    } else if (ch === '{' && /^\{\d+(,\d*)?\}/.test(this.source.slice(this.index))) {
      const [, low, comma, high] = /^\{(\d+)(,(\d*))?\}/.exec(this.source.slice(this.index))!;
      const braceIndex = this.index;
      this.index += this.source.slice(this.index).indexOf('}') + 1;
      min = Number(low);
      max = comma === undefined ? min : high ? Number(high) : Number.POSITIVE_INFINITY;
      if (min > max) throw this.fail('repeat range is out of order', braceIndex);
      if (min > MAX_REPEAT || (max !== Number.POSITIVE_INFINITY && max > MAX_REPEAT)) {
        throw this.fail(`repeat count is above ${MAX_REPEAT}`, braceIndex);
      }
    } else {
      return item;
    }
    if (item.kind === 'lineStart' || item.kind === 'lineEnd') throw this.fail('nothing to repeat', start);
    if (this.source[this.index] === '?') this.index++;
    else if (this.source[this.index] === '+') throw this.fail('possessive quantifiers are not supported');
    return { kind: 'repeat', item, min, max };
  }

  private parseAtom(): PatternNode {
    const ch = this.source[this.index];
    switch (ch) {
      case '(': {
        const open = this.index++;
        if (this.source.startsWith('?:', this.index)) this.index += 2;
        else if (this.source[this.index] === '?')
          throw this.fail('lookaround and named groups are not supported');
        const inner = this.parseAlternation();
        if (this.source[this.index] !== ')') throw this.fail(`unclosed '('`, open);
        this.index++;
        return inner;
      }
      case '[':
        return { kind: 'char', set: this.parseClass() };
      case '.':
        this.index++;
        return { kind: 'char', set: ANY };
      case '^':
        this.index++;
        return { kind: 'lineStart' };
      case '$':
        this.index++;
        return { kind: 'lineEnd' };
      case '\\': {
        const escaped = this.parseEscape();
        return {
          kind: 'char',
          set: typeof escaped === 'number' ? { ranges: [escaped, escaped], negated: false } : escaped,
        };
      }
      case '*':
      case '+':
      case '?':
        throw this.fail('nothing to repeat');
      default:
        this.index++;
        return { kind: 'char', set: { ranges: [code(ch), code(ch)], negated: false } };
    }
  }

  /** Returns a code point for a literal escape (`\.`), a set for a class escape (`\d`). */
  private parseEscape(): number | CharSet {
    const escapeIndex = this.index;
    const ch = this.source[this.index + 1];
    if (ch === undefined) throw this.fail('pattern ends with a lone backslash', escapeIndex);
    this.index += 2;
    const named = NAMED_ESCAPES[ch];
    if (named !== undefined) return named;
    if (/[A-Za-z0-9]/.test(ch)) throw this.fail(`escape '\\${ch}' is not supported`, escapeIndex);
    return code(ch);
  }

  private parseClass(): CharSet {
    const open = this.index++;
    const negated = this.source[this.index] === '^';
    if (negated) this.index++;
    const ranges: number[] = [];
    // A ']' right after '[' or '[^' is a literal, as in Java.
    let first = true;
    while (this.source[this.index] !== ']' || first) {
      if (this.index >= this.source.length) throw this.fail(`unclosed '['`, open);
      first = false;
      const memberIndex = this.index;
      const low = this.parseClassMember();
      if (typeof low !== 'number') {
        if (low.negated) throw this.fail('negated escapes inside a class are not supported', memberIndex);
        ranges.push(...low.ranges);
        continue;
      }
      const isRange =
        this.source[this.index] === '-' &&
        this.index + 1 < this.source.length &&
        this.source[this.index + 1] !== ']';
      if (!isRange) {
        ranges.push(low, low);
        continue;
      }
      const dashIndex = this.index++;
      const high = this.parseClassMember();
      if (typeof high !== 'number')
        throw this.fail('a class range must end in a single character', dashIndex);
      if (high < low) throw this.fail('class range is out of order', dashIndex);
      ranges.push(low, high);
    }
    this.index++;
    return { ranges, negated };
  }

  private parseClassMember(): number | CharSet {
    if (this.source[this.index] === '\\') return this.parseEscape();
    return code(this.source[this.index++]);
  }
}
