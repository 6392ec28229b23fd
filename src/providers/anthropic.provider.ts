import Anthropic, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from '@anthropic-ai/sdk';
import type {
  ContentBlockParam,
  MessageCreateParamsBase,
  MessageParam,
  Tool,
} from '@anthropic-ai/sdk/resources/messages/messages';
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

export interface AnthropicProviderOptions {
  /** Without the `/v1` segment, e.g. `https://api.anthropic.com`. */
  baseUrl?: string;
  apiKey?: string;
  /** The Messages API requires `max_tokens`; used when the request sets none. */
  defaultMaxTokens?: number;
  /** The SDK's own per-request timeout, a safety net behind the caller's deadline. */
  requestTimeoutMs?: number;
}

export const DEFAULT_ANTHROPIC_BASE_URL = 'https://api.anthropic.com';

/** The SDK's types no longer list `temperature`; the wire format still carries it. */
type MessageBody = MessageCreateParamsBase & { temperature?: number };

/** Error types that mean "try again later" when they arrive without an HTTP status. */
const RETRYABLE_ERROR_TYPES = new Set(['overloaded_error', 'api_error', 'rate_limit_error', 'timeout_error']);

/** Anthropic Messages API: system prompt apart, tools as `tool_use`/`tool_result` blocks. */
export class AnthropicProvider implements ModelProvider {
  readonly name = 'anthropic';
  private readonly client: Anthropic | undefined;
  private readonly apiKey: string | undefined;
  private readonly defaultMaxTokens: number;

  constructor(options: AnthropicProviderOptions) {
    this.apiKey = options.apiKey || undefined;
    this.defaultMaxTokens = options.defaultMaxTokens ?? 4096;
    // Without a key the SDK would go looking for credentials in the environment and on disk.
    this.client = this.apiKey
      ? new Anthropic({
          apiKey: this.apiKey,
          baseURL: options.baseUrl || DEFAULT_ANTHROPIC_BASE_URL,
          maxRetries: 0,
          timeout: options.requestTimeoutMs ?? 10 * 60_000,
          logLevel: 'off',
        })
      : undefined;
  }

  async chat(request: ChatRequest): Promise<ChatResponse> {
    const ctx = this.context(request);
    const client = this.ready(ctx);
    let raw: unknown;
    try {
      raw = await client.messages.create({ ...this.body(request), stream: false }, { signal: request.signal });
    } catch (err) {
      throw this.toProviderError(err, ctx);
    }
    return parseMessage(raw, ctx);
  }

  async *stream(request: ChatRequest): AsyncIterable<ChatStreamEvent> {
    const ctx = this.context(request);
    const client = this.ready(ctx);
    yield* accumulateStream(
      async () => (await client.messages.create({ ...this.body(request), stream: true }, { signal: request.signal })) as AsyncIterable<unknown>,
      new EventAccumulator(ctx),
      ctx,
      (err) => this.toProviderError(err, ctx),
    );
  }

  private context(request: ChatRequest): ErrorContext {
    return { provider: this.name, model: request.model, signal: request.signal, secrets: [this.apiKey] };
  }

  private ready(ctx: ErrorContext): Anthropic {
    if (ctx.signal?.aborted) throw abortedError(ctx);
    if (!this.client) throw missingKeyError(ctx);
    return this.client;
  }

  private body(request: ChatRequest): MessageBody {
    const system = request.messages
      .filter((message) => message.role === 'system')
      .map((message) => message.content)
      .join('\n\n');
    const body: MessageBody = {
      model: request.model,
      max_tokens: request.maxTokens ?? this.defaultMaxTokens,
      messages: toAnthropicMessages(request.messages),
    };
    if (system) body.system = system;
    if (request.tools?.length) {
      body.tools = request.tools.map(
        (tool): Tool => ({
          name: tool.name,
          description: tool.description,
          input_schema: { type: 'object', ...tool.parameters },
        }),
      );
    }
    // The API accepts 0..2 but Anthropic only 0..1.
    if (request.temperature !== undefined) body.temperature = Math.min(request.temperature, 1);
    return body;
  }

  private toProviderError(err: unknown, ctx: ErrorContext): ProviderError {
    if (err instanceof ProviderError) return err;
    if (ctx.signal?.aborted || err instanceof APIUserAbortError) return abortedError(ctx, err);
    if (err instanceof APIConnectionTimeoutError) return clientTimeoutError(ctx, err);
    if (err instanceof APIConnectionError) return networkError(ctx, err.cause ?? err);
    if (err instanceof APIError) {
      const { status, headers } = err as APIError; // instanceof gives APIError<any, any, any>
      if (status !== undefined) return httpError(ctx, status, headers, err.apiMessage, err);
      const type = err.type ?? 'unknown type';
      return streamErrorEvent(ctx, type, RETRYABLE_ERROR_TYPES.has(type), err);
    }
    return unexpectedError(ctx, err);
  }
}

