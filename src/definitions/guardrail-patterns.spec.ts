import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileGuardrailPattern, compileKeywords, patternWidth } from './guardrail-patterns.js';

describe('patternWidth', () => {
  it.each([
    ['abc', 3, 3],
    ['\\b\\d{3}-\\d{2}-\\d{4}\\b', 11, 11],
    ['a|bcd', 1, 3],
    ['a?b', 1, 2],
    ['a*', 0, Infinity],
    ['a+', 1, Infinity],
    ['x{3,}', 3, Infinity],
    ['(?:ab){2,5}', 4, 10],
    ['(ab){2}?c', 5, 5],
    ['.', 1, 2],
    ['[a-z]{4}', 4, 4],
    ['[^a]', 1, 2],
    ['[]a]', 1, 1],
    ['[^]a]', 1, 2],
    ['[[:alpha:]]{2}', 2, 2],
    ['[[:^alpha:]]', 1, 2],
    ['[\\d\\w]', 1, 1],
    ['[\\pL]', 1, 2],
    ['\\pL+', 1, Infinity],
    ['\\p{Greek}{2}', 2, 4],
    ['\\x{1F600}', 2, 2],
    ['\\x41\\101', 2, 2],
    ['😀', 2, 2],
    ['é', 1, 1],
    ['(?i)é', 1, 2],
    ['(?i)abc', 3, 3],
    ['\\Qa.b*\\E', 4, 4],
    ['(?P<n>ab)(?<m>c)', 3, 3],
    ['(?i:ab)c', 3, 3],
    ['^$', 0, 0],
    ['\\Afoo\\z', 3, 3],
    ['a{,3}', 5, 5],
    ['(a|)b', 1, 2],
    ['(?:)*', 0, 0],
  ])('%s matches %i to %s code units', (source, min, max) => {
    expect(compileGuardrailPattern(source).ok).toBe(true);
    expect(patternWidth(source)).toEqual({ min, max });
  });

  const atoms = [
    'a',
    'B',
    'é',
    'σ',
    '😀',
    '.',
    '\\d',
    '\\w',
    '\\s',
    '\\S',
    '[a-c]',
    '[^a]',
    '\\pL',
    '\\b',
    '^',
    '$',
    '\\x{10400}',
    '(?i:k)',
    '(?i:𐐨)',
  ];
  const quantifiers = ['', '', '?', '*', '+', '{2}', '{1,3}', '{2,}', '??'];
  const regexArb: fc.Arbitrary<string> = fc.letrec<{ re: string }>((tie) => ({
    re: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.tuple(fc.constantFrom(...atoms), fc.constantFrom(...quantifiers)).map(([a, q]) => a + q),
      fc.array(tie('re'), { minLength: 1, maxLength: 3 }).map((parts) => parts.join('')),
      fc.tuple(tie('re'), tie('re')).map(([a, b]) => `(?:${a}|${b})`),
      fc.tuple(tie('re'), fc.constantFrom(...quantifiers)).map(([a, q]) => `(${a})${q}`),
    ),
  })).re;
  const textArb = fc
    .array(fc.constantFrom('a', 'A', 'B', 'é', 'É', 'σ', 'Σ', 'ς', '😀', '𐐀', '𐐨', 'K', 'k', '\u212a', '7', ' ', '\n', '_'), {
      maxLength: 30,
    })
    .map((cs) => cs.join(''));

  it('bounds every match RE2 finds (property)', () => {
    fc.assert(
      fc.property(regexArb, textArb, (source, text) => {
        const compiled = compileGuardrailPattern(source);
        fc.pre(compiled.ok);
        if (!compiled.ok) return;
        const { min, max } = patternWidth(source);
        for (let start = 0; start <= text.length; start++) {
          const m = compiled.regex.matcher(text);
          if (!m.find(start)) break;
          const length = m.end() - m.start();
          expect(length).toBeGreaterThanOrEqual(min);
          expect(length).toBeLessThanOrEqual(max);
        }
      }),
      { numRuns: 400 },
    );
  });
});

describe('compileGuardrailPattern', () => {
  it.each([
    ['(?=x)', 'invalid or unsupported Perl syntax: `(?=`'],
    ['(?<=x)y', 'invalid named capture: `(?<=x)y`'],
    ['(a)\\1', 'invalid escape sequence: `\\1`'],
    ['(a', 'missing closing ): `(a`'],
    ['x{1001}', 'invalid repeat count: `{1001}`'],
  ])('refuses %s with RE2s reason', (source, reason) => {
    expect(compileGuardrailPattern(source)).toEqual({ ok: false, reason });
  });

  it('refuses a pattern longer than 1,000 characters', () => {
    expect(compileGuardrailPattern('a'.repeat(1001))).toEqual({ ok: false, reason: 'it is longer than 1000 characters' });
    expect(compileGuardrailPattern('a'.repeat(1000)).ok).toBe(true);
  });
});

describe('compileKeywords', () => {
  it('matches any keyword as a case-insensitive substring, taking them literally', () => {
    const { regex, maxLength } = compileKeywords(['pass.word', 'σας']);
    expect(regex.test('my PASS.WORD is')).toBe(true);
    expect(regex.test('my passXword is')).toBe(false);
    expect(regex.test('ΣΑΣ')).toBe(true);
    expect(maxLength).toBe(9);
  });
});
