import { parseMockModel, type MockFailure, type MockModelSpec } from '../definitions/model-ref.js';
import { abortableSleep } from './abortable-sleep.js';
import {
  type ChatMessage,
  type ChatRequest,
  type ChatResponse,
  type ChatStreamEvent,
  type ModelProvider,
  ProviderError,
  type ToolCall,
  type ToolSpec,
} from './model-provider.js';
import { abortedError, describeStatus, isPlainObject, isRetryableStatus, modelLabel } from './provider-errors.js';

/**
 * The built-in `mock` model: deterministic, offline, no randomness. `docs/mock-model.md`
 * is the user-facing copy of this contract; keep the two in step.
 *
 * Model id grammar (after `mock/`):
 *
 *     <name>[?<option>=<value>(&<option>=<value>)*]
 *
 * `<name>` is letters, digits, `.`, `_`, `-`, `:` (starting with a letter or digit). The
 * name `fail` always fails (like `?fail=500`); every other name (`echo`, `demo`, …)
 * answers as described below. Options, each at most once:
 *
 * - `latency=<duration>`: wait before answering (before the first token when streaming).
 * - `token_delay=<duration>`: wait between two streamed tokens (streaming only).
 * - `fail=<status>`: fail, after `latency`, like a provider answering HTTP `<status>`
 *   (400–599). 408, 409, 429 and 5xx are retryable, other statuses are not.
 * - `retry_after=<duration>`: with a failure, the `Retry-After` the error carries.
 * - `fail_after=<n>`: fail (HTTP 500 unless `fail=` says otherwise) after `n` streamed
 *   tokens; a non-streamed call fails right after `latency`.
 *
 * `<duration>` is a non-negative number followed by `ms`, `s` or `m`, or a bare number of
 * milliseconds; at most 10 minutes. Anything else is an invalid model id.
 *
 * Answer, decided from the request in this order:
 *
 * 1. The last message is a tool result: one line per trailing tool result, in order,
 *    `Tool <name> returned: <content>` (or `Tool <name> failed: <content>` when it is an
 *    error), joined by `\n`; `finish_reason` `stop`.
 * 2. Tools are offered, the last message is from the user and names one or more offered
 *    tools (case-insensitive, as a whole word: not touching a letter, digit, `_` or `-`):
 *    one tool call per named tool, in order of first mention, empty content,
 *    `finish_reason` `tool_calls`. Call ids are `call_mock_<n>`, numbered on from the
 *    tool calls already in the conversation. Arguments: every property of the tool's
 *    `parameters.properties` gets its `default`, else its first `enum` value, else its
 *    `const`, else by type: string (or no type) → the last user message verbatim,
 *    integer/number → its `minimum` or 1, boolean → true, array → [], object → {},
 *    null → null.
 * 3. Otherwise `Echo: <content of the last user message>` (`Echo: ` if there is none);
 *    `finish_reason` `stop`.
 *
 * `max_tokens`, when set and smaller than the number of words of a text answer, cuts the
 * answer to its first `max_tokens` words (trailing whitespace dropped), `finish_reason`
 * `length`. `temperature` is ignored.
 *
 * Usage: `input_tokens` = whitespace-separated words in the content of every request
 * message; `output_tokens` = words in the answer plus one per tool call.
 *
 * Streaming: one `token` event per word with the whitespace that follows it (leading
 * whitespace of the answer stays with the first word); joined they equal `content`.
 * A tool-call answer streams no tokens. Then one `end` event with the full response.
 *
 * Aborting the request's signal rejects at once with a non-retryable `ProviderError`
 * and clears pending timers.
 */
export class MockProvider implements ModelProvider {
  readonly name = 'mock';
  private readonly specs = new Map<string, MockModelSpec>();

  async chat(request: ChatRequest): Promise<ChatResponse> {
    const spec = this.spec(request.model);
    const answer = planAnswer(request);
    await this.wait(spec.latencyMs, request);
    if (spec.failure) throw failureError(request.model, spec.failure);
    return answer;
  }

  async *stream(request: ChatRequest): AsyncIterable<ChatStreamEvent> {
    const spec = this.spec(request.model);
    const answer = planAnswer(request);
    await this.wait(spec.latencyMs, request);
    const failure = spec.failure;
    if (failure && failure.afterTokens === undefined) throw failureError(request.model, failure);
    const tokens = splitWords(answer.content);
    for (let i = 0; i < tokens.length; i++) {
      if (failure && i === failure.afterTokens) throw failureError(request.model, failure);
      if (i > 0) await this.wait(spec.tokenDelayMs, request);
      yield { type: 'token', content: tokens[i] };
    }
    if (failure) throw failureError(request.model, failure);
    yield { type: 'end', response: answer };
  }

  private spec(model: string): MockModelSpec {
    const known = this.specs.get(model);
    if (known) return known;
    try {
      const spec = parseMockModel(model);
      // Bounded: only ids that parse are kept, and those come from the definitions.
      if (this.specs.size < 1000) this.specs.set(model, spec);
      return spec;
    } catch (err) {
      throw new ProviderError(`mock/${model}: ${(err as Error).message}`, this.name, { retryable: false, cause: err });
    }
  }

  private async wait(ms: number, request: ChatRequest): Promise<void> {
    const ctx = { provider: this.name, model: request.model, signal: request.signal, secrets: [] };
    if (request.signal?.aborted) throw abortedError(ctx);
    if (ms <= 0) return;
    try {
      await abortableSleep(ms, request.signal);
    } catch (err) {
      throw abortedError(ctx, err);
    }
  }
}

