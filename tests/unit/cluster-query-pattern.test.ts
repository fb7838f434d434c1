import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Pattern, PatternSyntaxError } from '../../worker/core/placement/pattern';

const matchesWhole = (pattern: string, value: string): boolean => new Pattern(pattern).test(value);

function syntaxError(pattern: string): PatternSyntaxError {
  try {
    new Pattern(pattern);
  } catch (error) {
    expect(error).toBeInstanceOf(PatternSyntaxError);
    return error as PatternSyntaxError;
  }
  throw new Error(`expected /${pattern}/ to be rejected`);
}

describe('cluster query patterns', () => {
  it('match the whole value, like Java String.matches', () => {
    expect(matchesWhole('t2.*', 't2.micro')).toBe(true);
    expect(matchesWhole('t2', 't2.micro')).toBe(false);
    expect(matchesWhole('micro', 't2.micro')).toBe(false);
    expect(matchesWhole('', '')).toBe(true);
    expect(matchesWhole('^t2\\.micro$', 't2.micro')).toBe(true);
  });

  it('support classes, ranges, negation and class escapes', () => {
    expect(matchesWhole('[a-c]+', 'abcab')).toBe(true);
    expect(matchesWhole('[^a-c]+', 'xyz')).toBe(true);
    expect(matchesWhole('[^a-c]+', 'xaz')).toBe(false);
    expect(matchesWhole('[\\d.]+', '1.14.5')).toBe(true);
    expect(matchesWhole('[]x]', ']')).toBe(true);
    expect(matchesWhole('[a-]', '-')).toBe(true);
    expect(matchesWhole('\\d+\\s\\w+', '42 tasks')).toBe(true);
    expect(matchesWhole('\\D\\W\\S', 'a-b')).toBe(true);
  });

  it('support groups, alternation and every quantifier form', () => {
    expect(matchesWhole('(?:m5|c5)\\.(large|xlarge)', 'c5.xlarge')).toBe(true);
    expect(matchesWhole('ab?c', 'ac')).toBe(true);
    expect(matchesWhole('a+', '')).toBe(false);
    expect(matchesWhole('a{3}', 'aaa')).toBe(true);
    expect(matchesWhole('a{2,}', 'aaaaa')).toBe(true);
    expect(matchesWhole('a{2,3}', 'aaaa')).toBe(false);
    expect(matchesWhole('a*?b+?', 'aab')).toBe(true);
    expect(matchesWhole('(a|)*b', 'aab')).toBe(true);
  });

  it('anchor ^ and $ to the ends of the value', () => {
    expect(matchesWhole('a^b', 'ab')).toBe(false);
    expect(matchesWhole('a$|b', 'a')).toBe(true);
  });

  it('take a hostile nested repetition in linear time', () => {
    const startedAtMs = performance.now();
    expect(matchesWhole('(a+)+b', 'a'.repeat(10_000))).toBe(false);
    expect(matchesWhole('(a|a)*(a|a)*c', 'a'.repeat(10_000))).toBe(false);
    expect(performance.now() - startedAtMs).toBeLessThan(2_000);
  });

  it.each([
    ['a(b', "unclosed '('", 1],
    ['ab)', "unbalanced ')'", 2],
    ['[ab', "unclosed '['", 0],
    ['*a', 'nothing to repeat', 0],
    ['a**', 'nothing to repeat', 2],
    ['^*', 'nothing to repeat', 0],
    ['a\\', 'pattern ends with a lone backslash', 1],
    ['(a)\\1', "escape '\\1' is not supported", 3],
    ['(?=a)', 'lookaround and named groups are not supported', 1],
    ['a++', 'possessive quantifiers are not supported', 2],
    ['a{3,2}', 'repeat range is out of order', 1],
    ['a{1001}', 'repeat count is above 1000', 1],
    ['[z-a]', 'class range is out of order', 2],
    ['[a-\\d]', 'a class range must end in a single character', 2],
    ['[\\D]', 'negated escapes inside a class are not supported', 1],
  ])('reject /%s/ with %j at offset %i', (pattern, message, index) => {
    const error = syntaxError(pattern);
    expect(error.message).toBe(message);
    expect(error.index).toBe(index);
  });

  it('refuse patterns that would compile to too many states', () => {
    expect(syntaxError('((a{1000}){1000}){10}').message).toBe('pattern is too complex');
  });

  it('agree with JavaScript regular expressions on the supported subset', () => {
    const atom = fc.constantFrom('a', 'b', '.', '[ab]', '[^a]', '\\d', '(a|b)', '(ab)');
    const quantifier = fc.constantFrom('', '*', '+', '?', '{1,2}');
    const pattern = fc
      .array(fc.tuple(atom, quantifier), { maxLength: 5 })
      .map((parts) => parts.map(([a, q]) => a + q).join(''));
    const value = fc.string({ unit: fc.constantFrom('a', 'b', '1'), maxLength: 8 });
    fc.assert(
      fc.property(pattern, value, (source, text) => {
        expect(new Pattern(source).test(text)).toBe(new RegExp(`^(?:${source})$`).test(text));
      }),
      { numRuns: 500 },
    );
  });
});
