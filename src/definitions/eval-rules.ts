import { RE2JS, RE2JSException } from 're2js';
import { DiagnosticBag, didYouMean } from './diagnostics.js';
import type { DefinitionsDraft } from './draft.js';
import type { EvalCase } from './model.js';
import type { Locator, ModelPath } from './positions.js';

/** How an eval case's answer is compared with its `expect` (docs/agents.md "Evaluations"). */
export const EVAL_SCORINGS = ['exact', 'contains', 'regex', 'semantic'] as const;
export type EvalScoring = (typeof EVAL_SCORINGS)[number];

/** Upstream's runner scores a case without `scoring` as `semantic`; so do we. */
export const DEFAULT_EVAL_SCORING: EvalScoring = 'semantic';

/** The threshold of a case that sets none: a lexical similarity rarely reaches 1 on free text. */
export function defaultEvalThreshold(scoring: EvalScoring): number {
  return scoring === 'semantic' ? 0.8 : 1;
}

export function isEvalScoring(value: string): value is EvalScoring {
  return (EVAL_SCORINGS as readonly string[]).includes(value);
}

export type CompiledEvalPattern = { ok: true; regex: RE2JS } | { ok: false; reason: string };

/** The `expect` of a `regex` case, compiled with RE2 (linear-time matching, no backtracking). */
export function compileEvalPattern(source: string): CompiledEvalPattern {
  try {
    return { ok: true, regex: RE2JS.compile(source) };
  } catch (error) {
    if (!(error instanceof RE2JSException)) throw error;
    return { ok: false, reason: error.message.replace(/^error parsing regexp: /, '') };
  }
}

type Report = (path: ModelPath, message: string, ...hints: (string | undefined)[]) => void;

export interface EvalRuleOptions {
  /** Whether an attribute was written even though no value came out of it (already reported). */
  written: (target: object, key: string) => boolean;
}

/**
 * What `npm run definitions -- eval` needs of an agent's eval cases, checked when definitions
 * load so that a case that loads can be run and scored: unique names within the agent, an
 * `input` and an `expect`, a known `scoring`, a `threshold` in [0, 1], and a `regex` case's
 * pattern compiling with RE2.
 */
export function checkEvalCases(draft: DefinitionsDraft, loc: Locator, diags: DiagnosticBag, options: EvalRuleOptions): void {
  const report: Report = (path, message, ...hints) => diags.error(loc.at(path), message, ...hints);
  const reportValue: Report = (path, message, ...hints) => {
    const pos = loc.at(path);
    // A value the parser already refused at this position is not reported twice.
    const known = diags.items.some((d) => d.severity === 'error' && d.file === pos.file && d.line === pos.line && d.column === pos.column);
    if (!known) diags.error(pos, message, ...hints);
  };
  draft.agents.forEach((agent, i) => {
    const seen = new Set<string>();
    agent.eval.forEach((c, j) => {
      const base: ModelPath = ['agents', i, 'eval', j];
      const ctx = `eval case "${c.name}" of agent "${agent.name}"`;
      if (seen.has(c.name)) report(base, `duplicate eval case "${c.name}" in agent "${agent.name}"`);
      seen.add(c.name);
      checkCase(c, base, ctx, { report, reportValue }, options);
    });
  });
}

function checkCase(
  c: EvalCase,
  base: ModelPath,
  ctx: string,
  { report, reportValue }: { report: Report; reportValue: Report },
  options: EvalRuleOptions,
): void {
  if (c.input === undefined && !options.written(c, 'input'))
    report(base, `${ctx} has no input`, 'add: input "<the message sent to the agent>"');
  if (c.expect === undefined && !options.written(c, 'expect'))
    report(base, `${ctx} has no expect`, 'add: expect "<the answer to compare with>"');
  if (c.scoring !== undefined && !isEvalScoring(c.scoring)) {
    reportValue(
      [...base, 'scoring'],
      `unknown scoring "${c.scoring}" in ${ctx}: expected ${EVAL_SCORINGS.join(', ')}`,
      didYouMean(c.scoring, EVAL_SCORINGS),
    );
  }
  if (c.threshold !== undefined && !(c.threshold >= 0 && c.threshold <= 1)) {
    reportValue([...base, 'threshold'], `the threshold of ${ctx} must be between 0 and 1, got ${c.threshold}`);
  }
  if (c.scoring === 'regex' && c.expect !== undefined) {
    const compiled = compileEvalPattern(c.expect);
    if (!compiled.ok) {
      const backtracking = /\(\?<?[=!]|\\[1-9]/.test(c.expect) ? 'RE2 has no lookahead, lookbehind or backreferences' : undefined;
      reportValue([...base, 'expect'], `invalid pattern ${JSON.stringify(c.expect)} in ${ctx}: ${compiled.reason}`, backtracking);
    }
  }
}
