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
 * A fake OpenAI-compatible server: `POST /v1/chat/completions`, plain JSON or SSE chunks
 * (`data: {...}` … `data: [DONE]`) depending on the request's `stream` flag, with a usage
 * chunk when `stream_options.include_usage` is set, as the real API does.
 *
 * ```ts
 * const fake = await new FakeOpenAIServer().start();
 * fake.enqueue({ type: 'error', status: 429, headers: { 'retry-after': '2' } }, { type: 'text', text: 'Hi there' });
 * const provider = new OpenAIProvider({ baseUrl: fake.baseUrl, apiKey: 'sk-test' });
 * // … fake.requests[1].body.messages, fake.requests[0].closedEarly …
 * await fake.close();
 * ```
 */
export class FakeOpenAIServer extends FakeHttpServer {
  constructor(options: FakeServerOptions = {}) {
    super(options);
  }

  /** What to give the SDK as `baseURL` / `OPENAI_BASE_URL`: `<url>/v1`. */
  get baseUrl(): string {
    return `${this.url}/v1`;
  }

  protected accepts(method: string, path: string): boolean {
    return method === 'POST' && path === '/v1/chat/completions';
  }

  protected notFound(res: ServerResponse): void {
    writeJson(res, 404, { error: { message: 'Unknown route', type: 'invalid_request_error', code: null } });
  }

  protected async render(reply: FakeReply, request: RecordedRequest, res: ServerResponse, live: () => boolean): Promise<void> {
    if (reply.type === 'error') return renderError(reply, res);
    if (reply.type !== 'text' && reply.type !== 'tool_calls') return;
    await delay(reply.delayMs ?? 0);
    if (!live()) return;
    const model = typeof request.body?.model === 'string' ? request.body.model : 'fake-model';
    const index = this.requests.indexOf(request) + 1;
    if (request.body?.stream === true) {
      const includeUsage = request.body?.stream_options?.include_usage === true;
      const { frames, stallAt } = streamFrames(reply, model, index, includeUsage);
      await writeSse(res, frames, live, { chunkDelayMs: reply.chunkDelayMs, stallAt });
      return;
    }
    writeJson(res, 200, completion(reply, model, index));
  }
}

const CREATED = 1_700_000_000;

function usageOf(reply: FakeTextReply | FakeToolCallsReply) {
  const usage = reply.usage ?? { input: 10, output: 5 };
  return { prompt_tokens: usage.input, completion_tokens: usage.output, total_tokens: usage.input + usage.output };
}

function toolCallsOf(reply: FakeToolCallsReply) {
  return reply.calls.map((call, i) => ({
    id: call.id ?? `call_${i + 1}`,
    type: 'function',
    function: { name: call.name, arguments: argumentsText(call) },
  }));
}

function completion(reply: FakeTextReply | FakeToolCallsReply, model: string, index: number) {
  const isTools = reply.type === 'tool_calls';
  return {
    id: `chatcmpl-fake-${index}`,
    object: 'chat.completion',
    created: CREATED,
    model,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: isTools ? (reply.text ?? null) : reply.text,
          ...(isTools ? { tool_calls: toolCallsOf(reply) } : {}),
          refusal: null,
        },
        logprobs: null,
        finish_reason: isTools ? 'tool_calls' : (reply.finishReason ?? 'stop'),
      },
    ],
    usage: usageOf(reply),
  };
}

function streamFrames(
  reply: FakeTextReply | FakeToolCallsReply,
  model: string,
  index: number,
  includeUsage: boolean,
): { frames: string[]; stallAt?: number } {
  const chunk = (delta: unknown, finish: string | null = null) =>
    sse({
      id: `chatcmpl-fake-${index}`,
      object: 'chat.completion.chunk',
      created: CREATED,
      model,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    });
  const frames = [chunk({ role: 'assistant', content: '' })];
  let stallAt: number | undefined;
  let finish: string;
  if (reply.type === 'text') {
    const tokens = reply.tokens ?? wordsOf(reply.text);
    tokens.forEach((token, i) => {
      if (reply.stallAfterTokens === i) stallAt = frames.length;
      frames.push(chunk({ content: token }));
    });
    if (reply.stallAfterTokens !== undefined && stallAt === undefined) stallAt = frames.length;
    finish = reply.finishReason ?? 'stop';
  } else {
    for (const token of reply.text ? wordsOf(reply.text) : []) frames.push(chunk({ content: token }));
    reply.calls.forEach((call, i) => {
      const id = call.id ?? `call_${i + 1}`;
      frames.push(chunk({ tool_calls: [{ index: i, id, type: 'function', function: { name: call.name, arguments: '' } }] }));
      for (const part of call.argumentChunks ?? splitInto(argumentsText(call), 3)) {
        frames.push(chunk({ tool_calls: [{ index: i, function: { arguments: part } }] }));
      }
    });
    finish = 'tool_calls';
  }
  frames.push(chunk({}, finish));
  if (includeUsage) {
    frames.push(
      sse({ id: `chatcmpl-fake-${index}`, object: 'chat.completion.chunk', created: CREATED, model, choices: [], usage: usageOf(reply) }),
    );
  }
  frames.push('data: [DONE]\n\n');
  return { frames, stallAt };
}

function sse(data: unknown): string {
  return `data: ${JSON.stringify(data)}\n\n`;
}

function renderError(reply: FakeErrorReply, res: ServerResponse): void {
  const type =
    reply.errorType ??
    (reply.status === 429 ? 'rate_limit_exceeded' : reply.status >= 500 ? 'server_error' : 'invalid_request_error');
  writeJson(
    res,
    reply.status,
    { error: { message: reply.message ?? `Fake error ${reply.status}`, type, param: null, code: null } },
    reply.headers,
  );
}
