import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runDefinitionsCli } from '../../../scripts/definitions-cli.js';

const EVAL_DIR = resolve(import.meta.dirname, '../../fixtures/eval');
const scratch = mkdtempSync(join(tmpdir(), 'agentspec-eval-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

async function evalCli(args: string[], variables: Record<string, string> = {}): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runDefinitionsCli(['eval', ...args], {
    out: (t) => (out += t),
    err: (t) => (err += t),
    cwd: EVAL_DIR,
    variables,
  });
  return { code, out, err };
}

/** Rows of the table as `{ case, agent, scoring, score, threshold, pass, tokens, note }`, latency left out. */
function rows(out: string): Record<string, string>[] {
  const lines = out.trimEnd().split('\n');
  const header = lines[0];
  const starts = [...header.matchAll(/\S+/g)].map((m) => m.index);
  return lines.slice(1, -1).map((line) => {
    const cells = starts.map((start, i) => line.slice(start, starts[i + 1]).trim());
    return {
      case: cells[0],
      agent: cells[1],
      scoring: cells[2],
      score: cells[3],
      threshold: cells[4],
      pass: cells[5],
      tokens: cells[7],
      note: cells[8],
    };
  });
}

describe('npm run definitions -- eval', () => {
  it('runs the passing cases of every scoring kind and exits 0', async () => {
    const r = await evalCli(['agents.ias', '--tags', 'pass']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(rows(r.out)).toEqual([
      { case: 'exact_pass', agent: 'echo', scoring: 'exact', score: '1.000', threshold: '1', pass: 'yes', tokens: '6', note: '' },
      { case: 'contains_pass', agent: 'echo', scoring: 'contains', score: '1.000', threshold: '1', pass: 'yes', tokens: '10', note: '' },
      { case: 'regex_pass', agent: 'echo', scoring: 'regex', score: '1.000', threshold: '1', pass: 'yes', tokens: '8', note: '' },
      // cos("echo the quick brown fox", "the quick brown fox") = 4 / (√5 · 2)
      {
        case: 'semantic_default',
        agent: 'echo',
        scoring: 'semantic',
        score: '0.894',
        threshold: '0.8',
        pass: 'yes',
        tokens: '12',
        note: '',
      },
      {
        case: 'blocked',
        agent: 'guarded',
        scoring: 'exact',
        score: '1.000',
        threshold: '1',
        pass: 'yes',
        tokens: '0',
        note: 'guardrail "no-secrets" replaced the input',
      },
    ]);
    expect(r.out.split('\n')[0]).toMatch(/^CASE +AGENT +SCORING +SCORE +THRESHOLD +PASS +LATENCY_MS +TOKENS +NOTE$/);
    expect(r.out.endsWith('OK: 5 of 5 eval cases passed\n')).toBe(true);
  });

  it('fails the failing case of every scoring kind with exit 1 and says why', async () => {
    const r = await evalCli(['agents.ias', '--tags=fail']);
    expect(r.code).toBe(1);
    expect(rows(r.out).map((row) => [row.case, row.score, row.pass, row.note])).toEqual([
      ['exact_fail', '0.000', 'no', 'expected "echo: hello", got "Echo: hello"'],
      ['contains_fail', '0.000', 'no', 'expected "lazy dog", got "Echo: The Quick fox"'],
      ['regex_fail', '0.000', 'no', 'expected "^order", got "Echo: order 42"'],
      ['semantic_fail', '0.000', 'no', 'expected "a lazy dog sleeps", got "Echo: the quick brown fox"'],
    ]);
    expect(r.out.endsWith('FAILED: 0 of 4 eval cases passed, 4 failed\n')).toBe(true);
  });

  it('filters by agent, and a tag list keeps the cases with any of the tags', async () => {
    const byAgent = await evalCli(['agents.ias', '--agent', 'guarded']);
    expect(byAgent.code).toBe(0);
    expect(rows(byAgent.out).map((row) => row.case)).toEqual(['blocked']);

    const byTags = await evalCli(['agents.ias', '--tags', 'smoke, semantic']);
    expect(byTags.code).toBe(1);
    expect(rows(byTags.out).map((row) => row.case)).toEqual(['exact_pass', 'semantic_default', 'semantic_fail']);

    const both = await evalCli(['agents.ias', '--agent=echo', '--tags', 'semantic']);
    expect(rows(both.out).map((row) => [row.case, row.pass])).toEqual([
      ['semantic_default', 'yes'],
      ['semantic_fail', 'no'],
    ]);
  });

  it('counts a provider failure as a failed case with its error, not a crash', async () => {
    const junit = join(scratch, 'broken.xml');
    const r = await evalCli(['agents.ias', '--agent', 'broken', '--junit', junit]);
    expect(r.code).toBe(1);
    expect(r.err).toBe('');
    const [row] = rows(r.out);
    expect(row).toMatchObject({ case: 'provider_error', score: '0.000', pass: 'no', tokens: '-' });
    expect(row.note).toBe('error: mock/fail failed after 3 attempts: server error at the provider (HTTP 500) (simulated)');
    expect(r.out.endsWith('FAILED: 0 of 1 eval case passed, 1 failed (1 with an error)\n')).toBe(true);
    const xml = readFileSync(junit, 'utf8');
    expect(xml).toContain('<testsuite name="broken" tests="1" failures="1" errors="0" skipped="0"');
    const message = 'mock/fail failed after 3 attempts: server error at the provider (HTTP 500) (simulated)';
    expect(xml).toContain(
      `<failure type="error" message="${message}">error: ${message}\nexpected: Echo: hi\nscore 0.000, threshold 1, scoring exact</failure>`,
    );
    // Latency is the wall time of the case: the first try and two retries after backoff.
    expect(Number(/<testcase [^>]*time="([\d.]+)"/.exec(xml)?.[1])).toBeGreaterThan(0.2);
  });

  it('writes JUnit XML: one testsuite per agent, one testcase per case, failures with expected and actual', async () => {
    const junit = join(scratch, 'report.xml');
    const r = await evalCli(['agents.ias', '--agent', 'echo', '--tags', 'smoke,fail', '--junit', junit]);
    expect(r.code).toBe(1);
    const xml = readFileSync(junit, 'utf8').replace(/time="\d+\.\d{3}"/g, 'time="T"');
    expect(xml).toBe(
      [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<testsuites name="agentspec eval" tests="5" failures="4" errors="0" time="T">',
        '  <testsuite name="echo" tests="5" failures="4" errors="0" skipped="0" time="T">',
        '    <testcase name="exact_pass" classname="echo" time="T"/>',
        '    <testcase name="exact_fail" classname="echo" time="T">',
        '      <failure type="score" message="score 0.000 is below the threshold 1 (exact)">expected: echo: hello',
        'actual: Echo: hello',
        'score 0.000, threshold 1, scoring exact</failure>',
        '    </testcase>',
        '    <testcase name="contains_fail" classname="echo" time="T">',
        '      <failure type="score" message="score 0.000 is below the threshold 1 (contains)">expected: lazy dog',
        'actual: Echo: The Quick fox',
        'score 0.000, threshold 1, scoring contains</failure>',
        '    </testcase>',
        '    <testcase name="regex_fail" classname="echo" time="T">',
        '      <failure type="score" message="score 0.000 is below the threshold 1 (regex)">expected: ^order',
        'actual: Echo: order 42',
        'score 0.000, threshold 1, scoring regex</failure>',
        '    </testcase>',
        '    <testcase name="semantic_fail" classname="echo" time="T">',
        '      <failure type="score" message="score 0.000 is below the threshold 0.5 (semantic)">expected: a lazy dog sleeps',
        'actual: Echo: the quick brown fox',
        'score 0.000, threshold 0.5, scoring semantic</failure>',
        '    </testcase>',
        '  </testsuite>',
        '</testsuites>',
        '',
      ].join('\n'),
    );
  });

  it('exits 2 on an unknown agent, with a hint', async () => {
    const r = await evalCli(['agents.ias', '--agent', 'ecko']);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toBe('error: there is no agent named "ecko": did you mean "echo"?\n');
  });

  it('exits 2 when no case matches the filters', async () => {
    const r = await evalCli(['agents.ias', '--tags', 'nightly']);
    expect(r.code).toBe(2);
    expect(r.err).toBe('error: no eval case to run matches the filters\n');
  });

  it('exits 2 on a path that does not exist and on invalid definitions, printing them as check does', async () => {
    const missing = await evalCli(['no-such.ias']);
    expect(missing.code).toBe(2);
    expect(missing.err).toBe('no-such.ias:1:1: error: cannot read definitions: no-such.ias does not exist\n1 error\n');

    const invalid = await evalCli(['invalid-cases.ias']);
    expect(invalid.code).toBe(2);
    expect(invalid.out).toBe('');
    expect(invalid.err).toBe(`${readFileSync(join(EVAL_DIR, 'invalid-cases.expected.txt'), 'utf8')}1 error\n`);
  });

  it('exits 2 on bad usage', async () => {
    for (const args of [
      [],
      ['agents.ias', '--tags', ' , '],
      ['agents.ias', '--agent'],
      ['agents.ias', '--junit='],
      ['agents.ias', '--verbose'],
    ]) {
      const r = await evalCli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err).toMatch(/^usage: npm run definitions/);
    }
    let err = '';
    const check = await runDefinitionsCli(['check', 'agents.ias', '--agent', 'echo'], {
      out: () => {},
      err: (t) => (err += t),
      cwd: EVAL_DIR,
    });
    expect(check).toBe(2);
    expect(err).toMatch(/^usage: /);
  });

  it('exits 2 when a config value an evaluated agent needs is missing, naming the variable', async () => {
    const r = await evalCli(['configured.ias']);
    expect(r.code).toBe(2);
    expect(r.err).toBe(
      'error: config parameter "tone" of agent "configured" is required: set AGENTSPEC_CONFIG_CONFIGURED_TONE ' +
        '(or AGENTSPEC_CONFIG_CONFIGURED_TONE_FILE, a file holding the value)\n',
    );
    const ok = await evalCli(['configured.ias'], { AGENTSPEC_CONFIG_CONFIGURED_TONE: 'dry' });
    expect(ok.code).toBe(0);
  });

  it('exits 2 when the JUnit report cannot be written', async () => {
    const r = await evalCli(['agents.ias', '--tags', 'smoke', '--junit', join(scratch, 'no-such-dir', 'out.xml')]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^error: cannot write the JUnit report .*out\.xml: ENOENT/);
  });
});
