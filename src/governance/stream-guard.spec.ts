import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Guardrail } from '../definitions/index.js';
import { GuardrailSet, compileGuardrails } from './guardrails.js';
import { StreamGuard } from './stream-guard.js';

const SSN = '\\b\\d{3}-\\d{2}-\\d{4}\\b';

function setOf(...defs: Guardrail[]): GuardrailSet {
  return GuardrailSet.forAgent({ name: 'a', guardrails: defs.map((d) => d.name) }, compileGuardrails(defs));
}

const block = (name: string, keywords: string[], patterns: string[] = []): Guardrail => ({
  name,
  mode: 'block',
  keywords,
  patterns,
  fallback: `withheld by ${name}`,
});
const warn = (name: string, keywords: string[], patterns: string[] = []): Guardrail => ({ name, mode: 'warn', keywords, patterns });

function run(set: GuardrailSet, chunks: string[]): { pieces: string[]; outcome: ReturnType<StreamGuard['finish']> } {
  const guard = new StreamGuard(set);
  const pieces = chunks.map((c) => guard.push(c));
  return { pieces, outcome: guard.finish() };
}

const isHigh = (c: number): boolean => c >= 0xd800 && c <= 0xdbff;
const isLow = (c: number): boolean => c >= 0xdc00 && c <= 0xdfff;

describe('StreamGuard', () => {
  it('holds back as many characters as the longest block keyword, then blocks', () => {
    const guard = new StreamGuard(setOf(block('pii', ['password'])));
    expect(guard.push('hello my pass')).toBe('hello');
    expect(guard.blocked).toBe(false);
    expect(guard.push('word is 42')).toBe('');
    expect(guard.blocked).toBe(true);
    expect(guard.push('more')).toBe('');
    expect(guard.finish()).toEqual({
      blocked: true,
      text: 'withheld by pii',
      findings: [{ guardrail: 'pii', mode: 'block', kind: 'keyword', index: 0 }],
      blockedBy: 'pii',
    });
  });

  it('does not block on a match that depends on the end of the text until the end comes', () => {
    const set = setOf(block('end', [], ['end$']), block('ssn', [], [SSN]));
    const guard = new StreamGuard(set);
    let released = guard.push('the end');
    expect(guard.blocked).toBe(false);
    released += guard.push(' 123-45-6789');
    expect(guard.blocked).toBe(false);
    released += guard.push('0 is near');
    const outcome = guard.finish();
    expect(released + outcome.text).toBe('the end 123-45-67890 is near');
    expect(outcome.blocked).toBe(false);
    expect(run(set, ['123-45-', '6789', ' the end']).outcome.blockedBy).toBe('end');
  });

  it('holds the whole answer when a block pattern is unbounded, and checks it at the end', () => {
    const set = setOf(block('b', ['zzz'], ['x+y']), warn('w', ['hello']));
    const { pieces, outcome } = run(set, ['hello ', 'xxxx', 'xz']);
    expect(pieces).toEqual(['', '', '']);
    expect(outcome).toEqual({
      blocked: false,
      text: 'hello xxxxxz',
      findings: [{ guardrail: 'w', mode: 'warn', kind: 'keyword', index: 0 }],
    });
    const guard = new StreamGuard(set);
    guard.push('a zzz');
    expect(guard.blocked).toBe(true);
  });

  it('releases everything at once under warn guardrails, but never half a surrogate pair', () => {
    const guard = new StreamGuard(setOf(warn('w', ['😀'])));
    expect(guard.push('a\ud83d')).toBe('a');
    expect(guard.push('\ude00b')).toBe('😀b');
    expect(guard.finish()).toEqual({ blocked: false, text: '', findings: [{ guardrail: 'w', mode: 'warn', kind: 'keyword', index: 0 }] });
  });

  it('refuses a push after finish', () => {
    const guard = new StreamGuard(setOf(warn('w', ['x'])));
    guard.finish();
    expect(() => guard.push('x')).toThrow(/after finish/);
  });

  it('streams a megabyte in small chunks in time linear in its length', () => {
    const set = setOf(block('k', ['password', 'secret key']), block('s', [], [SSN]), warn('w', ['fox']));
    const text = 'the quick brown fox jumps over the lazy dog 123-45-678 '.repeat(20_000);
    const guard = new StreamGuard(set);
    const started = performance.now();
    let released = 0;
    for (let i = 0; i < text.length; i += 8) released += guard.push(text.slice(i, i + 8)).length;
    const outcome = guard.finish();
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(released + outcome.text.length).toBe(text.length);
    expect(text.length - released).toBeLessThanOrEqual(11);
  });

  describe('random chunkings (property)', () => {
    const fragments = [
      'PassWord',
      'PASS',
      'word',
      'ΣΑΣ',
      'σα',
      '123-45-6789',
      '123-45-67890',
      '9123-45-6789',
      '😀X',
      '😀',
      'Σ',
      'end',
      'x',
      'a',
      ' ',
      '-',
      '7',
      '\n',
    ];
    const textArb = fc.array(fc.constantFrom(...fragments), { maxLength: 12 }).map((parts) => parts.join(''));
    const chunked = textArb.chain((text) =>
      fc.uniqueArray(fc.integer({ min: 1, max: Math.max(1, text.length - 1) }), { maxLength: 8 }).map((cuts) => {
        const points = [0, ...cuts.filter((c) => c < text.length).sort((a, b) => a - b), text.length];
        return { text, chunks: points.slice(1).map((p, i) => text.slice(points[i], p)) };
      }),
    );
    const sets = {
      bounded: setOf(warn('w', ['end']), block('kw', ['password', 'σας', '😀x']), block('ssn', [], [SSN, 'end$'])),
      unbounded: setOf(block('kw', ['password']), block('p', [], ['\\d+-\\d+-\\d{4}\\b'])),
    };

    for (const [label, set] of Object.entries(sets)) {
      it(`${label}: never releases a block match, agrees with apply(), and splits no pair`, () => {
        const blockRules = set.blockRules;
        const maxW = Math.max(...blockRules.map((r) => r.maxMatchLength));
        fc.assert(
          fc.property(chunked, ({ text, chunks }) => {
            const guard = new StreamGuard(set);
            let released = '';
            let received = '';
            for (const chunk of chunks) {
              const piece = guard.push(chunk);
              received += chunk;
              released += piece;
              expect(received.startsWith(released)).toBe(true);
              const cut = released.length;
              expect(cut > 0 && isHigh(received.charCodeAt(cut - 1)) && (cut === received.length || isLow(received.charCodeAt(cut)))).toBe(
                false,
              );
              if (Number.isFinite(maxW) && !guard.blocked) expect(received.length - released.length).toBeLessThanOrEqual(maxW + 1);
            }
            const blockedEarly = guard.blocked;
            const outcome = guard.finish();
            const decision = set.apply(text);
            expect(outcome.blocked).toBe(decision.blocked);
            if (blockedEarly) expect(decision.blocked).toBe(true);
            expect(outcome.findings).toEqual(decision.findings);
            if (!decision.blocked) {
              expect(released + outcome.text).toBe(text);
              return;
            }
            expect(outcome.text).toBe(decision.text);
            for (const rule of blockRules) {
              const m = rule.regex.matcher(text);
              if (m.find(0)) expect(m.start()).toBeGreaterThanOrEqual(released.length);
              if (rule.kind === 'keyword') expect(rule.regex.test(released)).toBe(false);
            }
          }),
          { numRuns: 1500 },
        );
      });
    }
  });
});
