import { addUsage, ZERO_USAGE, type ChatMessage, type ToolCall, type ToolSpec, type Usage } from '../../providers/model-provider.js';
import type { ResilientCall, ResilientChatResponse } from '../../providers/resilient-model.js';
import type { AgentFinishReason, AgentProfile, AgentRunRequest, AgentRunResult, ModelCaller, ToolCallRecord } from '../agent-loop.js';
import type { Tool } from '../tools/tool.js';

/** Between the texts of two model calls of one answer. */
export const TURN_SEPARATOR = '\n\n';

/** The limits that end a run early. */
export type RunLimit = 'max_turns' | 'token_budget';

export interface CallOptions {
  /** Offer the agent's tools. */
  tools?: boolean;
  /** Send the answer's tokens to `onEvent` as they come. */
  stream?: boolean;
  /** Streaming: send TURN_SEPARATOR before the first token (an earlier call's text was sent). */
  separate?: boolean;
  /** Instead of the request's signal (map-reduce aborts its sibling calls with its own). */
  signal?: AbortSignal;
}

export interface LoopOutcome {
  /** The texts of the loop's calls, joined by TURN_SEPARATOR; may be empty. */
  text: string;
  finishReason: AgentFinishReason;
}

/**
 * One agent run, whatever its strategy: counts model calls, tokens and tool calls over all its
 * phases, enforces `max_turns` and `token_budget` across them, and offers the two building
 * blocks every strategy is made of: one model call, and a react loop (model, tools, model…).
 */
export class AgentRun {
  turns = 0;
  usage: Usage = { ...ZERO_USAGE };
  readonly toolCalls: ToolCallRecord[] = [];
  /** The first limit that cut a phase short or kept one from running. */
  limited: RunLimit | undefined;
  private readonly started = performance.now();
  private readonly toolsByName: Map<string, { spec: ToolSpec; tool: Tool }>;
  private readonly toolSpecs: ToolSpec[] | undefined;

  constructor(
    readonly model: ModelCaller,
    readonly agent: AgentProfile,
    readonly request: AgentRunRequest,
  ) {
    this.toolsByName = new Map(agent.tools.map((entry) => [entry.spec.name, entry]));
    this.toolSpecs = agent.tools.length > 0 ? agent.tools.map((entry) => entry.spec) : undefined;
  }

  get hasTools(): boolean {
    return this.toolSpecs !== undefined;
  }

  get streaming(): boolean {
    return this.request.stream === true;
  }

  turnsLeft(): number {
    return this.agent.maxTurns - this.turns;
  }

  /** The limit that keeps another model call from starting, if any; turns are checked first. */
  blocked(): RunLimit | undefined {
    if (this.turns >= this.agent.maxTurns) return 'max_turns';
    const left = this.budgetLeft();
    return left !== undefined && left <= 0 ? 'token_budget' : undefined;
  }

  /** Records that `limit` cut the run short; the first one recorded is the run's finish reason. */
  limit(limit: RunLimit): void {
    this.limited ??= limit;
  }

  /** Stops at once when the caller has gone. */
  checkAborted(signal: AbortSignal | undefined = this.request.signal): void {
    signal?.throwIfAborted();
  }

  /**
   * The start of every call: the agent's system prompt, the strategy's instruction for this
   * phase as a second system message, then the session history (unless left out).
   */
  opening(instruction?: string, options: { history?: boolean } = {}): ChatMessage[] {
    const messages: ChatMessage[] = [];
    if (this.request.systemPrompt !== undefined) messages.push({ role: 'system', content: this.request.systemPrompt });
    if (instruction !== undefined) messages.push({ role: 'system', content: instruction });
    if (options.history ?? true) {
      for (const message of this.request.history ?? []) messages.push({ role: message.role, content: message.content });
    }
    return messages;
  }

  /** One model call; the caller has checked `blocked()`. It counts as a turn from its start. */
  async call(messages: ChatMessage[], options: CallOptions = {}): Promise<ResilientChatResponse> {
    const signal = options.signal ?? this.request.signal;
    this.checkAborted(signal);
    const call: ResilientCall = {
      models: this.agent.models,
      messages,
      tools: options.tools ? this.toolSpecs : undefined,
      temperature: this.request.temperature ?? this.agent.temperature,
      maxTokens: minDefined(this.request.maxTokens, this.budgetLeft()),
      signal,
      timeoutMs: this.agent.timeoutMs,
      onModelCall: this.request.onModelCall,
    };
    this.turns++;
    const response = options.stream ? await this.streamCall(call, options.separate === true) : await this.model.chat(call);
    this.usage = addUsage(this.usage, response.usage);
    return response;
  }

