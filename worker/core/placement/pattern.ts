/**
 * The patterns of the cluster query's `matches` / `not_matches` operators. ECS documents them as
 * Java regular expressions matched against the whole value (`t2.*` selects every t2 type). A
 * backtracking engine would let one hostile expression stall the control plane, so patterns are
 * compiled to an NFA and run in O(pattern × value) time. The supported subset covers what
 * placement expressions use: literals, `.`, classes, `\d \w \s` and their negations, groups,
 * alternation, `* + ? {n,m}` (lazy forms accepted), and `^` / `$`. Back-references, lookaround
 * and possessive quantifiers are rejected rather than silently misread.
 */
import type { CharSet, PatternNode } from './pattern-parser';
import { PatternParser, PatternSyntaxError } from './pattern-parser';

export { PatternSyntaxError } from './pattern-parser';

type Instruction =
  | { op: 'char'; set: CharSet }
  | { op: 'split'; first: number; second: number }
  | { op: 'jump'; to: number }
  | { op: 'lineStart' }
  | { op: 'lineEnd' }
  | { op: 'match' };

/** Bounds the NFA so `(a{1000}){1000}` can't allocate a million states. */
const MAX_INSTRUCTIONS = 20_000;
const STEP_RESET_AT = 1 << 30;

function compile(node: PatternNode, program: Instruction[]): void {
  if (program.length > MAX_INSTRUCTIONS) throw new PatternSyntaxError('pattern is too complex', 0);
  switch (node.kind) {
    case 'char':
      program.push({ op: 'char', set: node.set });
      return;
    case 'lineStart':
    case 'lineEnd':
      program.push({ op: node.kind });
      return;
    case 'sequence':
      for (const item of node.items) compile(item, program);
      return;
    case 'alternation': {
      const jumpsToEnd: { op: 'jump'; to: number }[] = [];
      node.options.forEach((option, optionIndex) => {
        const isLast = optionIndex === node.options.length - 1;
        const split = { op: 'split' as const, first: program.length + 1, second: -1 };
        if (!isLast) program.push(split);
        compile(option, program);
        if (!isLast) {
          const jump = { op: 'jump' as const, to: -1 };
          jumpsToEnd.push(jump);
          program.push(jump);
          split.second = program.length;
        }
      });
      for (const jump of jumpsToEnd) jump.to = program.length;
      return;
    }
    case 'repeat': {
      for (let copy = 0; copy < node.min; copy++) compile(node.item, program);
      if (node.max === Number.POSITIVE_INFINITY) {
        const split = { op: 'split' as const, first: program.length + 1, second: -1 };
        const loopStart = program.length;
        program.push(split);
        compile(node.item, program);
        program.push({ op: 'jump', to: loopStart });
        split.second = program.length;
        return;
      }
      const skips: { op: 'split'; first: number; second: number }[] = [];
      for (let copy = node.min; copy < node.max; copy++) {
        const split = { op: 'split' as const, first: program.length + 1, second: -1 };
        skips.push(split);
        program.push(split);
        compile(node.item, program);
      }
      for (const split of skips) split.second = program.length;
      return;
    }
  }
}

const inSet = (set: CharSet, ch: number): boolean => {
  let found = false;
  for (let i = 0; i < set.ranges.length && !found; i += 2)
    found = ch >= set.ranges[i] && ch <= set.ranges[i + 1];
  return found !== set.negated;
};

/** A compiled pattern; `test` matches the whole value, like Java's `String.matches`. */
export class Pattern {
  private readonly program: Instruction[] = [];
  // Scratch space reused by every `test`, so matching allocates nothing.
  private current: Int32Array;
  private next: Int32Array;
  private readonly seenAtStep: Int32Array;
  private readonly stack: Int32Array;
  private step = 0;

  constructor(readonly source: string) {
    compile(new PatternParser(source).parse(), this.program);
    this.program.push({ op: 'match' });
    if (this.program.length > MAX_INSTRUCTIONS) throw new PatternSyntaxError('pattern is too complex', 0);
    const size = this.program.length;
    this.current = new Int32Array(size);
    this.next = new Int32Array(size);
    this.seenAtStep = new Int32Array(size).fill(-1);
    this.stack = new Int32Array(size * 2 + 2);
  }

  test(value: string): boolean {
    // Step stamps live in an Int32Array: start over long before they could wrap.
    if (this.step > STEP_RESET_AT) {
      this.seenAtStep.fill(-1);
      this.step = 0;
    }
    let currentCount = this.addThreads(this.current, 0, 0, value.length);
    for (let position = 0; position < value.length; position++) {
      const ch = value.charCodeAt(position);
      let nextCount = 0;
      this.step++;
      for (let t = 0; t < currentCount; t++) {
        const instruction = this.program[this.current[t]];
        if (instruction.op === 'char' && inSet(instruction.set, ch)) {
          nextCount = this.addThreadsInto(
            this.next,
            nextCount,
            this.current[t] + 1,
            position + 1,
            value.length,
          );
        }
      }
      const swap = this.current;
      this.current = this.next;
      this.next = swap;
      currentCount = nextCount;
      if (currentCount === 0) return false;
    }
    for (let t = 0; t < currentCount; t++) if (this.program[this.current[t]].op === 'match') return true;
    return false;
  }

  private addThreads(list: Int32Array, start: number, position: number, length: number): number {
    this.step++;
    return this.addThreadsInto(list, 0, start, position, length);
  }

  /** Follows jumps, splits and assertions from `start`, adding each state at most once per step. */
  private addThreadsInto(
    list: Int32Array,
    count: number,
    start: number,
    position: number,
    length: number,
  ): number {
    let top = 0;
    this.stack[top++] = start;
    let added = count;
    while (top > 0) {
      const pc = this.stack[--top];
      if (this.seenAtStep[pc] === this.step) continue;
      this.seenAtStep[pc] = this.step;
      const instruction = this.program[pc];
      if (instruction.op === 'jump') this.stack[top++] = instruction.to;
      else if (instruction.op === 'split') {
        this.stack[top++] = instruction.second;
        this.stack[top++] = instruction.first;
      } else if (instruction.op === 'lineStart') {
        if (position === 0) this.stack[top++] = pc + 1;
      } else if (instruction.op === 'lineEnd') {
        if (position === length) this.stack[top++] = pc + 1;
      } else list[added++] = pc;
    }
    return added;
  }
}
