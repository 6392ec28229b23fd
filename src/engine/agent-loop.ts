import { addUsage, ZERO_USAGE, type ChatMessage, type ToolCall, type ToolSpec, type Usage } from '../providers/model-provider.js';
import type { ModelCallHook, ResilientCall, ResilientChatResponse, ResilientStreamEvent } from '../providers/resilient-model.js';
import type { PromptTemplate } from './prompt-template.js';
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
  /** The agent's prompt, rendered once per call by the caller (the runtime). */
  systemPrompt?: string;
  input: string;
  history?: HistoryMessage[];
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
  durationMs: number;
  error?: string;
}

export type AgentFinishReason = 'stop' | 'length' | 'content_filter' | 'max_turns' | 'token_budget' | 'other';

export interface AgentRunResult {
  output: string;
  usage: Usage;
  toolCalls: ToolCallRecord[];
  turns: number;
  finishReason: AgentFinishReason;
  durationMs: number;
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
  if (request.systemPrompt !== undefined) messages.push({ role: 'system', content: request.systemPrompt });
  for (const message of request.history ?? []) messages.push({ role: message.role, content: message.content });
  messages.push({ role: 'user', content: request.input });

  let usage: Usage = { ...ZERO_USAGE };
  const texts: string[] = [];
  const toolCalls: ToolCallRecord[] = [];
  const toolsByName = new Map(agent.tools.map((entry) => [entry.spec.name, entry]));
  const toolSpecs = agent.tools.length > 0 ? agent.tools.map((entry) => entry.spec) : undefined;
  let turns = 0;
  let finishReason: AgentFinishReason = 'max_turns';

  while (turns < agent.maxTurns) {
    const remaining = agent.tokenBudget === undefined ? undefined : agent.tokenBudget - usage.totalTokens;
    if (remaining !== undefined && remaining <= 0) {
      finishReason = 'token_budget';
      break;
    }
    const call: ResilientCall = {
      models: agent.models,
      messages,
      tools: toolSpecs,
      temperature: request.temperature ?? agent.temperature,
      maxTokens: minDefined(request.maxTokens, remaining),
      signal: request.signal,
      timeoutMs: agent.timeoutMs,
      onModelCall: request.onModelCall,
    };
    const response = request.stream ? await streamTurn(model, call, texts.length > 0, request.onEvent) : await model.chat(call);
    turns++;
    usage = addUsage(usage, response.usage);
    if (response.content) texts.push(response.content);

    if (response.toolCalls.length === 0) {
      finishReason = providerFinish(response.finishReason);
      break;
    }
    messages.push({ role: 'assistant', content: response.content, toolCalls: response.toolCalls });
    const results = await Promise.all(response.toolCalls.map((toolCall) => runTool(toolsByName, toolCall, request)));
    for (const [index, record] of results.entries()) {
      toolCalls.push(record);
      const toolCall = response.toolCalls[index];
      messages.push({
        role: 'tool',
        toolCallId: toolCall.id,
        name: toolCall.name,
        content: record.error ? `Error: ${record.error}` : record.output,
        isError: record.error !== undefined,
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
    toolCalls,
    turns,
    finishReason,
    durationMs: Math.round(performance.now() - started),
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
    durationMs: Math.round(performance.now() - started),
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

function minDefined(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
}

function providerFinish(reason: ResilientChatResponse['finishReason']): AgentFinishReason {
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