/**
 * Tool results travel in a user turn, and consecutive user-side entries are merged into one
 * turn so that all results answering one assistant turn arrive together.
 */
function toAnthropicMessages(messages: ChatMessage[]): MessageParam[] {
  const result: MessageParam[] = [];
  const pushUser = (blocks: ContentBlockParam[]): void => {
    const last = result.at(-1);
    if (last?.role === 'user' && Array.isArray(last.content)) last.content.push(...blocks);
    else result.push({ role: 'user', content: blocks });
  };
  for (const message of messages) {
    switch (message.role) {
      case 'system':
        break;
      case 'user':
        pushUser([{ type: 'text', text: message.content }]);
        break;
      case 'tool':
        pushUser([
          {
            type: 'tool_result',
            tool_use_id: message.toolCallId,
            content: message.content,
            ...(message.isError ? { is_error: true } : {}),
          },
        ]);
        break;
      case 'assistant': {
        const blocks: ContentBlockParam[] = [];
        if (message.content) blocks.push({ type: 'text', text: message.content });
        for (const call of message.toolCalls ?? []) {
          blocks.push({ type: 'tool_use', id: call.id, name: call.name, input: call.arguments });
        }
        // The API refuses empty assistant turns.
        if (blocks.length) result.push({ role: 'assistant', content: blocks });
        break;
      }
    }
  }
  return result.map((message) => simplify(message));
}

/** A lone text block is sent as a plain string, the form most compatible gateways expect. */
function simplify(message: MessageParam): MessageParam {
  const content = message.content;
  if (Array.isArray(content) && content.length === 1 && content[0]?.type === 'text') {
    return { ...message, content: content[0].text };
  }
  return message;
}

function finishReasonOf(value: unknown): FinishReason {
  switch (value) {
    case 'end_turn':
    case 'stop_sequence':
      return 'stop';
    case 'tool_use':
      return 'tool_calls';
    case 'max_tokens':
      return 'length';
    case 'refusal':
      return 'content_filter';
    default:
      return 'other';
  }
}

/** Cache reads and writes are input too; the API reports them apart from `input_tokens`. */
function inputTokensOf(usage: Record<string, unknown>): number | undefined {
  const parts = [usage.input_tokens, usage.cache_creation_input_tokens, usage.cache_read_input_tokens];
  if (typeof usage.input_tokens !== 'number') return undefined;
  return parts.reduce<number>((sum, part) => sum + (typeof part === 'number' ? part : 0), 0);
}

function parseMessage(raw: unknown, ctx: ErrorContext): ChatResponse {
  if (!isPlainObject(raw)) throw badAnswerError(ctx, 'the body is not a JSON object');
  if (!Array.isArray(raw.content)) throw badAnswerError(ctx, 'no content blocks in the answer');
  let content = '';
  const toolCalls: ToolCall[] = [];
  for (const block of raw.content as unknown[]) {
    if (!isPlainObject(block)) throw badAnswerError(ctx, 'a content block is not an object');
    if (block.type === 'text') {
      if (typeof block.text !== 'string') throw badAnswerError(ctx, 'a text block has no text');
      content += block.text;
    } else if (block.type === 'tool_use') {
      if (typeof block.name !== 'string' || typeof block.id !== 'string') {
        throw badAnswerError(ctx, 'a tool_use block has no name or id');
      }
      const input = block.input ?? {};
      if (!isPlainObject(input)) throw badAnswerError(ctx, `input of tool call "${block.name}" is not a JSON object`);
      toolCalls.push({ id: block.id, name: block.name, arguments: input });
    }
  }
  const usage = isPlainObject(raw.usage) ? raw.usage : {};
  return {
    content,
    toolCalls,
    usage: usageOf(inputTokensOf(usage), usage.output_tokens),
    finishReason: finishReasonOf(raw.stop_reason),
  };
}

type Block =
  | { kind: 'text' }
  | { kind: 'tool'; id: string; name: string; json: string; input: unknown }
  | { kind: 'other' };

/** Rebuilds a message from `message_start` … `message_stop` stream events. */
class EventAccumulator {
  private content = '';
  private readonly blocks = new Map<number, Block>();
  private readonly toolCalls: { index: number; call: ToolCall }[] = [];
  private inputTokens: number | undefined;
  private outputTokens: number | undefined;
  private stopReason: unknown;
  private started = false;
  private stopped = false;

