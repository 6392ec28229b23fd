import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FakeAnthropicServer } from '../../test/support/fakes/fake-anthropic-server.js';
import { FakeOpenAIServer } from '../../test/support/fakes/fake-openai-server.js';
import { collect, providerFailure } from '../../test/support/provider-assertions.js';
import { AnthropicProvider } from './anthropic.provider.js';
import type { ChatRequest, ChatStreamEvent, ModelProvider, ToolSpec } from './model-provider.js';
import { OpenAIProvider } from './openai.provider.js';
import { ProviderRegistry } from './provider-registry.js';
import { type ModelCallRecord, ResilientModel, type ResilientStreamEvent } from './resilient-model.js';

/**
 * What every HTTP model provider promises the engine, whatever its wire format: the same
 * answers, the same errors in the same words, aborts that reach the upstream connection, and
 * the same behaviour behind ResilientModel. Each adapter says how to build its provider and
 * fake server and how to script the raw answers that only its wire format can express; the
 * request bodies themselves are checked in openai.provider.spec.ts and anthropic.provider.spec.ts.
 */
type FakeProviderServer = FakeOpenAIServer | FakeAnthropicServer;

interface ProviderUnderTest {
  name: 'openai' | 'anthropic';
  model: string;
  key: string;
  /** The route every call goes to. */
  path: string;
  /** How the provider spells its tool call ids. */
  callId: (suffix: string) => string;
  startFake(): Promise<FakeProviderServer>;
  /** Without `apiKey`, the provider refuses to call out. */
  create(fake: FakeProviderServer, apiKey?: string): ModelProvider;
  /** Non-streamed bodies the provider cannot read, with the reason it gives. */
  malformedAnswers: [label: string, body: string, reason: string][];
  /** Raw server-sent events in the provider's format. */
  sse: {
    /** What comes before the first text token. */
    opening: string[];
    token(text: string): string;
    /** A frame whose data is not JSON. */
    broken: string;
    /** The provider's error event, of the given error type. */
    error(type: string): string;
    /** The provider's retryable error type. */
    retryableErrorType: string;
    /** A stream that stops before the answer is complete, with the reason given. */
    truncated: { frames: string[]; reason: string };
  };
}

