import type { ToolCallRecord, AgentRunResult } from '../agent-loop.js';
import { type AgentRun, providerFinish } from './agent-run.js';

export const ROUTE_INSTRUCTION =
  "Route the user's request: call exactly one of the tools offered, with the arguments it needs. " + 'Do not answer the request yourself.';
export const ROUTED_ANSWER_INSTRUCTION = "A tool was chosen to handle the user's request. Answer the request from its result.";

/**
 * `router`: one call offered the agent's skills picks one and its arguments; that tool runs
 * (only the first when the model asks for several); a last call without tools answers from
 * its result and streams. A model that calls no tool has answered itself. Without skills,
 * the agent answers in one streamed call.
 */
export async function runRouter(run: AgentRun): Promise<AgentRunResult> {
  const input = run.request.input;
  const stop = run.blocked();
  if (stop) {
    run.limit(stop);
    return run.finish('', stop, false);
  }
  if (!run.hasTools) {
    const only = await run.call([...run.opening(), { role: 'user', content: input }], { stream: run.streaming });
    return run.finish(only.content, providerFinish(only.finishReason), true);
  }

  const route = await run.call([...run.opening(ROUTE_INSTRUCTION), { role: 'user', content: input }], { tools: true });
  const chosen = route.toolCalls.at(0);
  if (chosen === undefined) return run.finish(route.content, providerFinish(route.finishReason), false);
  const [record] = await run.runTools([chosen]);

  // When no call is left to phrase an answer, the tool's result is the answer.
  const toolAnswer = record.error !== undefined ? `The tool ${record.name} failed: ${record.error}` : record.output;
  const blocked = run.blocked();
  if (blocked) {
    run.limit(blocked);
    return run.finish(toolAnswer, blocked, false);
  }
  const content = `Request:\n${input}\n\nThe tool ${record.name} was called with ${JSON.stringify(record.arguments)} and ${outcomeText(record)}`;
  const answer = await run.call([...run.opening(ROUTED_ANSWER_INSTRUCTION), { role: 'user', content }], {
    stream: run.streaming,
  });
  if (answer.content.length > 0) return run.finish(answer.content, providerFinish(answer.finishReason), true);
  return run.finish(toolAnswer, providerFinish(answer.finishReason), false);
}

function outcomeText(record: ToolCallRecord): string {
  return record.error !== undefined ? `failed: ${record.error}` : `returned:\n${record.output}`;
}
