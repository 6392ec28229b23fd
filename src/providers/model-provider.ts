/**
 * One interface for every model provider. Providers know nothing about HTTP requests to
 * this service, sessions or Nest; the engine drives them.
 */

/** Token counts of a model call, an agent run, a pipeline step or a run. */
export interface Usage {
  inputTokens: number;
  outputTokens: number;
  /** `inputTokens + outputTokens`. */
  totalTokens: number;
}

export const ZERO_USAGE: Readonly<Usage> = Object.freeze({ inputTokens: 0, outputTokens: 0, totalTokens: 0 });

export function addUsage(a: Usage, b: Usage): Usage {
  return {
    inputTokens: a.inputTokens + b.inputTokens,
    outputTokens: a.outputTokens + b.outputTokens,
    totalTokens: a.totalTokens + b.totalTokens,
  };
}

/** The sum of the usages given, null ones (steps that never ran) counting as nothing. */
export function sumUsage(usages: Iterable<Usage | null>): Usage {
  let sum: Usage = ZERO_USAGE;
  for (const usage of usages) if (usage) sum = addUsage(sum, usage);
  return { ...sum };
}

/** A tool the model may call: name, description and a JSON schema of its arguments. */
export interface ToolSpec {
  name: string;
  description: string;
  parameters: Record<string, unknown>;
}

export interface ToolCall {
  /** Provider-assigned id, echoed back with the result. */
  id: string;
  name: string;
  arguments: Record<string, unknown>;
}

export type ChatMessage =
  | { role: 'system'; content: string }
  | { role: 'user'; content: string }
  | { role: 'assistant'; content: string; toolCalls?: ToolCall[] }
  | { role: 'tool'; toolCallId: string; name: string; content: string; isError?: boolean };

export interface ChatRequest {
  /** The model id without the provider prefix (`gpt-4o`, `claude-haiku-4-5`, `echo`). */
  model: string;
  messages: ChatMessage[];
  tools?: ToolSpec[];
  temperature?: number;
  maxTokens?: number;
  signal?: AbortSignal;
}

export type FinishReason = 'stop' | 'tool_calls' | 'length' | 'content_filter' | 'other';

export interface ChatResponse {
  content: string;
  toolCalls: ToolCall[];
  usage: Usage;
  finishReason: FinishReason;
}

/** Events of a streamed model call, in order; exactly one `end` closes a successful stream. */
export type ChatStreamEvent =
  | { type: 'token'; content: string }
  | { type: 'end'; response: ChatResponse };

export interface ModelProvider {
  /** `openai`, `anthropic`, `ollama`, `mock`. */
  readonly name: string;
  chat(request: ChatRequest): Promise<ChatResponse>;
  stream(request: ChatRequest): AsyncIterable<ChatStreamEvent>;
}

/**
 * Thrown by providers. `retryable` marks 429/5xx/network failures; `retryAfterMs` carries a
 * `Retry-After` hint. The message is safe to show to API callers: no key, no prompt text.
 */
export class ProviderError extends Error {
  /** The runtime's error code for every provider failure (src/common/errors/error-table.ts). */
  readonly code = 'provider_error';

  constructor(
    message: string,
    readonly provider: string,
    readonly options: { status?: number; retryable: boolean; retryAfterMs?: number; cause?: unknown },
  ) {
    super(message);
    this.name = 'ProviderError';
  }
  get status(): number | undefined {
    return this.options.status;
  }
  get retryable(): boolean {
    return this.options.retryable;
  }
  get retryAfterMs(): number | undefined {
    return this.options.retryAfterMs;
  }
}
