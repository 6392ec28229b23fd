import type { ServerResponse } from 'node:http';
import {
  argumentsText,
  delay,
  type FakeErrorReply,
  FakeHttpServer,
  type FakeReply,
  type FakeServerOptions,
  type FakeToolCallsReply,
  type FakeTextReply,
  type RecordedRequest,
  splitInto,
  wordsOf,
  writeJson,
  writeSse,
} from './fake-http-server.js';

export type { FakeReply, FakeServerOptions, RecordedRequest } from './fake-http-server.js';

/**
 * A fake Anthropic Messages API: `POST /v1/messages`, a JSON message or the SSE event
 * sequence (`message_start`, `content_block_start`/`_delta`/`_stop`, `ping`,
 * `message_delta` with the final usage, `message_stop`) depending on the request's `stream`.
 * Tool arguments stream as `input_json_delta` fragments.
 *
 * ```ts
 * const fake = await new FakeAnthropicServer().start();
 * fake.enqueue({ type: 'tool_calls', calls: [{ name: 'lookup', arguments: { q: 'x' } }] });
 * const provider = new AnthropicProvider({ baseUrl: fake.url, apiKey: 'test-key' });
 * ```
 */
export class FakeAnthropicServer extends FakeHttpServer {
  constructor(options: FakeServerOptions = {}) {
    super(options);
  }

  /** What to give the SDK as `baseURL` / `ANTHROPIC_BASE_URL` (no `/v1`). */
  get baseUrl(): string {
    return this.url;
  }

  protected accepts(method: string, path: string): boolean {
    return method === 'POST' && path === '/v1/messages';
  }

  protected notFound(res: ServerResponse): void {
    writeJson(res, 404, { type: 'error', error: { type: 'not_found_error', message: 'Unknown route' } });
  }

  protected async render(reply: FakeReply, request: RecordedRequest, res: ServerResponse, live: () => boolean): Promise<void> {
    if (reply.type === 'error') return renderError(reply, res);
    if (reply.type !== 'text' && reply.type !== 'tool_calls') return;
    await delay(reply.delayMs ?? 0);
    if (!live()) return;
    const model = typeof request.body?.model === 'string' ? request.body.model : 'fake-model';
    const index = this.requests.indexOf(request) + 1;
    if (request.body?.stream === true) {
      const { frames, stallAt } = streamFrames(reply, model, index);
      await writeSse(res, frames, live, { chunkDelayMs: reply.chunkDelayMs, stallAt });
      return;
    }
    writeJson(res, 200, message(reply, model, index));
  }
}

function usageOf(reply: FakeTextReply | FakeToolCallsReply) {
  return reply.usage ?? { input: 10, output: 5 };
}

function toolId(reply: FakeToolCallsReply, i: number): string {
  return reply.calls[i]?.id ?? `toolu_${i + 1}`;
}

function stopReason(reply: FakeTextReply | FakeToolCallsReply): string {
  return reply.type === 'tool_calls' ? 'tool_use' : (reply.finishReason ?? 'end_turn');
}

function message(reply: FakeTextReply | FakeToolCallsReply, model: string, index: number) {
  const content: unknown[] = [];
  if (reply.text) content.push({ type: 'text', text: reply.text });
  if (reply.type === 'tool_calls') {
    reply.calls.forEach((call, i) => {
      // A string `arguments` goes out as is: a malformed (non-object) input.
      content.push({ type: 'tool_use', id: toolId(reply, i), name: call.name, input: call.arguments });
    });
  }
  const usage = usageOf(reply);
  return {
    id: `msg_fake_${index}`,
    type: 'message',
    role: 'assistant',
    model,
    content,
    stop_reason: stopReason(reply),
    stop_sequence: null,
    usage: { input_tokens: usage.input, output_tokens: usage.output },
  };
}

function event(type: string, data: Record<string, unknown>): string {
  return `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
}

function streamFrames(reply: FakeTextReply | FakeToolCallsReply, model: string, index: number): { frames: string[]; stallAt?: number } {
  const usage = usageOf(reply);
  const frames = [
    event('message_start', {
      message: {
        id: `msg_fake_${index}`,
        type: 'message',
        role: 'assistant',
        model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: usage.input, output_tokens: 1 },
      },
    }),
  ];
  let stallAt: number | undefined;
  let block = 0;
  const tokens = reply.type === 'text' ? (reply.tokens ?? wordsOf(reply.text)) : reply.text ? wordsOf(reply.text) : [];
  if (tokens.length || reply.type === 'text') {
    frames.push(event('content_block_start', { index: block, content_block: { type: 'text', text: '' } }));
    frames.push(event('ping', {}));
    tokens.forEach((token, i) => {
      if (reply.type === 'text' && reply.stallAfterTokens === i) stallAt = frames.length;
      frames.push(event('content_block_delta', { index: block, delta: { type: 'text_delta', text: token } }));
    });
    if (reply.type === 'text' && reply.stallAfterTokens !== undefined && stallAt === undefined) stallAt = frames.length;
    frames.push(event('content_block_stop', { index: block }));
    block++;
  }
  if (reply.type === 'tool_calls') {
    reply.calls.forEach((call, i) => {
      frames.push(
        event('content_block_start', { index: block, content_block: { type: 'tool_use', id: toolId(reply, i), name: call.name, input: {} } }),
      );
      for (const part of call.argumentChunks ?? splitInto(argumentsText(call), 3)) {
        frames.push(event('content_block_delta', { index: block, delta: { type: 'input_json_delta', partial_json: part } }));
      }
      frames.push(event('content_block_stop', { index: block }));
      block++;
    });
  }
  frames.push(
    event('message_delta', { delta: { stop_reason: stopReason(reply), stop_sequence: null }, usage: { output_tokens: usage.output } }),
  );
  frames.push(event('message_stop', {}));
  return { frames, stallAt };
}

function renderError(reply: FakeErrorReply, res: ServerResponse): void {
  const type =
    reply.errorType ??
    (reply.status === 429
      ? 'rate_limit_error'
      : reply.status === 529
        ? 'overloaded_error'
        : reply.status >= 500
          ? 'api_error'
          : reply.status === 401
            ? 'authentication_error'
            : 'invalid_request_error');
  writeJson(
    res,
    reply.status,
    { type: 'error', error: { type, message: reply.message ?? `Fake error ${reply.status}` } },
    { 'request-id': 'req_fake', ...reply.headers },
  );
}