  /**
   * The react loop on `messages` (extended in place): tool calls of a turn run concurrently and
   * their results go back to the model, until it answers without tools, `maxCalls` calls were
   * made, or the run's limits stop it (then recorded with `limit`).
   */
  async loop(messages: ChatMessage[], options: { stream?: boolean; maxCalls?: number } = {}): Promise<LoopOutcome> {
    const texts: string[] = [];
    let calls = 0;
    for (;;) {
      const stop = calls >= (options.maxCalls ?? Number.POSITIVE_INFINITY) ? 'max_turns' : this.blocked();
      if (stop) {
        this.limit(stop);
        return { text: texts.join(TURN_SEPARATOR), finishReason: stop };
      }
      const response = await this.call(messages, { tools: true, stream: options.stream, separate: texts.length > 0 });
      calls++;
      if (response.content) texts.push(response.content);
      if (response.toolCalls.length === 0) {
        return { text: texts.join(TURN_SEPARATOR), finishReason: providerFinish(response.finishReason) };
      }
      messages.push({ role: 'assistant', content: response.content, toolCalls: response.toolCalls });
      const records = await this.runTools(response.toolCalls);
      for (const [index, record] of records.entries()) {
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
  }

  /**
   * Runs tool calls the model asked for, concurrently, and records them in the order asked;
   * `tool_call` and `tool_result` events go out whether or not the call streams.
   */
  async runTools(calls: ToolCall[]): Promise<ToolCallRecord[]> {
    this.checkAborted();
    const records = await Promise.all(calls.map((call) => this.runTool(call)));
    this.toolCalls.push(...records);
    return records;
  }

  private runTool(call: ToolCall): Promise<ToolCallRecord> {
    return runToolCall(this.toolsByName.get(call.name), call.name, call.arguments, this.request);
  }

  /**
   * The result of a strategy. `output` falls back to a sentence saying why the agent stopped
   * (never an empty answer); unless `sent` (its tokens already went out live), a streaming
   * caller gets it as one `token` event.
   */
  async finish(output: string, finishReason: AgentFinishReason, sent: boolean): Promise<AgentRunResult> {
    const reason = this.limited ?? finishReason;
    let answer = output;
    if (answer.length === 0) {
      answer = this.explain(reason);
      sent = false;
    }
    if (!sent && this.streaming) await this.request.onEvent?.({ type: 'token', content: answer });
    return this.result(answer, reason);
  }

  result(output: string, finishReason: AgentFinishReason): AgentRunResult {
    return {
      output,
      usage: this.usage,
      toolCalls: this.toolCalls,
      turns: this.turns,
      finishReason,
      durationMs: Math.round(performance.now() - this.started),
    };
  }

  explain(reason: AgentFinishReason): string {
    switch (reason) {
      case 'token_budget':
        return `The agent "${this.agent.name}" stopped before answering: its token budget of ${this.agent.tokenBudget} tokens is spent.`;
      case 'max_turns':
        return `The agent "${this.agent.name}" stopped before answering: it reached its limit of ${this.agent.maxTurns} model calls.`;
      default:
        return `The agent "${this.agent.name}" returned no text (finish reason: ${reason}).`;
    }
  }

  private budgetLeft(): number | undefined {
    return this.agent.tokenBudget === undefined ? undefined : this.agent.tokenBudget - this.usage.totalTokens;
  }

  private async streamCall(call: ResilientCall, separate: boolean): Promise<ResilientChatResponse> {
    const onEvent = this.request.onEvent;
    let first = true;
    for await (const event of this.model.stream(call)) {
      if (event.type === 'end') return event.response;
      if (event.content.length === 0) continue;
      if (first && separate) await onEvent?.({ type: 'token', content: TURN_SEPARATOR });
      first = false;
      await onEvent?.({ type: 'token', content: event.content });
    }
    throw new Error('The model stream ended without a final answer.');
  }
}

export function providerFinish(reason: ResilientChatResponse['finishReason']): AgentFinishReason {
  return reason === 'tool_calls' ? 'stop' : reason;
}

function minDefined(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
}

/**
 * One tool call as the loop makes it, also for callers outside a strategy (an agent's `on input`
 * block): `tool_call` and `tool_result` events around the run, a failure returned (never thrown)
 * so that it can be handed back as a tool error, and the record of it.
 */
export async function runToolCall(
  entry: { tool: Tool } | undefined,
  name: string,
  args: Record<string, unknown>,
  request: Pick<AgentRunRequest, 'signal' | 'onEvent'>,
): Promise<ToolCallRecord> {
  await request.onEvent?.({ type: 'tool_call', name, arguments: args });
  const started = performance.now();
  const result = entry
    ? await entry.tool.run(args, { signal: request.signal }).catch((error: unknown) => ({
        output: '',
        error: `The tool failed: ${error instanceof Error ? error.message : String(error)}`,
      }))
    : { output: '', error: `There is no tool named "${name}" for this agent.` };
  const record: ToolCallRecord = {
    name,
    arguments: args,
    output: result.output,
    durationMs: Math.round(performance.now() - started),
    ...(result.error !== undefined ? { error: result.error } : {}),
  };
  await request.onEvent?.({
    type: 'tool_result',
    name,
    output: record.output,
    ...(record.error !== undefined ? { error: record.error } : {}),
  });
  return record;
}