function failureError(model: string, failure: MockFailure): ProviderError {
  const retryable = isRetryableStatus(failure.status);
  return new ProviderError(`${modelLabel('mock', model)}: ${describeStatus(failure.status)} (simulated)`, 'mock', {
    status: failure.status,
    retryable,
    retryAfterMs: retryable ? failure.retryAfterMs : undefined,
  });
}

/** Runs of non-whitespace, as `/\S+/g` finds them, counted without building the array of matches. */
export function countWords(text: string): number {
  let words = 0;
  let inWord = false;
  for (let index = 0; index < text.length; index++) {
    const space = isWhitespace(text.charCodeAt(index));
    if (!space && !inWord) words++;
    inWord = !space;
  }
  return words;
}

/** JavaScript's `\s`: ASCII whitespace, NBSP, the Unicode space separators, line and paragraph separators, BOM. */
function isWhitespace(code: number): boolean {
  if (code <= 0x20) return code === 0x20 || (code >= 0x09 && code <= 0x0d);
  if (code < 0xa0) return false;
  return (
    code === 0xa0 ||
    code === 0x1680 ||
    (code >= 0x2000 && code <= 0x200a) ||
    code === 0x2028 ||
    code === 0x2029 ||
    code === 0x202f ||
    code === 0x205f ||
    code === 0x3000 ||
    code === 0xfeff
  );
}

/** Words with their trailing whitespace; leading whitespace stays with the first word. */
export function splitWords(text: string): string[] {
  const tokens = text.match(/^\s*\S+\s*|\S+\s*/g) ?? [];
  return tokens.length || !text ? tokens : [text];
}

function planAnswer(request: ChatRequest): ChatResponse {
  const messages = request.messages;
  const inputTokens = messages.reduce((sum, message) => sum + countWords(message.content), 0);
  const respond = (text: string, toolCalls: ToolCall[]): ChatResponse => {
    const limit = request.maxTokens;
    const cut = limit !== undefined && countWords(text) > limit;
    const content = cut ? splitWords(text).slice(0, limit).join('').trimEnd() : text;
    const outputTokens = countWords(content) + toolCalls.length;
    return {
      content,
      toolCalls,
      usage: { inputTokens, outputTokens, totalTokens: inputTokens + outputTokens },
      finishReason: toolCalls.length ? 'tool_calls' : cut ? 'length' : 'stop',
    };
  };
  const last = messages.at(-1);
  if (last?.role === 'tool') return respond(toolReport(messages), []);
  const userText = lastUserText(messages);
  if (last?.role === 'user' && request.tools?.length) {
    const mentioned = mentionedTools(last.content, request.tools);
    if (mentioned.length) {
      const previousCalls = messages.reduce(
        (sum, message) => sum + (message.role === 'assistant' ? (message.toolCalls?.length ?? 0) : 0),
        0,
      );
      const calls = mentioned.map(
        (tool, i): ToolCall => ({
          id: `call_mock_${previousCalls + i + 1}`,
          name: tool.name,
          arguments: argumentsFor(tool, userText),
        }),
      );
      return respond('', calls);
    }
  }
  return respond(`Echo: ${userText}`, []);
}

function lastUserText(messages: ChatMessage[]): string {
  for (let i = messages.length - 1; i >= 0; i--) {
    const message = messages[i];
    if (message.role === 'user') return message.content;
  }
  return '';
}

function toolReport(messages: ChatMessage[]): string {
  const lines: string[] = [];
  for (let i = messages.length - 1; i >= 0; i--) {
    const message = messages[i];
    if (message.role !== 'tool') break;
    lines.unshift(`Tool ${message.name} ${message.isError ? 'failed' : 'returned'}: ${message.content}`);
  }
  return lines.join('\n');
}

function mentionedTools(text: string, tools: ToolSpec[]): ToolSpec[] {
  const found: { tool: ToolSpec; at: number }[] = [];
  for (const tool of tools) {
    if (!tool.name) continue;
    const escaped = tool.name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const match = new RegExp(`(?<![A-Za-z0-9_-])${escaped}(?![A-Za-z0-9_-])`, 'i').exec(text);
    if (match) found.push({ tool, at: match.index });
  }
  return found.sort((a, b) => a.at - b.at).map((entry) => entry.tool);
}

function argumentsFor(tool: ToolSpec, userText: string): Record<string, unknown> {
  const properties = tool.parameters.properties;
  const args: Record<string, unknown> = {};
  if (!isPlainObject(properties)) return args;
  for (const [key, schema] of Object.entries(properties)) {
    args[key] = valueFor(isPlainObject(schema) ? schema : {}, userText);
  }
  return args;
}

function valueFor(schema: Record<string, unknown>, userText: string): unknown {
  if ('default' in schema) return schema.default;
  if (Array.isArray(schema.enum) && schema.enum.length) return schema.enum[0];
  if ('const' in schema) return schema.const;
  const types: unknown[] = Array.isArray(schema.type) ? schema.type : [schema.type];
  const type = types.find((t) => t !== 'null') ?? types[0];
  switch (type) {
    case 'integer':
    case 'number':
      return typeof schema.minimum === 'number' ? schema.minimum : 1;
    case 'boolean':
      return true;
    case 'array':
      return [];
    case 'object':
      return {};
    case 'null':
      return null;
    default:
      return userText;
  }
}
