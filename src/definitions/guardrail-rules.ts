import { RE2JSException } from 're2js';
import { DiagnosticBag, didYouMean } from './diagnostics.js';
import type { DefinitionsDraft } from './draft.js';
import { MAX_GUARDRAIL_ENTRY_LENGTH, compileGuardrailPattern, compileKeywords } from './guardrail-patterns.js';
import type { Guardrail } from './model.js';
import type { Locator, ModelPath } from './positions.js';

export const GUARDRAIL_MODES: readonly string[] = ['block', 'warn'];

type Report = (path: ModelPath, message: string, ...hints: (string | undefined)[]) => void;

export interface GuardrailRuleOptions {
  /** Whether an attribute was written even though no value came out of it (already reported). */
  written: (target: object, key: string) => boolean;
}

/**
 * What the runtime needs of a guardrail (issue 12), checked when definitions load, so that a
 * guardrail that loads can be compiled and applied without failing:
 * - `mode` is required, "block" or "warn": a guardrail that might or might not withhold an
 *   answer is worse than a refusal to load (upstream requires it too);
 * - a "block" guardrail needs a non-empty `fallback`, the text sent instead of the answer
 *   (upstream requires it too); a "warn" guardrail's fallback is unused, which is a warning;
 * - at least one keyword or pattern; no empty keyword (it would match every answer);
 * - each pattern compiles with RE2, is at most 1,000 characters, and cannot match empty text.
 * References from agents (`uses guardrail "x"`) are checked with the other references.
 */
export function checkGuardrails(draft: DefinitionsDraft, loc: Locator, diags: DiagnosticBag, options: GuardrailRuleOptions): void {
  const report: Report = (path, message, ...hints) => diags.error(loc.at(path), message, ...hints);
  const reportValue: Report = (path, message, ...hints) => {
    const pos = loc.at(path);
    // A string the parser already refused at this position (a bad escape) is not reported twice.
    const known = diags.items.some((d) => d.severity === 'error' && d.file === pos.file && d.line === pos.line && d.column === pos.column);
    if (!known) diags.error(pos, message, ...hints);
  };
  draft.guardrails.forEach((g, i) => checkGuardrail(g, ['guardrails', i], { report, reportValue, loc, diags, options }));
  draft.agents.forEach((a, i) => {
    const seen = new Set<string>();
    a.guardrails.forEach((name, j) => {
      if (seen.has(name)) diags.warning(loc.at(['agents', i, 'guardrails', j]), `agent "${a.name}" uses guardrail "${name}" twice`);
      seen.add(name);
    });
  });
}

interface Reporting {
  report: Report;
  reportValue: Report;
  loc: Locator;
  diags: DiagnosticBag;
  options: GuardrailRuleOptions;
}

function checkGuardrail(g: Guardrail, base: ModelPath, { report, reportValue, loc, diags, options }: Reporting): void {
  const ctx = `guardrail "${g.name}"`;
  if (g.mode === undefined) {
    if (!options.written(g, 'mode')) {
      report(base, `${ctx} has no mode`, 'add: mode "block" (send the fallback instead of the answer) or mode "warn" (only report it)');
    }
  } else if (!GUARDRAIL_MODES.includes(g.mode)) {
    report([...base, 'mode'], `the mode of ${ctx} must be "block" or "warn", got "${g.mode}"`, didYouMean(g.mode, GUARDRAIL_MODES));
  }
  if (g.mode === 'block') {
    if (g.fallback === '') {
      report([...base, 'fallback'], `the fallback of ${ctx} is empty`, 'write the text sent instead of a blocked answer');
    } else if (g.fallback === undefined && !options.written(g, 'fallback')) {
      report(base, `${ctx} blocks answers but has no fallback`, 'add: fallback "…", the text sent instead of a blocked answer');
    }
  } else if (g.mode === 'warn' && g.fallback !== undefined) {
    diags.warning(loc.at([...base, 'fallback']), `the fallback of ${ctx} has no effect: a "warn" guardrail never replaces the answer`);
  }
  if (g.keywords.length === 0 && g.patterns.length === 0) {
    report([...base, 'keywords'], `${ctx} has no keywords or patterns, so it matches nothing`, 'add: keywords ["…"] or patterns ["regex"]');
  }
  checkKeywords(g, base, ctx, reportValue);
  g.patterns.forEach((p, j) => {
    const path = [...base, 'patterns', j];
    if (p.length > MAX_GUARDRAIL_ENTRY_LENGTH) {
      reportValue(path, `pattern ${j + 1} of ${ctx} is longer than ${MAX_GUARDRAIL_ENTRY_LENGTH} characters`);
      return;
    }
    const compiled = compileGuardrailPattern(p);
    if (!compiled.ok) {
      reportValue(path, `invalid pattern ${JSON.stringify(p)} in ${ctx}: ${compiled.reason}`, backtrackingHint(p));
    } else if (compiled.width.min === 0) {
      reportValue(
        path,
        `pattern ${JSON.stringify(p)} in ${ctx} can match empty text, so it would match almost any answer`,
        'make every match contain at least one character',
      );
    }
  });
}

function checkKeywords(g: Guardrail, base: ModelPath, ctx: string, report: Report): void {
  let usable = g.keywords.length > 0;
  g.keywords.forEach((k, j) => {
    if (k === '') report([...base, 'keywords', j], `an empty keyword in ${ctx} would match every answer`);
    else if (k.length > MAX_GUARDRAIL_ENTRY_LENGTH)
      report([...base, 'keywords', j], `keyword ${j + 1} of ${ctx} is longer than ${MAX_GUARDRAIL_ENTRY_LENGTH} characters`);
    else return;
    usable = false;
  });
  if (!usable) return;
  try {
    compileKeywords(g.keywords);
  } catch (error) {
    if (!(error instanceof RE2JSException)) throw error;
    report([...base, 'keywords'], `the keywords of ${ctx} cannot be compiled: ${error.message}`, 'use fewer or shorter keywords');
  }
}

function backtrackingHint(pattern: string): string | undefined {
  if (!/\(\?<?[=!]|\\[1-9]/.test(pattern)) return undefined;
  return 'RE2 has no lookahead, lookbehind or backreferences: matching them can take exponential time';
}
