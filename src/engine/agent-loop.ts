import type { ToolSpec, Usage } from '../providers/model-provider.js';
import type { ModelCallHook, ResilientCall, ResilientChatResponse, ResilientStreamEvent } from '../providers/resilient-model.js';
import type { PromptTemplate } from './prompt-template.js';
import { type AgentStrategy, runStrategy } from './strategies/index.js';
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
  /** Absent: `react`. */
  strategy?: AgentStrategy;
  /** Model calls of one run, all phases of its strategy together. */
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

/**
 * One agent call, run by the agent's strategy (src/engine/strategies/, docs/agents.md):
 * `react` by default, which sends system prompt + history + input to the model and runs the
 * tools it asks for, concurrently within a turn, until it answers without tools, `max_turns`
 * is reached or the token budget is spent.
 */
export function runAgent(model: ModelCaller, agent: AgentProfile, request: AgentRunRequest): Promise<AgentRunResult> {
  return runStrategy(model, agent, request);
}
export { runToolCall } from './strategies/agent-run.js';
