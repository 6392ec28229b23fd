import type { ChatMessage, ToolCall, ToolSpec, TokenUsage } from '../providers/model-provider.js';
import type { ModelCallHook, ResilientCall, ResilientChatResponse, ResilientStreamEvent } from '../providers/resilient-model.js';
import { renderPrompt, type PromptTemplate } from './prompt-template.js';
import type { Tool } from './tools/tool.js';

/** What the loop needs of the model layer (ResilientModel satisfies it). */
export interface ModelCaller {
  chat(call: ResilientCall): Promise<ResilientChatResponse>;
  stream(call: ResilientCall): AsyncIterable<ResilientStreamEvent>;
}

/** An agent ready to run: definitions resolved into prompt, models and tools. */
export interface AgentProfile {
  name: string;
  /** Fallback chain, first preferred. */
  models: string[];
  prompt?: PromptTemplate;
  tools: { spec: ToolSpec; tool: Tool }[];
  maxTurns: number;
  tokenBudget?: number;
  temperature?: number;
  timeoutMs?: number;
}

export interface HistoryMessage {
  role: 'user' | 'assistant';
  content: string;
}

export type AgentEvent =
  | { type: 'token'; content: string }
  | { type: 'tool_call'; name: string; arguments: Record<string, unknown> }
  | { type: 'tool_result'; name: string; output: string; error?: string };

export interface AgentRunRequest {
  input: string;
  history?: HistoryMessage[];
  variables?: Record<string, string>;
  temperature?: number;
  maxTokens?: number;
  signal?: AbortSignal;
  /** Stream tokens of the model's answers through `onEvent`. */
  stream?: boolean;
  /**
   * Called for each event, in order. A returned promise is awaited before the model stream is
   * read further: a slow reader slows the model down instead of piling events up in memory.
   */
  onEvent?: (event: AgentEvent) => void | Promise<void>;
  onModelCall?: ModelCallHook;
}

export interface ToolCallRecord {
  name: string;
  arguments: Record<string, unknown>;
  output: string;
  duration_ms: number;
  error?: string;
}

export type AgentFinishReason = 'stop' | 'length' | 'content_filter' | 'max_turns' | 'token_budget' | 'other';

export interface AgentRunResult {
  output: string;
  usage: TokenUsage;
  tool_calls: ToolCallRecord[];
  turns: number;
  finish_reason: AgentFinishReason;
  duration_ms: number;
}

const TURN_SEPARATOR = '\n\n';

/**
 * One agent call: system prompt + history + input → model; tool calls of a turn run
 * concurrently and their results go back to the model, until it answers without tools,
 * `max_turns` is reached or the token budget is spent.
 */
