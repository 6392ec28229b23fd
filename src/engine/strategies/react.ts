import type { AgentRunResult } from '../agent-loop.js';
import type { AgentRun } from './agent-run.js';

/**
 * `react` (alias `loop`): system prompt + history + input → model; tool calls go back to the
 * model until it answers without tools or a limit stops it. Every call streams live.
 */
export async function runReact(run: AgentRun): Promise<AgentRunResult> {
  const messages = [...run.opening(), { role: 'user' as const, content: run.request.input }];
  const outcome = await run.loop(messages, { stream: run.streaming });
  let output = outcome.text;
  if (output.length === 0 && outcome.finishReason !== 'stop') {
    output = run.explain(outcome.finishReason);
    await run.request.onEvent?.({ type: 'token', content: output });
  }
  return run.result(output, outcome.finishReason);
}
