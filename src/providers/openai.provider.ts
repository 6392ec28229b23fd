import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import type {
  ChatCompletionCreateParamsBase,
  ChatCompletionMessageParam,
  ChatCompletionTool,
} from 'openai/resources/chat/completions/completions';
import { accumulateStream } from './sdk-stream.js';
import {
  type ChatMessage,
  type ChatRequest,
  type ChatResponse,
  type ChatStreamEvent,
  type FinishReason,
  type ModelProvider,
  ProviderError,
  type ToolCall,
  type Usage,
} from './model-provider.js';
import {
  abortedError,
  missingKeyError,
  badAnswerError,
  clientTimeoutError,
  type ErrorContext,
  httpError,
  isPlainObject,
  networkError,
  parseToolArguments,
  streamErrorEvent,
  unexpectedError,
  usageOf,
} from './provider-errors.js';

export interface OpenAIProviderOptions {
  /** Name used in errors and logs: `openai`, or `ollama` for Ollama's compatible API. */
  name?: string;
  /** Base URL including the version segment, e.g. `https://api.openai.com/v1`. */
  baseUrl: string;
  apiKey?: string;
  /**
   * When true, calls fail at once with a clear error if `apiKey` is missing; otherwise a
   * placeholder key is sent (local servers such as Ollama or vLLM ignore it).
   */
  requireApiKey?: boolean;
  /** The SDK's own per-request timeout, a safety net behind the caller's deadline. */
  requestTimeoutMs?: number;
}

const PLACEHOLDER_KEY = 'not-needed';

/** Reasoning models reject `max_tokens` and want `max_completion_tokens`. */
const COMPLETION_TOKENS_MODELS = /^(o\d|gpt-5)/;

/**
 * OpenAI chat completions, and any server speaking the same API (vLLM, LM Studio, Ollama's
 * `/v1`). Retries are left to the caller, so the SDK's own are off.
 */
export class OpenAIProvider implements ModelProvider {
  readonly name: string;
  private readonly client: OpenAI;
  private readonly apiKey: string | undefined;
  private readonly missingKey: boolean;

  constructor(options: OpenAIProviderOptions) {
    this.name = options.name ?? 'openai';
    this.apiKey = options.apiKey || undefined;
    this.missingKey = Boolean(options.requireApiKey) && !this.apiKey;
    this.client = new OpenAI({
      apiKey: this.apiKey ?? PLACEHOLDER_KEY,
      baseURL: options.baseUrl,
      organization: null,
      project: null,
      maxRetries: 0,
      timeout: options.requestTimeoutMs ?? 10 * 60_000,
      logLevel: 'off',
    });
  }

  async chat(request: ChatRequest): Promise<ChatResponse> {
    const ctx = this.context(request);
    this.checkReady(ctx);
    let raw: unknown;
    try {
      raw = await this.client.chat.completions.create(
        { ...this.body(request), stream: false },
        { signal: request.signal },
      );
    } catch (err) {
      throw this.toProviderError(err, ctx);
    }
    return parseCompletion(raw, ctx);
  }

  async *stream(request: ChatRequest): AsyncIterable<ChatStreamEvent> {
    const ctx = this.context(request);
    this.checkReady(ctx);
    yield* accumulateStream(
      async () =>
        (await this.client.chat.completions.create(
          { ...this.body(request), stream: true, stream_options: { include_usage: true } },
          { signal: request.signal },
        )) as AsyncIterable<unknown>,
      new ChunkAccumulator(ctx),
      ctx,
      (err) => this.toProviderError(err, ctx),
    );
  }

  private context(request: ChatRequest): ErrorContext {
    return { provider: this.name, model: request.model, signal: request.signal, secrets: [this.apiKey] };
  }

  private checkReady(ctx: ErrorContext): void {
    if (ctx.signal?.aborted) throw abortedError(ctx);
    if (this.missingKey) throw missingKeyError(ctx);
  }

