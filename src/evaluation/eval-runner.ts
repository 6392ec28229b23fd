import { didYouMean } from '../definitions/diagnostics.js';
import { DEFAULT_EVAL_SCORING, defaultEvalThreshold, isEvalScoring, type EvalScoring } from '../definitions/eval-rules.js';
import type { Definitions } from '../definitions/index.js';
import type { OfflineRunResult } from './offline-agents.js';
import { scoreAnswer } from './scoring.js';

/** Which cases to run: those of one agent, and those with at least one of the tags. */
export interface EvalSelection {
  agent?: string;
  tags?: readonly string[];
}

/** One case to run, with its scoring and threshold defaults applied. */
export interface EvalCaseToRun {
  agent: string;
  name: string;
  input: string;
  expect: string;
  scoring: EvalScoring;
  threshold: number;
}

export interface EvalCaseResult extends EvalCaseToRun {
  score: number;
  passed: boolean;
  /** Wall time of the case: the agent's run and the scoring. */
  latencyMs: number;
  /** Tokens of every model call of the run; absent when the run failed. */
  tokens?: number;
  /** The answer, or the guardrail's fallback that replaced it; absent when the run failed. */
  answer?: string;
  /** Why the run failed (a provider error, a missing prompt variable): the case scores 0. */
  error?: string;
  /** The guardrail whose fallback was scored instead of the model's answer. */
  blockedBy?: OfflineRunResult['blockedBy'];
}

export type EvalCaseSelection = { ok: true; cases: EvalCaseToRun[] } | { ok: false; problem: string };

/** The cases of the definitions that match `selection`, in definition order. An unknown agent is a problem. */
export function selectEvalCases(definitions: Pick<Definitions, 'agents'>, selection: EvalSelection): EvalCaseSelection {
  const names = definitions.agents.map((agent) => agent.name);
  if (selection.agent !== undefined && !names.includes(selection.agent)) {
    const hint = didYouMean(selection.agent, names);
    return { ok: false, problem: `there is no agent named "${selection.agent}"${hint ? `: ${hint}` : ''}` };
  }
  const tags = selection.tags === undefined ? undefined : new Set(selection.tags);
  const cases = definitions.agents
    .filter((agent) => selection.agent === undefined || agent.name === selection.agent)
    .flatMap((agent) =>
      agent.eval
        .filter((c) => tags === undefined || c.tags.some((tag) => tags.has(tag)))
        .map((c): EvalCaseToRun => {
          // The loader refused unknown scorings and cases without input or expect.
          const scoring = c.scoring !== undefined && isEvalScoring(c.scoring) ? c.scoring : DEFAULT_EVAL_SCORING;
          return {
            agent: agent.name,
            name: c.name,
            input: c.input ?? '',
            expect: c.expect ?? '',
            scoring,
            threshold: c.threshold ?? defaultEvalThreshold(scoring),
          };
        }),
    );
  return { ok: true, cases };
}

/** What running a case needs of the agents (`OfflineAgents`). */
export interface EvalAgents {
  run(agent: string, input: string): Promise<OfflineRunResult>;
}

/**
 * Runs the cases one after the other, so that each one's latency is its own. A run that fails
 * is a failed case (score 0, its error kept), never a failed evaluation.
 */
export async function runEvalCases(
  cases: readonly EvalCaseToRun[],
  agents: EvalAgents,
  now: () => number = () => performance.now(),
): Promise<EvalCaseResult[]> {
  const results: EvalCaseResult[] = [];
  for (const c of cases) {
    const started = now();
    let result: Omit<EvalCaseResult, 'latencyMs'>;
    try {
      const run = await agents.run(c.agent, c.input);
      const score = scoreAnswer(c.scoring, c.expect, run.output);
      result = {
        ...c,
        score,
        passed: score >= c.threshold,
        tokens: run.usage.totalTokens,
        answer: run.output,
        ...(run.blockedBy ? { blockedBy: run.blockedBy } : {}),
      };
    } catch (error) {
      result = { ...c, score: 0, passed: false, error: error instanceof Error ? error.message : String(error) };
    }
    results.push({ ...result, latencyMs: Math.max(0, now() - started) });
  }
  return results;
}