export async function runAgent(model: ModelCaller, agent: AgentProfile, request: AgentRunRequest): Promise<AgentRunResult> {
  const started = performance.now();
  const messages: ChatMessage[] = [];
  if (agent.prompt) messages.push({ role: 'system', content: renderPrompt(agent.prompt, request.variables ?? {}) });
  for (const message of request.history ?? []) messages.push({ role: message.role, content: message.content });
  messages.push({ role: 'user', content: request.input });

  const usage: TokenUsage = { input_tokens: 0, output_tokens: 0, total_tokens: 0 };
  const texts: string[] = [];
  const toolCalls: ToolCallRecord[] = [];
  const toolsByName = new Map(agent.tools.map((entry) => [entry.spec.name, entry]));
  const toolSpecs = agent.tools.length > 0 ? agent.tools.map((entry) => entry.spec) : undefined;
  let turns = 0;
  let finishReason: AgentFinishReason = 'max_turns';

  while (turns < agent.maxTurns) {
    const remaining = agent.tokenBudget === undefined ? undefined : agent.tokenBudget - usage.total_tokens;
    if (remaining !== undefined && remaining <= 0) {
      finishReason = 'token_budget';
      break;
    }
    const call: ResilientCall = {
      models: agent.models,
      messages,
      tools: toolSpecs,
      temperature: request.temperature ?? agent.temperature,
      max_tokens: minDefined(request.maxTokens, remaining),
      signal: request.signal,
      timeoutMs: agent.timeoutMs,
      onModelCall: request.onModelCall,
    };
    const response = request.stream ? await streamTurn(model, call, texts.length > 0, request.onEvent) : await model.chat(call);
    turns++;
    addUsage(usage, response.usage);
    if (response.content) texts.push(response.content);

    if (response.tool_calls.length === 0) {
      finishReason = providerFinish(response.finish_reason);
      break;
    }
    messages.push({ role: 'assistant', content: response.content, tool_calls: response.tool_calls });
    const results = await Promise.all(response.tool_calls.map((toolCall) => runTool(toolsByName, toolCall, request)));
    for (const [index, record] of results.entries()) {
      toolCalls.push(record);
      const toolCall = response.tool_calls[index];
      messages.push({
        role: 'tool',
        tool_call_id: toolCall.id,
        name: toolCall.name,
        content: record.error ? `Error: ${record.error}` : record.output,
        is_error: record.error !== undefined,
      });
    }
  }

  let output = texts.join(TURN_SEPARATOR);
  if (output.length === 0 && finishReason !== 'stop') {
    // Never an empty 200: say why the agent stopped.
    output = stopExplanation(agent, finishReason);
    await request.onEvent?.({ type: 'token', content: output });
  }
  return {
    output,
    usage,
    tool_calls: toolCalls,
    turns,
    finish_reason: finishReason,
    duration_ms: Math.round(performance.now() - started),
  };
}

async function streamTurn(
  model: ModelCaller,
  call: ResilientCall,
  hasEarlierText: boolean,
  onEvent: AgentRunRequest['onEvent'],
): Promise<ResilientChatResponse> {
  let first = true;
  for await (const event of model.stream(call)) {
    if (event.type === 'token') {
      if (event.content.length === 0) continue;
      if (first && hasEarlierText) await onEvent?.({ type: 'token', content: TURN_SEPARATOR });
      first = false;
      await onEvent?.({ type: 'token', content: event.content });
    } else {
      return event.response;
    }
  }
  throw new Error('The model stream ended without a final answer.');
}

async function runTool(
  tools: Map<string, { spec: ToolSpec; tool: Tool }>,
  call: ToolCall,
  request: AgentRunRequest,
): Promise<ToolCallRecord> {
  await request.onEvent?.({ type: 'tool_call', name: call.name, arguments: call.arguments });
  const started = performance.now();
  const entry = tools.get(call.name);
  const result = entry
    ? await entry.tool.run(call.arguments, { signal: request.signal }).catch((error: unknown) => ({
        output: '',
        error: `The tool failed: ${error instanceof Error ? error.message : String(error)}`,
      }))
    : { output: '', error: `There is no tool named "${call.name}" for this agent.` };
  const record: ToolCallRecord = {
    name: call.name,
    arguments: call.arguments,
    output: result.output,
    duration_ms: Math.round(performance.now() - started),
    ...(result.error !== undefined ? { error: result.error } : {}),
  };
  await request.onEvent?.({
    type: 'tool_result',
    name: call.name,
    output: record.output,
    ...(record.error !== undefined ? { error: record.error } : {}),
  });
  return record;
}

function addUsage(total: TokenUsage, turn: TokenUsage): void {
  total.input_tokens += turn.input_tokens;
  total.output_tokens += turn.output_tokens;
  total.total_tokens = total.input_tokens + total.output_tokens;
}

function minDefined(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
}

function providerFinish(reason: ResilientChatResponse['finish_reason']): AgentFinishReason {
  return reason === 'tool_calls' ? 'stop' : reason;
}

function stopExplanation(agent: AgentProfile, reason: AgentFinishReason): string {
  switch (reason) {
    case 'token_budget':
      return `The agent "${agent.name}" stopped before answering: its token budget of ${agent.tokenBudget} tokens is spent.`;
    case 'max_turns':
      return `The agent "${agent.name}" stopped before answering: it reached its limit of ${agent.maxTurns} model calls.`;
    default:
      return `The agent "${agent.name}" returned no text (finish reason: ${reason}).`;
  }
}
