import { describe, expect, it } from 'vitest';
import { formatDiagnostics } from './diagnostics.js';
import { loadDefinitions, memorySourceHost } from './loader.js';

const HEADER = 'package "g" version "1.0.0" lang "2.0"';

async function load(file: string, text: string): Promise<{ ok: boolean; messages: string }> {
  const result = await loadDefinitions(file, { host: memorySourceHost({ [`/defs/${file}`]: text }), cwd: '/defs' });
  return { ok: result.ok, messages: formatDiagnostics(result.ok ? result.warnings : result.diagnostics) };
}

const lines = (...l: string[]): string => l.join('\n');

describe('guardrail rules when definitions load', () => {
  it('accepts a block guardrail with a fallback and a warn guardrail without one', async () => {
    const r = await load(
      'g.ias',
      lines(
        HEADER,
        'guardrail "pii" { mode "block" keywords ["password"] patterns ["\\\\b\\\\d{3}-\\\\d{2}-\\\\d{4}\\\\b"] fallback "Withheld." }',
        'guardrail "tone" { mode "warn" keywords ["stupid"] }',
        '',
      ),
    );
    expect(r).toEqual({ ok: true, messages: '' });
  });

  it('reports mode, fallback and emptiness problems at the guardrail or the attribute', async () => {
    const r = await load(
      'g.ias',
      lines(
        HEADER,
        'guardrail "a" { keywords ["x"] }',
        'guardrail "b" { mode "blok" patterns ["x"] }',
        'guardrail "c" { mode "block" }',
        'guardrail "d" { mode "warn" keywords ["x"] fallback "no" }',
        'guardrail "e" { mode "block" keywords ["x"] fallback "" }',
        '',
      ),
    );
    expect(r.ok).toBe(false);
    expect(r.messages).toBe(
      lines(
        'g.ias:2:1: error: guardrail "a" has no mode',
        '  hint: add: mode "block" (send the fallback instead of the answer) or mode "warn" (only report it)',
        'g.ias:3:22: error: the mode of guardrail "b" must be "block" or "warn", got "blok"',
        '  hint: did you mean "block"?',
        'g.ias:4:1: error: guardrail "c" blocks answers but has no fallback',
        '  hint: add: fallback "…", the text sent instead of a blocked answer',
        'g.ias:4:1: error: guardrail "c" has no keywords or patterns, so it matches nothing',
        '  hint: add: keywords ["…"] or patterns ["regex"]',
        'g.ias:5:53: warning: the fallback of guardrail "d" has no effect: a "warn" guardrail never replaces the answer',
        'g.ias:6:54: error: the fallback of guardrail "e" is empty',
        '  hint: write the text sent instead of a blocked answer',
      ),
    );
  });

  it('reports each bad keyword and pattern at its place in the list, with RE2s reason', async () => {
    const r = await load(
      'g.ias',
      lines(
        HEADER,
        'guardrail "a" {',
        '  mode "warn"',
        '  keywords ["ok", "", "fine"]',
        '  patterns ["\\\\d{3}", "(?=x)", "(a)\\\\1", "a*", "x{1001}"]',
        '}',
        '',
      ),
    );
    expect(r.messages).toBe(
      lines(
        'g.ias:4:19: error: an empty keyword in guardrail "a" would match every answer',
        'g.ias:5:23: error: invalid pattern "(?=x)" in guardrail "a": invalid or unsupported Perl syntax: `(?=`',
        '  hint: RE2 has no lookahead, lookbehind or backreferences: matching them can take exponential time',
        'g.ias:5:32: error: invalid pattern "(a)\\\\1" in guardrail "a": invalid escape sequence: `\\1`',
        '  hint: RE2 has no lookahead, lookbehind or backreferences: matching them can take exponential time',
        'g.ias:5:42: error: pattern "a*" in guardrail "a" can match empty text, so it would match almost any answer',
        '  hint: make every match contain at least one character',
        'g.ias:5:48: error: invalid pattern "x{1001}" in guardrail "a": invalid repeat count: `{1001}`',
      ),
    );
  });

  it('refuses a pattern longer than 1,000 characters', async () => {
    const r = await load('g.ias', lines(HEADER, `guardrail "a" { mode "warn" patterns ["x", "${'a'.repeat(1001)}"] }`, ''));
    expect(r.messages).toBe('g.ias:2:44: error: pattern 2 of guardrail "a" is longer than 1000 characters');
  });

  it('leaves unknown guardrail references to the validator and warns about one used twice', async () => {
    const r = await load(
      'g.ias',
      lines(
        HEADER,
        'guardrail "d" { mode "warn" keywords ["x"] }',
        'prompt "p" { content "hi" }',
        'agent "ag" {',
        '  uses prompt "p"',
        '  model "mock/echo"',
        '  uses guardrail "d"',
        '  uses guardrail "dd"',
        '  uses guardrail "d"',
        '}',
        '',
      ),
    );
    expect(r.messages).toBe(
      lines(
        'g.ias:8:18: error: guardrail "dd" not found',
        '  hint: did you mean "d"?',
        'g.ias:9:18: warning: agent "ag" uses guardrail "d" twice',
      ),
    );
  });

  it('gives JSON definitions the same checks, at the list entry', async () => {
    const doc = {
      package: { name: 'g', version: '1.0.0', lang: '2.0' },
      guardrails: [{ name: 'a', mode: 'block', patterns: ['ok', '(?!x)'], fallback: 'no' }],
    };
    const r = await load('g.json', JSON.stringify(doc, null, 2));
    expect(r.messages).toBe(
      lines(
        'g.json:13:9: error: invalid pattern "(?!x)" in guardrail "a": invalid or unsupported Perl syntax: `(?!`',
        '  hint: RE2 has no lookahead, lookbehind or backreferences: matching them can take exponential time',
      ),
    );
  });
});
