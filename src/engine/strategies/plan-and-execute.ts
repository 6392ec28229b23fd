import type { AgentRunResult } from '../agent-loop.js';
import { type AgentRun, providerFinish } from './agent-run.js';

/** Steps of a plan carried out; further steps are dropped. */
export const MAX_PLAN_STEPS = 5;

export const PLAN_INSTRUCTION =
  `Plan how to carry out the user's task. Reply with a numbered list of at most ${MAX_PLAN_STEPS} steps, ` +
  'one per line ("1. ..."), and nothing else. Do not carry out the steps yet.';
export const STEP_INSTRUCTION =
  "You are carrying out one step of a plan for the user's task. Use the tools when they help. " +
  'Reply with the result of this step only.';
export const ANSWER_INSTRUCTION =
  "The steps of a plan for the user's task have been carried out. Write the answer to the task from their results.";

/**
 * `plan-and-execute`: one call writes a plan (no tools); each step runs as a react loop given
 * the task, the plan and the results so far; a last call writes the answer from the results
 * (no tools, the only call that streams). One call is kept for that answer, and one for each
 * step still to come, so that a long step cannot starve the others.
 */
export async function runPlanAndExecute(run: AgentRun): Promise<AgentRunResult> {
  const input = run.request.input;
  const stop = run.blocked();
  if (stop) {
    run.limit(stop);
    return run.finish('', stop, false);
  }
  const planned = await run.call([...run.opening(PLAN_INSTRUCTION), { role: 'user', content: input }]);
  const steps = parsePlan(planned.content, input);
  const plan = steps.map((step, i) => `${i + 1}. ${step}`).join('\n');

  const results: string[] = [];
  for (const [i, step] of steps.entries()) {
    const blocked = run.turnsLeft() < 2 ? 'max_turns' : run.blocked();
    if (blocked) {
      run.limit(blocked);
      break;
    }
    const later = steps.length - i - 1;
    const maxCalls = Math.max(1, run.turnsLeft() - 1 - later);
    const content = `${taskAndPlan(input, plan)}\n\nResults so far:\n${resultsText(steps, results) || '(none yet)'}\n\nStep ${i + 1}: ${step}`;
    const outcome = await run.loop([...run.opening(STEP_INSTRUCTION), { role: 'user', content }], { maxCalls });
    results.push(outcome.text);
  }

  const bestSoFar = results.filter((text) => text.length > 0).join('\n\n') || planned.content;
  const blocked = run.blocked();
  if (blocked) {
    run.limit(blocked);
    return run.finish(bestSoFar, blocked, false);
  }
  const content = `${taskAndPlan(input, plan)}\n\nResults:\n${resultsText(steps, results) || '(no step was carried out)'}`;
  const answer = await run.call([...run.opening(ANSWER_INSTRUCTION), { role: 'user', content }], { stream: run.streaming });
  if (answer.content.length > 0) return run.finish(answer.content, providerFinish(answer.finishReason), true);
  return run.finish(bestSoFar, providerFinish(answer.finishReason), false);
}

/**
 * The steps of a plan: its numbered lines (`1.` or `1)`), a line that follows one continuing
 * it; else its bulleted lines; else the whole text as one step; for an empty plan, the task.
 */
export function parsePlan(text: string, task: string): string[] {
  const lines = text.split('\n').map((line) => line.trim());
  for (const marker of [/^\d+[.)]\s+(.*)$/, /^[-*•]\s+(.*)$/]) {
    const steps: string[] = [];
    let open = false;
    for (const line of lines) {
      const match = marker.exec(line);
      if (match) {
        steps.push(match[1].trim());
        open = true;
      } else if (line.length === 0) {
        open = false;
      } else if (open) {
        steps[steps.length - 1] = `${steps[steps.length - 1]} ${line}`.trim();
      }
    }
    const kept = steps.filter((step) => step.length > 0);
    if (kept.length > 0) return kept.slice(0, MAX_PLAN_STEPS);
  }
  const whole = text.trim();
  return [whole.length > 0 ? whole : task];
}

function taskAndPlan(input: string, plan: string): string {
  return `Task:\n${input}\n\nPlan:\n${plan}`;
}

function resultsText(steps: string[], results: string[]): string {
  return results.map((text, i) => `Result of step ${i + 1} (${steps[i]}):\n${text || '(no result)'}`).join('\n\n');
}
