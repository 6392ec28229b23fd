import type { EvalCaseResult } from './eval-runner.js';

const TABLE_HEADER = ['CASE', 'AGENT', 'SCORING', 'SCORE', 'THRESHOLD', 'PASS', 'LATENCY_MS', 'TOKENS', 'NOTE'];
/** Characters of `expect` and of the answer shown in a table note. */
const NOTE_TEXT_LENGTH = 40;
/** Characters of `expect` and of the answer kept in a JUnit failure. */
const JUNIT_TEXT_LENGTH = 500;

/** One row per case, columns aligned; the last column says why a case failed. */
export function formatEvalTable(results: readonly EvalCaseResult[]): string {
  const rows = results.map((r) => [
    r.name,
    r.agent,
    r.scoring,
    formatScore(r.score),
    String(r.threshold),
    r.passed ? 'yes' : 'no',
    String(Math.round(r.latencyMs)),
    r.tokens === undefined ? '-' : String(r.tokens),
    noteFor(r),
  ]);
  const widths = TABLE_HEADER.map((title, i) => Math.max(title.length, ...rows.map((row) => width(row[i]))));
  const line = (cells: string[]): string =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell + ' '.repeat(widths[i] - width(cell))))
      .join('  ')
      .trimEnd();
  return [line(TABLE_HEADER), ...rows.map(line)].join('\n') + '\n';
}

/** `OK: 3 of 3 eval cases passed` or `FAILED: 1 of 3 eval cases passed, 2 failed (1 with an error)`. */
export function formatEvalSummary(results: readonly EvalCaseResult[]): string {
  const failed = results.filter((r) => !r.passed);
  const errors = failed.filter((r) => r.error !== undefined).length;
  const passed = results.length - failed.length;
  const noun = `eval case${results.length === 1 ? '' : 's'}`;
  if (failed.length === 0) return `OK: ${passed} of ${results.length} ${noun} passed\n`;
  const withErrors = errors === 0 ? '' : ` (${errors} with an error)`;
  return `FAILED: ${passed} of ${results.length} ${noun} passed, ${failed.length} failed${withErrors}\n`;
}

/** Three decimals, rounded down: a score shown as the threshold has reached it. */
export function formatScore(score: number): string {
  return (Math.floor(score * 1000 + 1e-9) / 1000).toFixed(3);
}

function noteFor(r: EvalCaseResult): string {
  const guardrail = r.blockedBy
    ? `guardrail "${r.blockedBy.guardrail}" replaced the ${r.blockedBy.side === 'input' ? 'input' : 'answer'}`
    : '';
  if (r.error !== undefined) return `error: ${oneLine(r.error)}`;
  if (r.passed) return guardrail;
  const mismatch = `expected ${quote(r.expect, NOTE_TEXT_LENGTH)}, got ${quote(r.answer ?? '', NOTE_TEXT_LENGTH)}`;
  return guardrail ? `${mismatch}; ${guardrail}` : mismatch;
}

/**
 * JUnit XML as CI servers read it: one `testsuite` per agent, one `testcase` per case (times in
 * seconds), a `failure` for each failed case with its score, `expect` and answer (shortened).
 * A run that failed is a `failure` of type `error` carrying the error message.
 */
export function formatJUnitXml(results: readonly EvalCaseResult[], name = 'agentspec eval'): string {
  const byAgent = new Map<string, EvalCaseResult[]>();
  for (const r of results) byAgent.set(r.agent, [...(byAgent.get(r.agent) ?? []), r]);
  const failures = (list: readonly EvalCaseResult[]): number => list.filter((r) => !r.passed).length;
  const seconds = (list: readonly EvalCaseResult[]): string => (list.reduce((sum, r) => sum + r.latencyMs, 0) / 1000).toFixed(3);
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${attr(name)}" tests="${results.length}" failures="${failures(results)}" errors="0" time="${seconds(results)}">`,
  ];
  for (const [agent, list] of byAgent) {
    lines.push(
      `  <testsuite name="${attr(agent)}" tests="${list.length}" failures="${failures(list)}" errors="0" skipped="0" time="${seconds(list)}">`,
    );
    for (const r of list) {
      const open = `    <testcase name="${attr(r.name)}" classname="${attr(agent)}" time="${seconds([r])}"`;
      if (r.passed) {
        lines.push(`${open}/>`);
        continue;
      }
      lines.push(`${open}>`, `      ${failureElement(r)}`, '    </testcase>');
    }
    lines.push('  </testsuite>');
  }
  lines.push('</testsuites>');
  return lines.join('\n') + '\n';
}

function failureElement(r: EvalCaseResult): string {
  const score = `score ${formatScore(r.score)}, threshold ${r.threshold}, scoring ${r.scoring}`;
  const expected = `expected: ${shorten(r.expect, JUNIT_TEXT_LENGTH)}`;
  if (r.error !== undefined) {
    return `<failure type="error" message="${attr(r.error)}">${text(`error: ${r.error}\n${expected}\n${score}`)}</failure>`;
  }
  const actual = `actual: ${shorten(r.answer ?? '', JUNIT_TEXT_LENGTH)}`;
  const guardrail = r.blockedBy
    ? `\nguardrail "${r.blockedBy.guardrail}" replaced the ${r.blockedBy.side === 'input' ? 'input' : 'answer'}`
    : '';
  const message = `score ${formatScore(r.score)} is below the threshold ${r.threshold} (${r.scoring})`;
  return `<failure type="score" message="${attr(message)}">${text(`${expected}\n${actual}\n${score}${guardrail}`)}</failure>`;
}

/** A parser would read a carriage return as a newline: it is kept as a reference. */
function text(value: string): string {
  return xmlChars(value).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\r/g, '&#13;');
}

/**
 * Characters XML 1.0 cannot carry at all, even escaped (C0 controls but tab, newline and
 * carriage return; lone surrogates; U+FFFE and U+FFFF), become U+FFFD.
 */
function xmlChars(value: string): string {
  let out = '';
  for (const char of value) {
    const code = char.codePointAt(0)!;
    const allowed =
      code === 0x9 ||
      code === 0xa ||
      code === 0xd ||
      (code >= 0x20 && code <= 0xd7ff) ||
      (code >= 0xe000 && code <= 0xfffd) ||
      code >= 0x10000;
    out += allowed ? char : '\uFFFD';
  }
  return out;
}

/** Escaped so that a parser gives back the same text: whitespace in attributes is normalised otherwise. */
function attr(value: string): string {
  return text(value).replace(/"/g, '&quot;').replace(/'/g, '&apos;').replace(/\t/g, '&#9;').replace(/\n/g, '&#10;');
}

/** At most `max` characters (code points), an ellipsis marking a cut. */
function shorten(value: string, max: number): string {
  const chars = Array.from(value);
  return chars.length <= max ? value : `${chars.slice(0, max - 1).join('')}…`;
}

function quote(value: string, max: number): string {
  return JSON.stringify(shorten(value, max));
}

function oneLine(value: string): string {
  return value.replace(/\s*\n\s*/g, ' ');
}

function width(cell: string): number {
  return Array.from(cell).length;
}