function anthropicEvent(type: string, data: Record<string, unknown>): string {
  return `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
}

const openai: ProviderUnderTest = {
  name: 'openai',
  model: 'gpt-4o',
  key: 'sk-test-0123456789abcdef',
  path: '/v1/chat/completions',
  callId: (suffix) => `call_${suffix}`,
  startFake: () => new FakeOpenAIServer().start(),
  create: (fake, apiKey) => new OpenAIProvider({ baseUrl: fake.baseUrl, apiKey, requireApiKey: true }),
  malformedAnswers: [
    ['a truncated JSON body', '{"choices": [', 'the body is not valid JSON'],
    ['a body without choices', '{"object": "chat.completion"}', 'no choices in the answer'],
    [
      'arguments that are not JSON',
      JSON.stringify({
        choices: [
          {
            message: {
              role: 'assistant',
              content: null,
              tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{oops' } }],
            },
          },
        ],
      }),
      'arguments of tool call "f" are not valid JSON',
    ],
  ],
  sse: {
    opening: [],
    token: (text) => `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: text } }] })}\n\n`,
    broken: 'data: {"choices": [oops\n\n',
    error: (type) => `data: ${JSON.stringify({ error: { message: 'The server had an error', type } })}\n\n`,
    retryableErrorType: 'server_error',
    truncated: { frames: ['data: [DONE]\n\n'], reason: 'the stream ended without any choice' },
  },
};

const anthropicOpening = [
  anthropicEvent('message_start', { message: { id: 'm', content: [], usage: { input_tokens: 3, output_tokens: 1 } } }),
  anthropicEvent('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
];

const anthropic: ProviderUnderTest = {
  name: 'anthropic',
  model: 'claude-haiku-4-5',
  key: 'sk-ant-test-0123456789abcdef',
  path: '/v1/messages',
  callId: (suffix) => `toolu_${suffix}`,
  startFake: () => new FakeAnthropicServer().start(),
  create: (fake, apiKey) => new AnthropicProvider({ baseUrl: fake.baseUrl, apiKey }),
  malformedAnswers: [
    ['a truncated JSON body', '{"content": [', 'the body is not valid JSON'],
    ['a body without content blocks', '{"type": "message"}', 'no content blocks in the answer'],
    [
      'a tool input that is not an object',
      JSON.stringify({ type: 'message', content: [{ type: 'tool_use', id: 't', name: 'lookup', input: 'Paris' }] }),
      'input of tool call "lookup" is not a JSON object',
    ],
  ],
  sse: {
    opening: anthropicOpening,
    token: (text) => anthropicEvent('content_block_delta', { index: 0, delta: { type: 'text_delta', text } }),
    broken: 'event: content_block_delta\ndata: {"index": 0, oops\n\n',
    error: (type) => anthropicEvent('error', { error: { type, message: 'Overloaded' } }),
    retryableErrorType: 'overloaded_error',
    truncated: {
      frames: [...anthropicOpening, anthropicEvent('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'Hal' } })],
      reason: 'the stream ended before message_stop',
    },
  },
};

const ADAPTERS = [openai, anthropic];

const lookupTool: ToolSpec = {
  name: 'lookup',
  description: 'Finds a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};

describe.each(ADAPTERS.map((adapter) => [adapter.name, adapter] as const))('%s provider contract', (_name, adapter) => {
  const other = ADAPTERS.find((candidate) => candidate !== adapter)!;
  const ref = (model = adapter.model) => `${adapter.name}/${model}`;
  const ask = (content: string, extra: Partial<ChatRequest> = {}): ChatRequest => ({
    model: adapter.model,
    messages: [{ role: 'user', content }],
    ...extra,
  });
  let fake: FakeProviderServer;
  let provider: ModelProvider;

  beforeAll(async () => {
    fake = await adapter.startFake();
    provider = adapter.create(fake, adapter.key);
  });
  afterAll(() => fake.close());
  beforeEach(() => {
    fake.reset();
  });

  it('returns a plain answer with the reported usage, sent to its route with the key', async () => {
    fake.enqueue({ type: 'text', text: 'The answer is 42.', usage: { input: 12, output: 6 } });

    const response = await provider.chat({
      model: adapter.model,
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'What is six times seven?' },
      ],
      temperature: 0.2,
      maxTokens: 50,
    });

    expect(response).toEqual({
      content: 'The answer is 42.',
      toolCalls: [],
      usage: { inputTokens: 12, outputTokens: 6, totalTokens: 18 },
      finishReason: 'stop',
    });
    const [request] = fake.requests;
    expect(request?.method).toBe('POST');
    expect(request?.path).toBe(adapter.path);
    expect(request?.headers.authorization).toBe(`Bearer ${adapter.key}`);
    expect(request?.body.stream).toBe(false);
  });

  it('parses the tool calls of a plain answer', async () => {
    fake.enqueue({ type: 'tool_calls', calls: [{ id: adapter.callId('a'), name: 'lookup', arguments: { city: 'Lyon' } }] });
    const response = await provider.chat(ask('find Lyon', { tools: [lookupTool] }));
    expect(response).toEqual({
      content: '',
      toolCalls: [{ id: adapter.callId('a'), name: 'lookup', arguments: { city: 'Lyon' } }],
      usage: { inputTokens: 10, outputTokens: 5, totalTokens: 15 },
      finishReason: 'tool_calls',
    });
  });

  it('keeps the text that comes with tool calls in a plain answer', async () => {
    fake.enqueue({ type: 'tool_calls', text: 'Let me look.', calls: [{ id: adapter.callId('a'), name: 'lookup', arguments: { city: 'Lyon' } }] });
    const response = await provider.chat(ask('find Lyon', { tools: [lookupTool] }));
    expect(response).toEqual({
      content: 'Let me look.',
      toolCalls: [{ id: adapter.callId('a'), name: 'lookup', arguments: { city: 'Lyon' } }],
      usage: { inputTokens: 10, outputTokens: 5, totalTokens: 15 },
      finishReason: 'tool_calls',
    });
  });

  it('streams tokens in order and ends with the whole answer and its usage', async () => {
    fake.enqueue({ type: 'text', text: 'Hello world', tokens: ['Hel', 'lo', ' wor', 'ld'], usage: { input: 7, output: 4 } });

    const events = await collect(provider.stream(ask('greet me')));

    expect(events).toEqual([
      { type: 'token', content: 'Hel' },
      { type: 'token', content: 'lo' },
      { type: 'token', content: ' wor' },
      { type: 'token', content: 'ld' },
      {
        type: 'end',
        response: {
          content: 'Hello world',
          toolCalls: [],
          usage: { inputTokens: 7, outputTokens: 4, totalTokens: 11 },
          finishReason: 'stop',
        },
      },
    ]);
    expect(fake.requests[0]?.body.stream).toBe(true);
  });

  it('reassembles tool-call arguments streamed in several fragments', async () => {
    fake.enqueue({
      type: 'tool_calls',
      calls: [
        { id: adapter.callId('1'), name: 'lookup', arguments: { city: 'Paris' }, argumentChunks: ['{"ci', 'ty": "Pa', 'ris"}'] },
        { id: adapter.callId('2'), name: 'lookup', arguments: { city: 'Rome', country: 'IT' } },
      ],
      usage: { input: 20, output: 9 },
    });

    const events = await collect(provider.stream(ask('Paris and Rome?', { tools: [lookupTool] })));

    expect(events).toEqual([
      {
        type: 'end',
        response: {
          content: '',
          toolCalls: [
            { id: adapter.callId('1'), name: 'lookup', arguments: { city: 'Paris' } },
            { id: adapter.callId('2'), name: 'lookup', arguments: { city: 'Rome', country: 'IT' } },
          ],
          usage: { inputTokens: 20, outputTokens: 9, totalTokens: 29 },
          finishReason: 'tool_calls',
        },
      },
    ]);
  });

  it('streams the text before tool calls as tokens', async () => {
    fake.enqueue({
      type: 'tool_calls',
      text: 'Checking.',
      calls: [
        { id: adapter.callId('1'), name: 'lookup', arguments: { city: 'Paris' }, argumentChunks: ['{"ci', 'ty": "Pa', 'ris"}'] },
        { id: adapter.callId('2'), name: 'lookup', arguments: { city: 'Rome', country: 'IT' } },
      ],
      usage: { input: 30, output: 12 },
    });

    const events = await collect(provider.stream(ask('Paris and Rome?', { tools: [lookupTool] })));

    expect(events).toEqual([
      { type: 'token', content: 'Checking.' },
      {
        type: 'end',
        response: {
          content: 'Checking.',
          toolCalls: [
            { id: adapter.callId('1'), name: 'lookup', arguments: { city: 'Paris' } },
            { id: adapter.callId('2'), name: 'lookup', arguments: { city: 'Rome', country: 'IT' } },
          ],
          usage: { inputTokens: 30, outputTokens: 12, totalTokens: 42 },
          finishReason: 'tool_calls',
        },
      },
    ]);
  });

  describe('errors', () => {
    it('maps 429 to a retryable error carrying Retry-After in ms', async () => {
      fake.enqueue({ type: 'error', status: 429, headers: { 'retry-after': '2' } });
      const err = await providerFailure(provider.chat(ask('hi')));
      expect(err.message).toBe(`${ref()}: rate limited by the provider (HTTP 429)`);
      expect(err.provider).toBe(adapter.name);
      expect(err.status).toBe(429);
      expect(err.retryable).toBe(true);
      expect(err.retryAfterMs).toBe(2000);
    });

    it('prefers retry-after-ms when sent', async () => {
      fake.enqueue({ type: 'error', status: 503, headers: { 'retry-after-ms': '750', 'retry-after': '9' } });
      const err = await providerFailure(provider.chat(ask('hi')));
      expect(err.message).toBe(`${ref()}: server error at the provider (HTTP 503)`);
      expect(err.retryable).toBe(true);
      expect(err.retryAfterMs).toBe(750);
    });

    it('does not retry or leak the key on 401', async () => {
      fake.enqueue({ type: 'error', status: 401, message: `Incorrect API key provided: ${adapter.key}` });
      const err = await providerFailure(provider.chat(ask('hi')));
      expect(err.message).toBe(`${ref()}: the API key was rejected (HTTP 401)`);
      expect(err.retryable).toBe(false);
      expect(err.message).not.toContain(adapter.key);
    });

    it('keeps the provider explanation of a 400, with anything key-like redacted', async () => {
      fake.enqueue({ type: 'error', status: 400, message: `Invalid value for temperature (key ${adapter.key})` });
      const err = await providerFailure(provider.chat(ask('hi')));
      expect(err.message).toBe(
        `${ref()}: the provider rejected the request (HTTP 400): Invalid value for temperature (key [redacted])`,
      );
      expect(err.retryable).toBe(false);
    });

    it('maps an unreachable server to a retryable network error', async () => {
      const closed = await adapter.startFake();
      await closed.close();
      const offline = adapter.create(closed, adapter.key);
      const err = await providerFailure(offline.chat(ask('hi')));
      expect(err.message).toBe(`${ref()}: network error: connection refused`);
      expect(err.retryable).toBe(true);
    });

    it('fails clearly without a key, before any request', async () => {
      const keyless = adapter.create(fake);
      const err = await providerFailure(keyless.chat(ask('hi')));
      expect(err.message).toBe(`${ref()}: no API key configured`);
      expect(err.retryable).toBe(false);
      expect(fake.requests).toHaveLength(0);
    });

    it.each(adapter.malformedAnswers)('turns %s into a non-retryable ProviderError', async (_label, body, reason) => {
      fake.enqueue({ type: 'raw', body });
      const err = await providerFailure(provider.chat(ask('hi')));
      expect(err.message).toBe(`${ref()}: answer not understood (${reason})`);
      expect(err.retryable).toBe(false);
    });

    it('turns a malformed stream chunk into a ProviderError', async () => {
      fake.enqueue({ type: 'raw', contentType: 'text/event-stream', body: [...adapter.sse.opening, adapter.sse.broken] });
      const err = await providerFailure(collect(provider.stream(ask('hi'))));
      expect(err.message).toBe(`${ref()}: answer not understood (the body is not valid JSON)`);
    });

    it('turns an error event inside the stream into a retryable ProviderError', async () => {
      fake.enqueue({
        type: 'raw',
        contentType: 'text/event-stream',
        body: [...adapter.sse.opening, adapter.sse.token('Hi'), adapter.sse.error(adapter.sse.retryableErrorType)],
      });
      const err = await providerFailure(collect(provider.stream(ask('hi'))));
      expect(err.message).toBe(`${ref()}: the provider reported an error mid-stream (${adapter.sse.retryableErrorType})`);
      expect(err.retryable).toBe(true);
    });

    it('turns a stream that stops before the answer is complete into a ProviderError', async () => {
      fake.enqueue({ type: 'raw', contentType: 'text/event-stream', body: adapter.sse.truncated.frames });
      const err = await providerFailure(collect(provider.stream(ask('hi'))));
      expect(err.message).toBe(`${ref()}: answer not understood (${adapter.sse.truncated.reason})`);
    });

    it('rejects streamed tool arguments that are not JSON', async () => {
      fake.enqueue({ type: 'tool_calls', calls: [{ name: 'lookup', arguments: '{"city": Par' }] });
      const err = await providerFailure(collect(provider.stream(ask('hi', { tools: [lookupTool] }))));
      expect(err.message).toBe(`${ref()}: answer not understood (arguments of tool call "lookup" are not valid JSON)`);
    });
  });

  describe('abort', () => {
    it('closes the upstream connection when the signal aborts mid-stream', async () => {
      fake.enqueue({ type: 'text', text: 'one two three four', stallAfterTokens: 2 });
      const controller = new AbortController();
      const tokens: string[] = [];

      const run = (async () => {
        for await (const event of provider.stream(ask('count', { signal: controller.signal }))) {
          if (event.type === 'token') tokens.push(event.content);
          if (tokens.length === 2) controller.abort();
        }
      })();

      const err = await providerFailure(run);
      expect(err.message).toBe(`${ref()}: request aborted`);
      expect(tokens).toEqual(['one ', 'two ']);
      await fake.requests[0]?.closed;
      expect(fake.requests[0]?.closedEarly).toBe(true);
    });

    it('aborts a request still waiting for its answer', async () => {
      fake.enqueue({ type: 'hang' });
      const controller = new AbortController();
      const pending = providerFailure(provider.chat(ask('hi', { signal: controller.signal })));

      const request = await fake.waitForRequest(1);
      controller.abort();

      expect((await pending).message).toBe(`${ref()}: request aborted`);
      await request.closed;
      expect(request.closedEarly).toBe(true);
    });

    it('closes the upstream connection when the consumer stops reading', async () => {
      fake.enqueue({ type: 'text', text: 'one two three', stallAfterTokens: 1 });
      for await (const event of provider.stream(ask('count'))) {
        expect(event).toEqual({ type: 'token', content: 'one ' });
        break;
      }
      await fake.requests[0]?.closed;
      expect(fake.requests[0]?.closedEarly).toBe(true);
    });
  });

  describe('through ResilientModel', () => {
    let otherFake: FakeProviderServer;
    let sleeps: number[];
    let records: ModelCallRecord[];
    const user = [{ role: 'user' as const, content: 'hi' }];

    beforeAll(async () => {
      otherFake = await other.startFake();
    });
    afterAll(() => otherFake.close());
    beforeEach(() => {
      sleeps = [];
      records = [];
      otherFake.reset();
    });

    const resilient = (timeoutMs = 5_000, random = () => 0) =>
      new ResilientModel(
        new ProviderRegistry({}, { [adapter.name]: () => provider, [other.name]: () => other.create(otherFake, other.key) }),
        {
          timeoutMs,
          random,
          sleep: async (ms) => {
            sleeps.push(ms);
          },
          onModelCall: (record) => records.push(record),
        },
      );

    it('retries a 429 after the Retry-After it was given, then succeeds', async () => {
      fake.enqueue({ type: 'error', status: 429, headers: { 'retry-after': '2' } }, { type: 'text', text: 'Finally.' });

      const response = await resilient().chat({ models: [adapter.model], messages: user });

      expect(response.content).toBe('Finally.');
      expect(response.ref).toBe(ref());
      expect(sleeps).toEqual([2000]);
      expect(fake.requests).toHaveLength(2);
      expect(records.map((r) => [r.attempt, r.outcome, r.retryInMs])).toEqual([
        [1, 'error', 2000],
        [2, 'ok', undefined],
      ]);
    });

    // The default steps are 500 ms then 1000 ms, each delay taken in the upper half of its step.
    it.each([
      [0, [250, 500]],
      [0.5, [375, 750]],
    ])('gives up on a persistent 500 after exactly 3 attempts (jitter %s)', async (jitter, delays) => {
      fake.always({ type: 'error', status: 500 });

      const err = await providerFailure(resilient(5_000, () => jitter).chat({ models: [ref()], messages: user }));

      expect(err.message).toBe(`${ref()} failed after 3 attempts: server error at the provider (HTTP 500)`);
      expect(err.provider).toBe(adapter.name);
      expect(fake.requests).toHaveLength(3);
      expect(sleeps).toEqual(delays);
      expect(records.map((r) => [r.attempt, r.outcome])).toEqual([
        [1, 'error'],
        [2, 'error'],
        [3, 'error'],
      ]);
    });

    it('falls back to the next model of the chain', async () => {
      fake.enqueue({ type: 'error', status: 500 }, { type: 'error', status: 500 }, { type: 'error', status: 500 });
      fake.enqueue({ type: 'text', text: 'from the backup' });

      const response = await resilient().chat({ models: [ref(`${adapter.model}-primary`), ref(`${adapter.model}-backup`)], messages: user });

      expect(response.content).toBe('from the backup');
      expect(response.ref).toBe(ref(`${adapter.model}-backup`));
      expect(fake.requests.map((r) => r.body.model)).toEqual([
        `${adapter.model}-primary`,
        `${adapter.model}-primary`,
        `${adapter.model}-primary`,
        `${adapter.model}-backup`,
      ]);
    });

    it(`falls back to a model of another provider (${other.name})`, async () => {
      fake.always({ type: 'error', status: 401 });
      otherFake.enqueue({ type: 'text', text: `${other.name} to the rescue` });

      const response = await resilient().chat({ models: [adapter.model, `${other.name}/${other.model}`], messages: user });

      expect(response.content).toBe(`${other.name} to the rescue`);
      expect(response.provider).toBe(other.name);
      expect(fake.requests).toHaveLength(1);
      expect(otherFake.requests).toHaveLength(1);
    });

    it('says which models failed and why when the whole chain fails', async () => {
      fake.always({ type: 'error', status: 401 });
      otherFake.always({ type: 'error', status: 503 });

      const err = await providerFailure(resilient().chat({ models: [adapter.model, `${other.name}/${other.model}`], messages: user }));

      expect(err.message).toBe(
        `all 2 models failed: ${ref()} failed after 1 attempt: the API key was rejected (HTTP 401); ` +
          `${other.name}/${other.model} failed after 3 attempts: server error at the provider (HTTP 503)`,
      );
    });

    it('ends a hanging call at the deadline and closes the upstream connection', async () => {
      fake.always({ type: 'hang' });
      const started = Date.now();

      const err = await providerFailure(resilient(200).chat({ models: [ref()], messages: user }));

      expect(err.message).toBe(`${ref()}: timed out, no answer within the 200 ms deadline`);
      expect(Date.now() - started).toBeLessThan(2_000);
      expect(fake.requests).toHaveLength(1);
      await fake.requests[0]?.closed;
      expect(fake.requests[0]?.closedEarly).toBe(true);
      expect(records.map((r) => r.outcome)).toEqual(['timeout']);
    });

    it('ends a hanging stream at the deadline and closes the upstream connection', async () => {
      fake.always({ type: 'hang' });

      const err = await providerFailure(collect(resilient(150).stream({ models: [adapter.model], messages: user })));

      expect(err.message).toBe(`${ref()}: timed out, no answer within the 150 ms deadline`);
      await fake.requests[0]?.closed;
      expect(fake.requests[0]?.closedEarly).toBe(true);
    });

    it('streams from the fallback when the first model fails before any token', async () => {
      fake.enqueue({ type: 'error', status: 400 }, { type: 'text', text: 'backup speaking' });

      const events = await collect(resilient().stream({ models: [ref(`${adapter.model}-a`), ref(`${adapter.model}-b`)], messages: user }));

      expect(events.filter((e) => e.type === 'token').map((e) => (e as { content: string }).content)).toEqual(['backup ', 'speaking']);
      expect((events.at(-1) as Extract<ResilientStreamEvent, { type: 'end' }>).response.ref).toBe(ref(`${adapter.model}-b`));
    });

    it('does not fall back once a token was streamed', async () => {
      fake.enqueue({
        type: 'raw',
        contentType: 'text/event-stream',
        body: [...adapter.sse.opening, adapter.sse.token('partial '), adapter.sse.broken],
      });
      fake.enqueue({ type: 'text', text: 'never used' });
      const tokens: string[] = [];

      const err = await providerFailure(
        (async () => {
          for await (const event of resilient().stream({ models: [ref(`${adapter.model}-a`), ref(`${adapter.model}-b`)], messages: user })) {
            if (event.type === 'token') tokens.push(event.content);
          }
        })(),
      );

      expect(tokens).toEqual(['partial ']);
      expect(err.message).toBe(`${ref(`${adapter.model}-a`)} failed mid-stream: answer not understood (the body is not valid JSON)`);
      expect(fake.requests).toHaveLength(1);
    });

    it('aborts the upstream request when the caller disconnects mid-stream, without retrying', async () => {
      fake.enqueue({ type: 'text', text: 'one two three', stallAfterTokens: 1 });
      const controller = new AbortController();
      const seen: ChatStreamEvent[] = [];

      const err = await providerFailure(
        (async () => {
          for await (const event of resilient().stream({
            models: [ref(), ref(`${adapter.model}-backup`)],
            messages: user,
            signal: controller.signal,
          })) {
            seen.push(event);
            controller.abort();
          }
        })(),
      );

      expect(err.message).toBe(`${ref()}: cancelled by the caller`);
      expect(seen).toEqual([{ type: 'token', content: 'one ' }]);
      await fake.requests[0]?.closed;
      expect(fake.requests[0]?.closedEarly).toBe(true);
      expect(fake.requests).toHaveLength(1);
      expect(records.map((r) => r.outcome)).toEqual(['aborted']);
    });
  });
});
