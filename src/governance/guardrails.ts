import type { RE2JS } from 're2js';
import { compileGuardrailPattern, compileKeyword, compileKeywords } from '../definitions/guardrail-patterns.js';
import type { Agent, Guardrail } from '../definitions/index.js';

/**
 * Guardrails (issue 12): keywords and RE2 patterns checked against an agent's answer. A "block"
 * guardrail that matches replaces the answer with its fallback; a "warn" one is only reported.
 * Everything is compiled once, when definitions load; checking is linear in the answer's length.
 */

export type GuardrailMode = 'block' | 'warn';

/**
 * One match of a guardrail. The matched text is not kept (it may be what the guardrail exists
 * to keep out of logs); `index` is the keyword's or pattern's place in the guardrail's list.
 */
export interface GuardrailFinding {
  guardrail: string;
  mode: GuardrailMode;
  kind: 'keyword' | 'pattern';
  index: number;
}

export interface GuardrailDecision {
  blocked: boolean;
  /** The answer, or the fallback of the first blocking guardrail (in the agent's order). */
  text: string;
  findings: GuardrailFinding[];
  /** The guardrail whose fallback replaced the answer. */
  blockedBy?: string;
}

/** One regular expression of a guardrail: all its keywords together, or one pattern. */
export interface GuardrailRule {
  readonly guardrail: string;
  readonly mode: GuardrailMode;
  readonly kind: 'keyword' | 'pattern';
  readonly regex: RE2JS;
  /** The longest text one match can span, in UTF-16 code units; Infinity when unbounded. */
  readonly maxMatchLength: number;
  /**
   * Keywords: no assertion (`$`, `\b`) reads the text after a match, so a match in the first
   * part of an answer is a match in the whole answer.
   */
  readonly prefixSafe: boolean;
  /** Pattern: its index. Keywords: one expression per keyword, to tell which ones matched. */
  readonly index: number;
  readonly keywords?: readonly RE2JS[];
}

export interface CompiledGuardrail {
  readonly name: string;
  readonly mode: GuardrailMode;
  readonly fallback?: string;
  readonly rules: readonly GuardrailRule[];
}

/** A guardrail the definitions validator would have refused; definitions that loaded never have one. */
export class GuardrailCompileError extends Error {
  constructor(guardrail: string, problem: string) {
    super(`guardrail "${guardrail}" cannot be used: ${problem}`);
    this.name = 'GuardrailCompileError';
  }
}

/** Compiles every guardrail of a definitions set, by name. Throws GuardrailCompileError. */
export function compileGuardrails(defs: readonly Guardrail[]): Map<string, CompiledGuardrail> {
  return new Map(defs.map((g) => [g.name, compileGuardrail(g)]));
}

function compileGuardrail(g: Guardrail): CompiledGuardrail {
  if (g.mode !== 'block' && g.mode !== 'warn') throw new GuardrailCompileError(g.name, `mode must be "block" or "warn"`);
  if (g.mode === 'block' && !g.fallback) throw new GuardrailCompileError(g.name, 'a "block" guardrail needs a fallback');
  const mode: GuardrailMode = g.mode;
  const rules: GuardrailRule[] = [];
  if (g.keywords.length > 0) {
    if (g.keywords.includes('')) throw new GuardrailCompileError(g.name, 'a keyword is empty');
    const { regex, maxLength } = compileKeywords(g.keywords);
    const keywords = g.keywords.map(compileKeyword);
    rules.push({ guardrail: g.name, mode, kind: 'keyword', regex, maxMatchLength: maxLength, prefixSafe: true, index: 0, keywords });
  }
  g.patterns.forEach((source, index) => {
    const compiled = compileGuardrailPattern(source);
    if (!compiled.ok) throw new GuardrailCompileError(g.name, `pattern ${index + 1}: ${compiled.reason}`);
    rules.push({
      guardrail: g.name,
      mode,
      kind: 'pattern',
      regex: compiled.regex,
      maxMatchLength: compiled.width.max,
      prefixSafe: false,
      index,
    });
  });
  return { name: g.name, mode, fallback: mode === 'block' ? g.fallback : undefined, rules };
}

/** The guardrails of one agent, in the order of its `uses guardrail` lines. */
export class GuardrailSet {
  readonly guardrails: readonly CompiledGuardrail[];
  /** The rules of the "block" guardrails: what a stream must hold back. */
  readonly blockRules: readonly GuardrailRule[];

  constructor(guardrails: readonly CompiledGuardrail[]) {
    this.guardrails = guardrails;
    this.blockRules = guardrails.filter((g) => g.mode === 'block').flatMap((g) => g.rules);
  }

  /** Throws GuardrailCompileError for a name that is not among `compiled`. */
  static forAgent(agent: Pick<Agent, 'name' | 'guardrails'>, compiled: ReadonlyMap<string, CompiledGuardrail>): GuardrailSet {
    const names = [...new Set(agent.guardrails)];
    return new GuardrailSet(
      names.map((name) => {
        const g = compiled.get(name);
        if (g === undefined) throw new GuardrailCompileError(name, `agent "${agent.name}" uses it, but it is not defined`);
        return g;
      }),
    );
  }

  get isEmpty(): boolean {
    return this.guardrails.length === 0;
  }

  /** Every keyword and pattern that occurs in `text`, in guardrail order, keywords first. */
  check(text: string): GuardrailFinding[] {
    const findings: GuardrailFinding[] = [];
    for (const g of this.guardrails) {
      for (const rule of g.rules) {
        if (!rule.regex.test(text)) continue;
        if (rule.keywords === undefined) {
          findings.push({ guardrail: g.name, mode: g.mode, kind: rule.kind, index: rule.index });
          continue;
        }
        // Only when one of them occurs: a pass over the text for each keyword.
        rule.keywords.forEach((k, index) => {
          if (k.test(text)) findings.push({ guardrail: g.name, mode: g.mode, kind: 'keyword', index });
        });
      }
    }
    return findings;
  }

  /** What to send for `text`, given the findings of `check(text)`. */
  decide(text: string, findings: GuardrailFinding[]): GuardrailDecision {
    const first = findings.find((f) => f.mode === 'block');
    if (first === undefined) return { blocked: false, text, findings };
    const fallback = this.guardrails.find((g) => g.name === first.guardrail)?.fallback ?? '';
    return { blocked: true, text: fallback, findings, blockedBy: first.guardrail };
  }

  /** Checks a whole answer: `decide(text, check(text))`. */
  apply(text: string): GuardrailDecision {
    return this.decide(text, this.check(text));
  }
}
