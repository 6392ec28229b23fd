import { describe, expect, it } from 'vitest';
import type { Guardrail } from '../definitions/index.js';
import { GuardrailCompileError, GuardrailSet, compileGuardrails } from './guardrails.js';

const SSN = '\\b\\d{3}-\\d{2}-\\d{4}\\b';

function guardrail(name: string, mode: 'block' | 'warn', keywords: string[], patterns: string[] = []): Guardrail {
  return { name, mode, keywords, patterns, ...(mode === 'block' ? { fallback: `withheld by ${name}` } : {}) };
}

function setOf(...defs: Guardrail[]): GuardrailSet {
  const compiled = compileGuardrails(defs);
  return GuardrailSet.forAgent({ name: 'a', guardrails: defs.map((d) => d.name) }, compiled);
}

describe('GuardrailSet.check', () => {
  it('matches keywords as case-insensitive substrings, with Unicode case folding', () => {
    const set = setOf(guardrail('k', 'warn', ['password', 'ΣΟΦΙΑ', 'kelvin']));
    expect(set.check('my PassWord is').map((f) => f.index)).toEqual([0]);
    expect(set.check('οι σοφιας').map((f) => f.index)).toEqual([1]);
    expect(set.check('\u212aelvin').map((f) => f.index)).toEqual([2]);
    expect(set.check('pass word, sofia')).toEqual([]);
  });

  it('reports every keyword that occurs, without the matched text', () => {
    const set = setOf(guardrail('k', 'warn', ['alpha', 'beta', 'gamma']));
    expect(set.check('GAMMA then alpha')).toEqual([
      { guardrail: 'k', mode: 'warn', kind: 'keyword', index: 0 },
      { guardrail: 'k', mode: 'warn', kind: 'keyword', index: 2 },
    ]);
  });

  it('matches RE2 patterns, word boundaries included', () => {
    const set = setOf(guardrail('ssn', 'block', [], ['x^', SSN]));
    expect(set.check('call 123-45-6789 now')).toEqual([{ guardrail: 'ssn', mode: 'block', kind: 'pattern', index: 1 }]);
    expect(set.check('call 123-45-67890 now')).toEqual([]);
    expect(set.check('call 0123-45-6789')).toEqual([]);
  });

  it('lists findings in the agent order of its guardrails', () => {
    const defs = [guardrail('first', 'warn', ['x']), guardrail('second', 'block', ['x'])];
    const compiled = compileGuardrails(defs);
    const set = GuardrailSet.forAgent({ name: 'a', guardrails: ['second', 'first', 'second'] }, compiled);
    expect(set.check('x').map((f) => f.guardrail)).toEqual(['second', 'first']);
  });

  it('checks a pathological pattern against 100k characters in linear time', () => {
    const set = setOf(guardrail('p', 'block', [], ['(a+)+$', '(a|aa)+b']));
    const text = `${'a'.repeat(100_000)}!`;
    const started = performance.now();
    expect(set.check(text)).toEqual([]);
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('checks a few megabytes in well under a second when nothing matches', () => {
    const set = setOf(guardrail('k', 'block', ['password', 'secret key', 'confidential']), guardrail('s', 'warn', [], [SSN]));
    const text = 'the quick brown fox jumps over the lazy dog 123-45-678 '.repeat(60_000);
    const started = performance.now();
    expect(set.check(text)).toEqual([]);
    expect(performance.now() - started).toBeLessThan(1_000);
  });
});

describe('GuardrailSet.apply', () => {
  it('passes an answer no block guardrail matches, warnings included', () => {
    const set = setOf(guardrail('tone', 'warn', ['stupid']), guardrail('pii', 'block', ['password']));
    expect(set.apply('a stupid idea')).toEqual({
      blocked: false,
      text: 'a stupid idea',
      findings: [{ guardrail: 'tone', mode: 'warn', kind: 'keyword', index: 0 }],
    });
  });

  it('replaces a blocked answer with the fallback of the first blocking guardrail in the agent order', () => {
    const set = setOf(
      guardrail('tone', 'warn', ['stupid']),
      guardrail('one', 'block', ['password']),
      guardrail('two', 'block', ['stupid']),
    );
    const decision = set.apply('stupid password');
    expect(decision.blocked).toBe(true);
    expect(decision.text).toBe('withheld by one');
    expect(decision.blockedBy).toBe('one');
    expect(decision.findings.map((f) => f.guardrail)).toEqual(['tone', 'one', 'two']);
  });

  it('passes everything through an agent without guardrails', () => {
    const set = GuardrailSet.forAgent({ name: 'a', guardrails: [] }, new Map());
    expect(set.isEmpty).toBe(true);
    expect(set.apply('password')).toEqual({ blocked: false, text: 'password', findings: [] });
  });
});

describe('compileGuardrails', () => {
  it('refuses what the definitions validator refuses', () => {
    expect(() => compileGuardrails([{ name: 'g', keywords: ['x'], patterns: [] }])).toThrow(GuardrailCompileError);
    expect(() => compileGuardrails([{ name: 'g', mode: 'block', keywords: ['x'], patterns: [] }])).toThrow(/needs a fallback/);
    expect(() => compileGuardrails([guardrail('g', 'warn', [], ['(?=x)'])])).toThrow(/pattern 1: invalid or unsupported Perl syntax/);
    expect(() => GuardrailSet.forAgent({ name: 'a', guardrails: ['nope'] }, new Map())).toThrow(/agent "a" uses it/);
  });

  it('records the longest match each rule can make', () => {
    const [g] = compileGuardrails([guardrail('g', 'block', ['abc', 'é'], [SSN, 'x+'])]).values();
    expect(g.rules.map((r) => [r.kind, r.maxMatchLength])).toEqual([
      ['keyword', 3],
      ['pattern', 11],
      ['pattern', Infinity],
    ]);
  });
});