  private body(request: ChatRequest): ChatCompletionCreateParamsBase {
    const body: ChatCompletionCreateParamsBase = {
      model: request.model,
      messages: request.messages.map(toOpenAIMessage),
    };
    if (request.tools?.length) {
      body.tools = request.tools.map(
        (tool): ChatCompletionTool => ({
          type: 'function',
          function: { name: tool.name, description: tool.description, parameters: tool.parameters },
        }),
      );
    }
    if (request.temperature !== undefined) body.temperature = request.temperature;
    if (request.maxTokens !== undefined) {
      if (COMPLETION_TOKENS_MODELS.test(request.model)) body.max_completion_tokens = request.maxTokens;
      else body.max_tokens = request.maxTokens;
    }
    return body;
  }

  private toProviderError(err: unknown, ctx: ErrorContext): ProviderError {
    if (err instanceof ProviderError) return err;
    if (ctx.signal?.aborted || err instanceof APIUserAbortError) return abortedError(ctx, err);
    if (err instanceof APIConnectionTimeoutError) return clientTimeoutError(ctx, err);
    if (err instanceof APIConnectionError) return networkError(ctx, err.cause ?? err);
    if (err instanceof APIError) {
      const { status, headers } = err as APIError; // instanceof gives APIError<any, any, any>
      const detail = isPlainObject(err.error) && typeof err.error.message === 'string' ? err.error.message : undefined;
      if (status !== undefined) return httpError(ctx, status, headers, detail, err);
      // An `error` object inside an SSE stream: no status, so judge by its type.
      const type = String(err.type ?? err.code ?? 'unknown type');
      return streamErrorEvent(ctx, type, /server|overload|rate|timeout/i.test(type), err);
    }
    return unexpectedError(ctx, err);
  }
}

function toOpenAIMessage(message: ChatMessage): ChatCompletionMessageParam {
  switch (message.role) {
    case 'system':
      return { role: 'system', content: message.content };
    case 'user':
      return { role: 'user', content: message.content };
    case 'assistant':
      if (!message.toolCalls?.length) return { role: 'assistant', content: message.content };
      return {
        role: 'assistant',
        content: message.content || null,
        tool_calls: message.toolCalls.map((call) => ({
          id: call.id,
          type: 'function',
          function: { name: call.name, arguments: JSON.stringify(call.arguments) },
        })),
      };
    case 'tool':
      // Chat completions have no error flag on tool results, so the model is told in words.
      return {
        role: 'tool',
        tool_call_id: message.toolCallId,
        content: message.isError ? `Error: ${message.content}` : message.content,
      };
  }
}

function finishReasonOf(value: unknown, hasToolCalls: boolean): FinishReason {
  // Some compatible servers (Ollama among them) answer tool calls with `stop`.
  if (hasToolCalls) return 'tool_calls';
  switch (value) {
    case 'stop':
      return 'stop';
    case 'tool_calls':
    case 'function_call':
      return 'tool_calls';
    case 'length':
      return 'length';
    case 'content_filter':
      return 'content_filter';
    default:
      return 'other';
  }
}

function usageFrom(raw: unknown): Usage {
  if (!isPlainObject(raw)) return usageOf(0, 0);
  return usageOf(raw.prompt_tokens, raw.completion_tokens);
}