  constructor(private readonly ctx: ErrorContext) {}

  add(event: unknown): string {
    if (!isPlainObject(event) || typeof event.type !== 'string') {
      throw badAnswerError(this.ctx, 'a stream event has no type');
    }
    switch (event.type) {
      case 'message_start':
        return this.onStart(event);
      case 'content_block_start':
        return this.onBlockStart(event);
      case 'content_block_delta':
        return this.onDelta(event);
      case 'content_block_stop':
        return this.onBlockStop(event);
      case 'message_delta':
        return this.onMessageDelta(event);
      case 'message_stop':
        this.stopped = true;
        return '';
      default:
        return '';
    }
  }

  finish(): ChatResponse {
    if (!this.started) throw badAnswerError(this.ctx, 'the stream had no message_start event');
    if (!this.stopped) throw badAnswerError(this.ctx, 'the stream ended before message_stop');
    return {
      content: this.content,
      toolCalls: this.toolCalls.sort((a, b) => a.index - b.index).map((entry) => entry.call),
      usage: usageOf(this.inputTokens, this.outputTokens),
      finishReason: finishReasonOf(this.stopReason),
    };
  }

  private onStart(event: Record<string, unknown>): string {
    this.started = true;
    const message = event.message;
    if (isPlainObject(message) && isPlainObject(message.usage)) {
      this.inputTokens = inputTokensOf(message.usage);
      if (typeof message.usage.output_tokens === 'number') this.outputTokens = message.usage.output_tokens;
    }
    return '';
  }

  private onBlockStart(event: Record<string, unknown>): string {
    const index = this.indexOf(event);
    const block = event.content_block;
    if (!isPlainObject(block)) throw badAnswerError(this.ctx, 'content_block_start without a block');
    if (block.type === 'tool_use') {
      if (typeof block.id !== 'string' || typeof block.name !== 'string') {
        throw badAnswerError(this.ctx, 'a streamed tool_use block has no name or id');
      }
      this.blocks.set(index, { kind: 'tool', id: block.id, name: block.name, json: '', input: block.input });
      return '';
    }
    if (block.type === 'text') {
      this.blocks.set(index, { kind: 'text' });
      const text = typeof block.text === 'string' ? block.text : '';
      this.content += text;
      return text;
    }
    this.blocks.set(index, { kind: 'other' });
    return '';
  }

  private onDelta(event: Record<string, unknown>): string {
    const index = this.indexOf(event);
    const delta = event.delta;
    const block = this.blocks.get(index);
    if (!isPlainObject(delta)) throw badAnswerError(this.ctx, 'content_block_delta without a delta');
    if (delta.type === 'text_delta') {
      if (block?.kind !== 'text' || typeof delta.text !== 'string') {
        throw badAnswerError(this.ctx, 'a text delta does not belong to a text block');
      }
      this.content += delta.text;
      return delta.text;
    }
    if (delta.type === 'input_json_delta') {
      if (block?.kind !== 'tool' || typeof delta.partial_json !== 'string') {
        throw badAnswerError(this.ctx, 'a tool input delta does not belong to a tool_use block');
      }
      block.json += delta.partial_json;
    }
    return '';
  }

  private onBlockStop(event: Record<string, unknown>): string {
    const index = this.indexOf(event);
    const block = this.blocks.get(index);
    if (block?.kind === 'tool') {
      let args: Record<string, unknown>;
      if (block.json) args = parseToolArguments(this.ctx, block.json, block.name);
      else if (isPlainObject(block.input)) args = block.input;
      else args = {};
      this.toolCalls.push({ index, call: { id: block.id, name: block.name, arguments: args } });
    }
    return '';
  }

  private onMessageDelta(event: Record<string, unknown>): string {
    if (isPlainObject(event.delta) && event.delta.stop_reason !== undefined) this.stopReason = event.delta.stop_reason;
    if (isPlainObject(event.usage)) {
      // message_delta usage is cumulative; input appears there only on some API versions.
      const input = inputTokensOf(event.usage);
      if (input !== undefined) this.inputTokens = input;
      if (typeof event.usage.output_tokens === 'number') this.outputTokens = event.usage.output_tokens;
    }
    return '';
  }

  private indexOf(event: Record<string, unknown>): number {
    if (typeof event.index !== 'number') throw badAnswerError(this.ctx, `${String(event.type)} without an index`);
    return event.index;
  }
}
