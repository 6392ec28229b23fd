/**
 * One interface for every model provider. Providers know nothing about HTTP requests to
 * this service, sessions or Nest; the engine drives them.
 */

export interface TokenUsage {
  input_tokens: number;
  output_tokens: number;
  total_tokens: number;
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
  | { role: 'assistant'; content: string; tool_calls?: ToolCall[] }
  | { role: 'tool'; tool_call_id: string; name: string; content: string; is_error?: boolean };

export interface ChatRequest {
  /** The model id without the provider prefix (`gpt-4o`, `claude-haiku-4-5`, `echo`). */
  model: string;
  messages: ChatMessage[];
  tools?: ToolSpec[];
  temperature?: number;
  max_tokens?: number;
  signal?: AbortSignal;
}

export type FinishReason = 'stop' | 'tool_calls' | 'length' | 'content_filter' | 'other';

export interface ChatResponse {
  content: string;
  tool_calls: ToolCall[];
  usage: TokenUsage;
  finish_reason: FinishReason;
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
