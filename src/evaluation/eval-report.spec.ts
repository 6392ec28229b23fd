import { describe, expect, it } from 'vitest';
import { formatEvalSummary, formatEvalTable, formatJUnitXml, formatScore } from './eval-report.js';
import type { EvalCaseResult } from './eval-runner.js';

function result(overrides: Partial<EvalCaseResult>): EvalCaseResult {
  return {
    agent: 'echo',
    name: 'greeting',
    input: 'hi',
    expect: 'Echo: hi',
    scoring: 'exact',
    threshold: 1,
    score: 1,
    passed: true,
    latencyMs: 12.4,
    tokens: 6,
    answer: 'Echo: hi',
    ...overrides,
  };
}

describe('formatEvalTable', () => {
  it('aligns the columns and explains failures in the last one', () => {
    const table = formatEvalTable([
      result({}),
      result({
        agent: 'support-bot',
        name: 'refund',
        scoring: 'semantic',
        threshold: 0.8,
        score: 0.5,
        passed: false,
        answer: 'No.',
        latencyMs: 1503.6,
      }),
      result({
        agent: 'broken',
        name: 'down',
        score: 0,
        passed: false,
        tokens: undefined,
        answer: undefined,
        error: 'HTTP 500\nretry later',
      }),
    ]);
    expect(table).toBe(
      [
        'CASE      AGENT        SCORING   SCORE  THRESHOLD  PASS  LATENCY_MS  TOKENS  NOTE',
        'greeting  echo         exact     1.000  1          yes   12          6',
        'refund    support-bot  semantic  0.500  0.8        no    1504        6       expected "Echo: hi", got "No."',
        'down      broken       exact     0.000  1          no    12          -       error: HTTP 500 retry later',
        '',
      ].join('\n'),
    );
  });

  it('shortens long expected and actual texts in a note', () => {
    const table = formatEvalTable([result({ passed: false, score: 0, expect: 'x'.repeat(100), answer: 'y'.repeat(100) })]);
    expect(table).toContain(`expected "${'x'.repeat(39)}…", got "${'y'.repeat(39)}…"`);
  });
});

describe('formatEvalSummary', () => {
  it('says how many passed and failed', () => {
    expect(formatEvalSummary([result({})])).toBe('OK: 1 of 1 eval case passed\n');
    expect(formatEvalSummary([result({}), result({ passed: false }), result({ passed: false, error: 'down' })])).toBe(
      'FAILED: 1 of 3 eval cases passed, 2 failed (1 with an error)\n',
    );
  });
});

describe('formatScore', () => {
  it('rounds down, so that a score shown equal to its threshold reached it', () => {
    expect(formatScore(0.7996)).toBe('0.799');
    expect(formatScore(0.57)).toBe('0.570');
    expect(formatScore(1)).toBe('1.000');
  });
});

describe('formatJUnitXml', () => {
  it('writes one testsuite per agent, times in seconds, and escapes text and attributes', () => {
    const xml = formatJUnitXml([
      result({ name: 'a<b & "c"', latencyMs: 250 }),
      result({
        name: "it's",
        expect: '<ok>',
        answer: 'Tom & Jerry\u0007 said "hi"\nbye',
        score: 0,
        passed: false,
        latencyMs: 1250.5,
      }),
      result({
        agent: 'other',
        name: 'down',
        answer: undefined,
        tokens: undefined,
        score: 0,
        passed: false,
        error: 'bad <gateway>\n"502"',
        latencyMs: 2,
      }),
    ]);
    expect(xml).toBe(
      [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<testsuites name="agentspec eval" tests="3" failures="2" errors="0" time="1.502">',
        '  <testsuite name="echo" tests="2" failures="1" errors="0" skipped="0" time="1.500">',
        '    <testcase name="a&lt;b &amp; &quot;c&quot;" classname="echo" time="0.250"/>',
        '    <testcase name="it&apos;s" classname="echo" time="1.250">',
        '      <failure type="score" message="score 0.000 is below the threshold 1 (exact)">expected: &lt;ok&gt;',
        'actual: Tom &amp; Jerry\uFFFD said "hi"',
        'bye',
        'score 0.000, threshold 1, scoring exact</failure>',
        '    </testcase>',
        '  </testsuite>',
        '  <testsuite name="other" tests="1" failures="1" errors="0" skipped="0" time="0.002">',
        '    <testcase name="down" classname="other" time="0.002">',
        '      <failure type="error" message="bad &lt;gateway&gt;&#10;&quot;502&quot;">error: bad &lt;gateway&gt;',
        '"502"',
        'expected: Echo: hi',
        'score 0.000, threshold 1, scoring exact</failure>',
        '    </testcase>',
        '  </testsuite>',
        '</testsuites>',
        '',
      ].join('\n'),
    );
  });

  it('keeps at most 500 characters of the expected and actual texts', () => {
    const xml = formatJUnitXml([result({ passed: false, score: 0, answer: '😀'.repeat(600) })]);
    expect(xml).toContain(`actual: ${'😀'.repeat(499)}…\n`);
  });

  it('replaces lone surrogates, which XML cannot carry', () => {
    const xml = formatJUnitXml([result({ name: 'bad\uD800name' })]);
    expect(xml).toContain('<testcase name="bad\uFFFDname"');
  });
});
