import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FakeAnthropicServer } from '../../test/support/fakes/fake-anthropic-server.js';
import { FakeOpenAIServer } from '../../test/support/fakes/fake-openai-server.js';
import { AnthropicProvider } from './anthropic.provider.js';
import { type ChatMessage, type ChatRequest, type ToolSpec } from './model-provider.js';
import { OpenAIProvider } from './openai.provider.js';
import { ProviderRegistry } from './provider-registry.js';
import { type ModelCallRecord, ResilientModel } from './resilient-model.js';
import { collect, providerFailure } from '../../test/support/provider-assertions.js';

const KEY = 'sk-ant-test-0123456789abcdef';

const lookupTool: ToolSpec = {
  name: 'lookup',
  description: 'Finds a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};

function ask(content: string, extra: Partial<ChatRequest> = {}): ChatRequest {
  return { model: 'claude-haiku-4-5', messages: [{ role: 'user', content }], ...extra };
}

function sseEvent(type: string, data: Record<string, unknown>): string {
  return `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
}

describe('AnthropicProvider against the fake server', () => {
  let fake: FakeAnthropicServer;
  let provider: AnthropicProvider;

  beforeAll(async () => {
    fake = await new FakeAnthropicServer().start();
    provider = new AnthropicProvider({ baseUrl: fake.baseUrl, apiKey: KEY });
  });
  afterAll(() => fake.close());
  beforeEach(() => {
    fake.reset();
  });

  it('returns a plain answer with usage and sends the system prompt apart', async () => {
    fake.enqueue({ type: 'text', text: 'Bonjour.', usage: { input: 14, output: 3 } });

    const response = await provider.chat({
      model: 'claude-haiku-4-5',
      messages: [
        { role: 'system', content: 'Answer in French.' },
        { role: 'user', content: 'Say hello.' },
      ],
      temperature: 0.3,
      max_tokens: 200,
    });

    expect(response).toEqual({
      content: 'Bonjour.',
      tool_calls: [],
      usage: { input_tokens: 14, output_tokens: 3, total_tokens: 17 },
      finish_reason: 'stop',
    });
    expect(fake.requests[0]?.path).toBe('/v1/messages');
    expect(fake.requests[0]?.body).toEqual({
      model: 'claude-haiku-4-5',
      max_tokens: 200,
      system: 'Answer in French.',
      messages: [{ role: 'user', content: 'Say hello.' }],
      temperature: 0.3,
      stream: false,
    });
  });

  it('defaults max_tokens, caps temperature at 1 and offers tools with an input schema', async () => {
    fake.enqueue({ type: 'text', text: 'ok' });
    await provider.chat(ask('hi', { temperature: 1.7, tools: [lookupTool] }));
    const body = fake.requests[0]?.body;
    expect(body.max_tokens).toBe(4096);
    expect(body.temperature).toBe(1);
    expect(body.tools).toEqual([{ name: 'lookup', description: 'Finds a city', input_schema: lookupTool.parameters }]);
  });

  it('parses tool_use blocks of a plain answer', async () => {
    fake.enqueue({ type: 'tool_calls', text: 'Let me look.', calls: [{ id: 'toolu_a', name: 'lookup', arguments: { city: 'Lyon' } }] });
    const response = await provider.chat(ask('find Lyon', { tools: [lookupTool] }));
    expect(response).toEqual({
      content: 'Let me look.',
      tool_calls: [{ id: 'toolu_a', name: 'lookup', arguments: { city: 'Lyon' } }],
      usage: { input_tokens: 10, output_tokens: 5, total_tokens: 15 },
      finish_reason: 'tool_calls',
    });
  });

  it('streams text deltas in order, usage from message_start and message_delta', async () => {
    fake.enqueue({ type: 'text', text: 'Hi there you', tokens: ['Hi', ' there', ' you'], usage: { input: 9, output: 6 } });

    const events = await collect(provider.stream(ask('greet')));

    expect(events).toEqual([
      { type: 'token', content: 'Hi' },
      { type: 'token', content: ' there' },
      { type: 'token', content: ' you' },
      {
        type: 'end',
        response: {
          content: 'Hi there you',
          tool_calls: [],
          usage: { input_tokens: 9, output_tokens: 6, total_tokens: 15 },
          finish_reason: 'stop',
        },
      },
    ]);
    expect(fake.requests[0]?.body.stream).toBe(true);
  });

  it('reassembles input_json_delta fragments into tool arguments', async () => {
    fake.enqueue({
      type: 'tool_calls',
      text: 'Checking.',
      calls: [
        { id: 'toolu_1', name: 'lookup', arguments: { city: 'Paris' }, argumentChunks: ['{"ci', 'ty": "Pa', 'ris"}'] },
        { id: 'toolu_2', name: 'lookup', arguments: { city: 'Rome', country: 'IT' } },
      ],
      usage: { input: 30, output: 12 },
    });

    const events = await collect(provider.stream(ask('Paris and Rome', { tools: [lookupTool] })));

    expect(events).toEqual([
      { type: 'token', content: 'Checking.' },
      {
        type: 'end',
        response: {
          content: 'Checking.',
          tool_calls: [
            { id: 'toolu_1', name: 'lookup', arguments: { city: 'Paris' } },
            { id: 'toolu_2', name: 'lookup', arguments: { city: 'Rome', country: 'IT' } },
          ],
          usage: { input_tokens: 30, output_tokens: 12, total_tokens: 42 },
          finish_reason: 'tool_calls',
        },
      },
    ]);
  });

  it('sends tool_use blocks and merges tool results into one user turn', async () => {
    fake.enqueue({ type: 'text', text: 'Done.' });
    const messages: ChatMessage[] = [
      { role: 'system', content: 'Be useful.' },
      { role: 'user', content: 'Paris and Rome?' },
      {
        role: 'assistant',
        content: 'Checking.',
        tool_calls: [
          { id: 'toolu_1', name: 'lookup', arguments: { city: 'Paris' } },
          { id: 'toolu_2', name: 'lookup', arguments: { city: 'Rome' } },
        ],
      },
      { role: 'tool', tool_call_id: 'toolu_1', name: 'lookup', content: 'France' },
      { role: 'tool', tool_call_id: 'toolu_2', name: 'lookup', content: 'lookup failed', is_error: true },
    ];

    await provider.chat({ model: 'claude-haiku-4-5', messages, tools: [lookupTool] });

    expect(fake.requests[0]?.body.system).toBe('Be useful.');
    expect(fake.requests[0]?.body.messages).toEqual([
      { role: 'user', content: 'Paris and Rome?' },
      {
        role: 'assistant',
        content: [
          { type: 'text', text: 'Checking.' },
          { type: 'tool_use', id: 'toolu_1', name: 'lookup', input: { city: 'Paris' } },
          { type: 'tool_use', id: 'toolu_2', name: 'lookup', input: { city: 'Rome' } },
        ],
      },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'toolu_1', content: 'France' },
          { type: 'tool_result', tool_use_id: 'toolu_2', content: 'lookup failed', is_error: true },
        ],
      },
    ]);
  });

  describe('errors', () => {
    it('maps 429 to a retryable error carrying Retry-After in ms', async () => {
      fake.enqueue({ type: 'error', status: 429, headers: { 'retry-after': '3' } });
      const err = await providerFailure(provider.chat(ask('hi')));
      expect(err.message).toBe('anthropic/claude-haiku-4-5: rate limited by the provider (HTTP 429)');
      expect(err.provider).toBe('anthropic');
      expect(err.retryable).toBe(true);
      expect(err.retryAfterMs).toBe(3000);
    });

    it('maps 529 overloaded to a retryable error', async () => {
      fake.enqueue({ type: 'error', status: 529 });
      const err = await providerFailure(provider.chat(ask('hi')));
      expect(err.message).toBe('anthropic/claude-haiku-4-5: the provider is overloaded (HTTP 529)');
      expect(err.retryable).toBe(true);
      expect(err.status).toBe(529);
    });

    it('does not retry or leak the key on 401', async () => {
      fake.enqueue({ type: 'error', status: 401, message: `invalid x-api-key ${KEY}` });
      const err = await providerFailure(provider.chat(ask('hi')));
      expect(err.message).toBe('anthropic/claude-haiku-4-5: the API key was rejected (HTTP 401)');
      expect(err.retryable).toBe(false);
    });

    it('fails clearly without a key, before any request', async () => {
      const keyless = new AnthropicProvider({ baseUrl: fake.baseUrl });
      const err = await providerFailure(keyless.chat(ask('hi')));
      expect(err.message).toBe('anthropic/claude-haiku-4-5: no API key configured');
      expect(fake.requests).toHaveLength(0);
    });

    it.each([
      ['a truncated JSON body', '{"content": [', 'answer not understood (the body is not valid JSON)'],
      ['a body without content blocks', '{"type": "message"}', 'answer not understood (no content blocks in the answer)'],
      [
        'a tool input that is not an object',
        JSON.stringify({ type: 'message', content: [{ type: 'tool_use', id: 't', name: 'lookup', input: 'Paris' }] }),
        'answer not understood (input of tool call "lookup" is not a JSON object)',
      ],
    ])('turns %s into a non-retryable ProviderError', async (_label, body, reason) => {
      fake.enqueue({ type: 'raw', body });
      const err = await providerFailure(provider.chat(ask('hi')));
      expect(err.message).toBe(`anthropic/claude-haiku-4-5: ${reason}`);
      expect(err.retryable).toBe(false);
    });

    it('turns an error event mid-stream into a retryable ProviderError', async () => {
      fake.enqueue({
        type: 'raw',
        contentType: 'text/event-stream',
        body: [
          sseEvent('message_start', { message: { id: 'm', content: [], usage: { input_tokens: 3, output_tokens: 1 } } }),
          sseEvent('error', { error: { type: 'overloaded_error', message: 'Overloaded' } }),
        ],
      });
      const err = await providerFailure(collect(provider.stream(ask('hi'))));
      expect(err.message).toBe('anthropic/claude-haiku-4-5: the provider reported an error mid-stream (overloaded_error)');
      expect(err.retryable).toBe(true);
    });

    it('turns a stream cut before message_stop into a ProviderError', async () => {
      fake.enqueue({
        type: 'raw',
        contentType: 'text/event-stream',
        body: [
          sseEvent('message_start', { message: { id: 'm', content: [], usage: { input_tokens: 3, output_tokens: 1 } } }),
          sseEvent('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
          sseEvent('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'Hal' } }),
        ],
      });
      const err = await providerFailure(collect(provider.stream(ask('hi'))));
      expect(err.message).toBe('anthropic/claude-haiku-4-5: answer not understood (the stream ended before message_stop)');
    });

    it('rejects streamed tool arguments that are not JSON', async () => {
      fake.enqueue({ type: 'tool_calls', calls: [{ name: 'lookup', arguments: '{"city": Par' }] });
      const err = await providerFailure(collect(provider.stream(ask('hi', { tools: [lookupTool] }))));
      expect(err.message).toBe('anthropic/claude-haiku-4-5: answer not understood (arguments of tool call "lookup" are not valid JSON)');
    });
  });

  describe('abort', () => {
    it('closes the upstream connection when the signal aborts mid-stream', async () => {
      fake.enqueue({ type: 'text', text: 'alpha beta gamma', stallAfterTokens: 1 });
      const controller = new AbortController();
      const tokens: string[] = [];

      const err = await providerFailure(
        (async () => {
          for await (const event of provider.stream(ask('go', { signal: controller.signal }))) {
            if (event.type === 'token') tokens.push(event.content);
            controller.abort();
          }
        })(),
      );

      expect(err.message).toBe('anthropic/claude-haiku-4-5: request aborted');
      expect(tokens).toEqual(['alpha ']);
      await fake.requests[0]?.closed;
      expect(fake.requests[0]?.closedEarly).toBe(true);
    });
  });

  describe('through ResilientModel', () => {
    let sleeps: number[];
    let records: ModelCallRecord[];
    let openaiFake: FakeOpenAIServer;

    beforeAll(async () => {
      openaiFake = await new FakeOpenAIServer().start();
    });
    afterAll(() => openaiFake.close());
    beforeEach(() => {
      sleeps = [];
      records = [];
      openaiFake.reset();
    });

    const resilient = (timeoutMs = 5_000) =>
      new ResilientModel(
        new ProviderRegistry(
          {},
          {
            anthropic: () => provider,
            openai: () => new OpenAIProvider({ baseUrl: openaiFake.baseUrl, apiKey: 'sk-other' }),
          },
        ),
        {
          timeoutMs,
          random: () => 0.5,
          sleep: async (ms) => {
            sleeps.push(ms);
          },
          onModelCall: (record) => records.push(record),
        },
      );

    it('retries a 429 after the Retry-After it was given, then succeeds', async () => {
      fake.enqueue({ type: 'error', status: 429, headers: { 'retry-after': '1' } }, { type: 'text', text: 'At last.' });

      const response = await resilient().chat({ models: ['claude-haiku-4-5'], messages: [{ role: 'user', content: 'hi' }] });

      expect(response.content).toBe('At last.');
      expect(response.ref).toBe('anthropic/claude-haiku-4-5');
      expect(sleeps).toEqual([1000]);
      expect(fake.requests).toHaveLength(2);
    });

    it('gives up on a persistent 500 after exactly 3 attempts', async () => {
      fake.always({ type: 'error', status: 500 });

      const err = await providerFailure(resilient().chat({ models: ['anthropic/claude-haiku-4-5'], messages: [{ role: 'user', content: 'hi' }] }));

      expect(err.message).toBe('anthropic/claude-haiku-4-5 failed after 3 attempts: server error at the provider (HTTP 500)');
      expect(fake.requests).toHaveLength(3);
      // random 0.5 puts each delay at three quarters of its step: 500 ms, then 1000 ms.
      expect(sleeps).toEqual([375, 750]);
      expect(records.map((r) => [r.attempt, r.outcome])).toEqual([
        [1, 'error'],
        [2, 'error'],
        [3, 'error'],
      ]);
    });

    it('falls back to a model of another provider', async () => {
      fake.always({ type: 'error', status: 401 });
      openaiFake.enqueue({ type: 'text', text: 'openai to the rescue' });

      const response = await resilient().chat({
        models: ['claude-haiku-4-5', 'openai/gpt-4o-mini'],
        messages: [{ role: 'user', content: 'hi' }],
      });

      expect(response.content).toBe('openai to the rescue');
      expect(response.provider).toBe('openai');
      expect(fake.requests).toHaveLength(1);
      expect(openaiFake.requests).toHaveLength(1);
    });

    it('says which models failed and why when the whole chain fails', async () => {
      fake.always({ type: 'error', status: 401 });
      openaiFake.always({ type: 'error', status: 503 });

      const err = await providerFailure(
        resilient().chat({ models: ['claude-haiku-4-5', 'openai/gpt-4o-mini'], messages: [{ role: 'user', content: 'hi' }] }),
      );

      expect(err.message).toBe(
        'all 2 models failed: anthropic/claude-haiku-4-5 failed after 1 attempt: the API key was rejected (HTTP 401); ' +
          'openai/gpt-4o-mini failed after 3 attempts: server error at the provider (HTTP 503)',
      );
    });

    it('ends a hanging stream at the deadline and closes the upstream connection', async () => {
      fake.always({ type: 'hang' });

      const err = await providerFailure(
        collect(resilient(150).stream({ models: ['claude-haiku-4-5'], messages: [{ role: 'user', content: 'hi' }] })),
      );

      expect(err.message).toBe('anthropic/claude-haiku-4-5: timed out, no answer within the 150 ms deadline');
      await fake.requests[0]?.closed;
      expect(fake.requests[0]?.closedEarly).toBe(true);
    });
  });
});
