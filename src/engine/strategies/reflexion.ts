import type { ChatMessage } from '../../providers/model-provider.js';
import type { AgentFinishReason, AgentRunResult } from '../agent-loop.js';
import type { AgentRun } from './agent-run.js';

/** Critique-and-revise rounds after the first answer. */
export const MAX_REFLEXION_ROUNDS = 2;

export const CRITIQUE_INSTRUCTION =
  "Review an answer to the user's task. If it is correct and complete, reply with exactly OK. " +
  'Otherwise list its problems briefly, and nothing else.';

export function revisionRequest(critique: string): string {
  return `A review of your answer found these problems:\n${critique}\n\nWrite an improved answer to the task that fixes them. Reply with the answer only.`;
}

/**
 * `reflexion`: a react answer; then, up to MAX_REFLEXION_ROUNDS times, a critique call (no
 * tools) and, unless it accepts the answer, a revision (a react loop that sees the answer and
 * the critique). Only the revision of the last round streams live; an answer settled earlier
 * is sent as one token event.
 */
export async function runReflexion(run: AgentRun): Promise<AgentRunResult> {
  const input = run.request.input;
  const draft = await run.loop([...run.opening(), { role: 'user', content: input }]);
  let answer = draft.text;
  let reason: AgentFinishReason = draft.finishReason;
  let sent = false;

  for (let round = 1; round <= MAX_REFLEXION_ROUNDS && run.limited === undefined && answer.length > 0; round++) {
    // A critique is worth its call only if a revision can follow it.
    const blocked = run.turnsLeft() < 2 ? 'max_turns' : run.blocked();
    if (blocked) {
      run.limit(blocked);
      break;
    }
    const critique = await run.call([
      ...run.opening(CRITIQUE_INSTRUCTION),
      { role: 'user', content: `Task:\n${input}\n\nAnswer:\n${answer}` },
    ]);
    if (accepts(critique.content)) break;
    const stop = run.blocked();
    if (stop) {
      run.limit(stop);
      break;
    }
    const last = round === MAX_REFLEXION_ROUNDS;
    const messages: ChatMessage[] = [
      ...run.opening(),
      { role: 'user', content: input },
      { role: 'assistant', content: answer },
      { role: 'user', content: revisionRequest(critique.content) },
    ];
    const revision = await run.loop(messages, { stream: last && run.streaming });
    if (revision.text.length > 0) {
      answer = revision.text;
      reason = revision.finishReason;
      sent = last && run.streaming;
    }
  }
  return run.finish(answer, reason, sent);
}

/** `OK` alone (any case, a trailing `.` or `!` allowed), or an empty reply: nothing to fix. */
export function accepts(critique: string): boolean {
  const text = critique.trim().replace(/[.!]+$/, '');
  return text.length === 0 || text.toLowerCase() === 'ok';
}