function parseCompletion(raw: unknown, ctx: ErrorContext): ChatResponse {
  if (!isPlainObject(raw)) throw badAnswerError(ctx, 'the body is not a JSON object');
  const choices = raw.choices;
  if (!Array.isArray(choices) || choices.length === 0) throw badAnswerError(ctx, 'no choices in the answer');
  const choice: unknown = choices[0];
  if (!isPlainObject(choice) || !isPlainObject(choice.message)) {
    throw badAnswerError(ctx, 'the first choice has no message');
  }
  const message = choice.message;
  if (message.content !== null && message.content !== undefined && typeof message.content !== 'string') {
    throw badAnswerError(ctx, 'message content is not text');
  }
  const toolCalls: ToolCall[] = [];
  if (message.tool_calls !== undefined && message.tool_calls !== null) {
    if (!Array.isArray(message.tool_calls)) throw badAnswerError(ctx, 'tool_calls is not a list');
    for (const call of message.tool_calls as unknown[]) {
      if (!isPlainObject(call) || !isPlainObject(call.function) || typeof call.function.name !== 'string') {
        throw badAnswerError(ctx, 'a tool call has no function name');
      }
      const args = call.function.arguments;
      if (args !== undefined && typeof args !== 'string') {
        throw badAnswerError(ctx, 'tool-call arguments are not a string');
      }
      toolCalls.push({
        id: typeof call.id === 'string' ? call.id : `call_${toolCalls.length}`,
        name: call.function.name,
        arguments: parseToolArguments(ctx, args ?? '', call.function.name),
      });
    }
  }
  return {
    content: message.content ?? '',
    toolCalls,
    usage: usageFrom(raw.usage),
    finishReason: finishReasonOf(choice.finish_reason, toolCalls.length > 0),
  };
}

interface PartialToolCall {
  id?: string;
  name?: string;
  arguments: string;
}

/** Reassembles a streamed completion; tool-call fragments are keyed by their `index`. */
class ChunkAccumulator {
  private content = '';
  private readonly calls = new Map<number, PartialToolCall>();
  private finishReason: unknown;
  private usage: Usage = usageOf(0, 0);
  private sawChoice = false;

  constructor(private readonly ctx: ErrorContext) {}

  /** Returns the text fragment of this chunk, if any. */
  add(chunk: unknown): string {
    if (!isPlainObject(chunk)) throw badAnswerError(this.ctx, 'a stream chunk is not a JSON object');
    if (isPlainObject(chunk.usage)) this.usage = usageFrom(chunk.usage);
    if (!Array.isArray(chunk.choices)) return '';
    const choice: unknown = chunk.choices[0];
    if (!isPlainObject(choice)) return '';
    this.sawChoice = true;
    if (choice.finish_reason !== null && choice.finish_reason !== undefined) this.finishReason = choice.finish_reason;
    const delta = choice.delta;
    if (!isPlainObject(delta)) return '';
    if (Array.isArray(delta.tool_calls)) this.addToolCalls(delta.tool_calls as unknown[]);
    if (delta.content === null || delta.content === undefined) return '';
    if (typeof delta.content !== 'string') throw badAnswerError(this.ctx, 'a stream chunk has non-text content');
    this.content += delta.content;
    return delta.content;
  }

  finish(): ChatResponse {
    if (!this.sawChoice) throw badAnswerError(this.ctx, 'the stream ended without any choice');
    const toolCalls = [...this.calls.entries()]
      .sort(([a], [b]) => a - b)
      .map(([, call], position): ToolCall => {
        if (!call.name) throw badAnswerError(this.ctx, 'a streamed tool call has no function name');
        return {
          id: call.id ?? `call_${position}`,
          name: call.name,
          arguments: parseToolArguments(this.ctx, call.arguments, call.name),
        };
      });
    return {
      content: this.content,
      toolCalls,
      usage: this.usage,
      finishReason: finishReasonOf(this.finishReason, toolCalls.length > 0),
    };
  }

  private addToolCalls(deltas: unknown[]): void {
    deltas.forEach((delta, position) => {
      if (!isPlainObject(delta)) throw badAnswerError(this.ctx, 'a streamed tool call is not an object');
      const index = typeof delta.index === 'number' ? delta.index : position;
      const call = this.calls.get(index) ?? { arguments: '' };
      if (typeof delta.id === 'string' && delta.id) call.id = delta.id;
      const fn = delta.function;
      if (isPlainObject(fn)) {
        if (typeof fn.name === 'string' && fn.name && !call.name) call.name = fn.name;
        if (typeof fn.arguments === 'string') call.arguments += fn.arguments;
      }
      this.calls.set(index, call);
    });
  }
}
