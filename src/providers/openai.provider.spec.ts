import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FakeOpenAIServer } from '../../test/support/fakes/fake-openai-server.js';
import { type ChatMessage, type ChatRequest, type ChatStreamEvent, type ToolSpec } from './model-provider.js';
import { OpenAIProvider } from './openai.provider.js';
import { ProviderRegistry } from './provider-registry.js';
import { type ModelCallRecord, ResilientModel, type ResilientStreamEvent } from './resilient-model.js';
import { collect, providerFailure } from '../../test/support/provider-assertions.js';

const KEY = 'sk-test-0123456789abcdef';

const weatherTool: ToolSpec = {
  name: 'get_weather',
  description: 'Current weather of a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};

function ask(content: string, extra: Partial<ChatRequest> = {}): ChatRequest {
  return { model: 'gpt-4o', messages: [{ role: 'user', content }], ...extra };
}

describe('OpenAIProvider against the fake server', () => {
  let fake: FakeOpenAIServer;
  let provider: OpenAIProvider;

  beforeAll(async () => {
    fake = await new FakeOpenAIServer().start();
    provider = new OpenAIProvider({ baseUrl: fake.baseUrl, apiKey: KEY });
  });
  afterAll(() => fake.close());
  beforeEach(() => {
    fake.reset();
  });

  it('returns a plain answer with the reported usage and sends the request in OpenAI form', async () => {
    fake.enqueue({ type: 'text', text: 'The answer is 42.', usage: { input: 12, output: 6 } });

    const response = await provider.chat({
      model: 'gpt-4o',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'What is six times seven?' },
      ],
      temperature: 0.2,
      max_tokens: 50,
    });

    expect(response).toEqual({
      content: 'The answer is 42.',
      tool_calls: [],
      usage: { input_tokens: 12, output_tokens: 6, total_tokens: 18 },
      finish_reason: 'stop',
    });
    const [request] = fake.requests;
    expect(request?.method).toBe('POST');
    expect(request?.path).toBe('/v1/chat/completions');
    expect(request?.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(request?.body).toEqual({
      model: 'gpt-4o',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'What is six times seven?' },
      ],
      temperature: 0.2,
      max_tokens: 50,
      stream: false,
    });
  });

  it('offers tools as functions', async () => {
    fake.enqueue({ type: 'text', text: 'ok' });
    await provider.chat(ask('weather?', { tools: [weatherTool] }));
    expect(fake.requests[0]?.body.tools).toEqual([
      {
        type: 'function',
        function: { name: 'get_weather', description: 'Current weather of a city', parameters: weatherTool.parameters },
      },
    ]);
  });

  it('sends max_completion_tokens to reasoning models', async () => {
    fake.enqueue({ type: 'text', text: 'ok' });
    await provider.chat(ask('hi', { model: 'o3-mini', max_tokens: 100 }));
    expect(fake.requests[0]?.body.max_completion_tokens).toBe(100);
    expect(fake.requests[0]?.body).not.toHaveProperty('max_tokens');
  });

  it('parses tool calls of a plain answer', async () => {
    fake.enqueue({ type: 'tool_calls', calls: [{ id: 'call_a', name: 'get_weather', arguments: { city: 'Paris' } }] });
    const response = await provider.chat(ask('weather in Paris?', { tools: [weatherTool] }));
    expect(response.tool_calls).toEqual([{ id: 'call_a', name: 'get_weather', arguments: { city: 'Paris' } }]);
    expect(response.finish_reason).toBe('tool_calls');
    expect(response.content).toBe('');
  });

  it('streams tokens in order and asks for usage, which ends the stream', async () => {
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
          tool_calls: [],
          usage: { input_tokens: 7, output_tokens: 4, total_tokens: 11 },
          finish_reason: 'stop',
        },
      },
    ]);
    expect(fake.requests[0]?.body.stream).toBe(true);
    expect(fake.requests[0]?.body.stream_options).toEqual({ include_usage: true });
  });

  it('reassembles tool-call arguments split over several chunks, by index', async () => {
    fake.enqueue({
      type: 'tool_calls',
      calls: [
        { id: 'call_1', name: 'get_weather', arguments: { city: 'Paris' }, argumentChunks: ['{"ci', 'ty": "Pa', 'ris"}'] },
        { id: 'call_2', name: 'get_weather', arguments: { city: 'Oslo', units: 'metric' } },
      ],
      usage: { input: 20, output: 9 },
    });

    const events = await collect(provider.stream(ask('Paris and Oslo?', { tools: [weatherTool] })));

    expect(events).toEqual([
      {
        type: 'end',
        response: {
          content: '',
          tool_calls: [
            { id: 'call_1', name: 'get_weather', arguments: { city: 'Paris' } },
            { id: 'call_2', name: 'get_weather', arguments: { city: 'Oslo', units: 'metric' } },
          ],
          usage: { input_tokens: 20, output_tokens: 9, total_tokens: 29 },
          finish_reason: 'tool_calls',
        },
      },
    ]);
  });

  it('sends tool calls and tool results back in OpenAI form, errors flagged in words', async () => {
    fake.enqueue({ type: 'text', text: 'Paris is sunny.' });
    const messages: ChatMessage[] = [
      { role: 'user', content: 'Weather in Paris and Oslo?' },
      {
        role: 'assistant',
        content: '',
        tool_calls: [
          { id: 'call_1', name: 'get_weather', arguments: { city: 'Paris' } },
          { id: 'call_2', name: 'get_weather', arguments: { city: 'Oslo' } },
        ],
      },
      { role: 'tool', tool_call_id: 'call_1', name: 'get_weather', content: 'sunny, 21 C' },
      { role: 'tool', tool_call_id: 'call_2', name: 'get_weather', content: 'timeout', is_error: true },
    ];

    await provider.chat({ model: 'gpt-4o', messages, tools: [weatherTool] });

    expect(fake.requests[0]?.body.messages).toEqual([
      { role: 'user', content: 'Weather in Paris and Oslo?' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
          { id: 'call_2', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'call_1', content: 'sunny, 21 C' },
      { role: 'tool', tool_call_id: 'call_2', content: 'Error: timeout' },
    ]);
  });

  describe('errors', () => {
    it('maps 429 to a retryable error carrying Retry-After in ms', async () => {
      fake.enqueue({ type: 'error', status: 429, headers: { 'retry-after': '2' } });
      const err = await providerFailure(provider.chat(ask('hi')));
      expect(err.message).toBe('openai/gpt-4o: rate limited by the provider (HTTP 429)');
      expect(err.provider).toBe('openai');
      expect(err.status).toBe(429);
      expect(err.retryable).toBe(true);
      expect(err.retryAfterMs).toBe(2000);
    });

    it('prefers retry-after-ms when sent', async () => {
      fake.enqueue({ type: 'error', status: 503, headers: { 'retry-after-ms': '750', 'retry-after': '9' } });
      const err = await providerFailure(provider.chat(ask('hi')));
      expect(err.message).toBe('openai/gpt-4o: server error at the provider (HTTP 503)');
      expect(err.retryable).toBe(true);
      expect(err.retryAfterMs).toBe(750);
    });

    it('does not retry or leak the key on 401', async () => {
      fake.enqueue({ type: 'error', status: 401, message: `Incorrect API key provided: ${KEY}` });
      const err = await providerFailure(provider.chat(ask('hi')));
      expect(err.message).toBe('openai/gpt-4o: the API key was rejected (HTTP 401)');
      expect(err.retryable).toBe(false);
      expect(err.message).not.toContain(KEY);
    });

    it('keeps the provider explanation of a 400, with anything key-like redacted', async () => {
      fake.enqueue({ type: 'error', status: 400, message: `Invalid value for temperature (key ${KEY})` });
      const err = await providerFailure(provider.chat(ask('hi')));
      expect(err.message).toBe(
        'openai/gpt-4o: the provider rejected the request (HTTP 400): Invalid value for temperature (key [redacted])',
      );
      expect(err.retryable).toBe(false);
    });

    it('maps an unreachable server to a retryable network error', async () => {
      const closed = await new FakeOpenAIServer().start();
      const url = closed.baseUrl;
      await closed.close();
      const offline = new OpenAIProvider({ baseUrl: url, apiKey: KEY });
      const err = await providerFailure(offline.chat(ask('hi')));
      expect(err.message).toBe('openai/gpt-4o: network error: connection refused');
      expect(err.retryable).toBe(true);
    });

    it('refuses to call api.openai.com without a key, before any request', async () => {
      const keyless = new OpenAIProvider({ baseUrl: fake.baseUrl, requireApiKey: true });
      const err = await providerFailure(keyless.chat(ask('hi')));
      expect(err.message).toBe('openai/gpt-4o: no API key configured');
      expect(err.retryable).toBe(false);
      expect(fake.requests).toHaveLength(0);
    });

    it.each([
      ['a truncated JSON body', '{"choices": [', 'answer not understood (the body is not valid JSON)'],
      ['a body without choices', '{"object": "chat.completion"}', 'answer not understood (no choices in the answer)'],
      [
        'arguments that are not JSON',
        JSON.stringify({
          choices: [{ message: { role: 'assistant', content: null, tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{oops' } }] } }],
        }),
        'answer not understood (arguments of tool call "f" are not valid JSON)',
      ],
    ])('turns %s into a non-retryable ProviderError', async (_label, body, reason) => {
      fake.enqueue({ type: 'raw', body });
      const err = await providerFailure(provider.chat(ask('hi')));
      expect(err.message).toBe(`openai/gpt-4o: ${reason}`);
      expect(err.retryable).toBe(false);
    });

    it('turns a malformed stream chunk into a ProviderError', async () => {
      fake.enqueue({ type: 'raw', contentType: 'text/event-stream', body: 'data: {"choices": [oops\n\n' });
      const err = await providerFailure(collect(provider.stream(ask('hi'))));
      expect(err.message).toBe('openai/gpt-4o: answer not understood (the body is not valid JSON)');
    });

    it('turns an error object inside the stream into a retryable ProviderError', async () => {
      fake.enqueue({
        type: 'raw',
        contentType: 'text/event-stream',
        body: [
          `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: 'Hi' } }] })}\n\n`,
          `data: ${JSON.stringify({ error: { message: 'The server had an error', type: 'server_error' } })}\n\n`,
        ],
      });
      const err = await providerFailure(collect(provider.stream(ask('hi'))));
      expect(err.message).toBe('openai/gpt-4o: the provider reported an error mid-stream (server_error)');
      expect(err.retryable).toBe(true);
    });

    it('turns a stream without any choice into a ProviderError', async () => {
      fake.enqueue({ type: 'raw', contentType: 'text/event-stream', body: 'data: [DONE]\n\n' });
      const err = await providerFailure(collect(provider.stream(ask('hi'))));
      expect(err.message).toBe('openai/gpt-4o: answer not understood (the stream ended without any choice)');
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
      expect(err.message).toBe('openai/gpt-4o: request aborted');
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

      expect((await pending).message).toBe('openai/gpt-4o: request aborted');
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
    let sleeps: number[];
    let records: ModelCallRecord[];

    const resilient = (timeoutMs = 5_000) =>
      new ResilientModel(new ProviderRegistry({}, { openai: () => provider }), {
        timeoutMs,
        random: () => 0,
        sleep: async (ms) => {
          sleeps.push(ms);
        },
        onModelCall: (record) => records.push(record),
      });

    beforeEach(() => {
      sleeps = [];
      records = [];
    });

    it('retries a 429 after the Retry-After it was given, then succeeds', async () => {
      fake.enqueue({ type: 'error', status: 429, headers: { 'retry-after': '2' } }, { type: 'text', text: 'Finally.' });

      const response = await resilient().chat({ models: ['openai/gpt-4o'], messages: [{ role: 'user', content: 'hi' }] });

      expect(response.content).toBe('Finally.');
      expect(response.ref).toBe('openai/gpt-4o');
      expect(sleeps).toEqual([2000]);
      expect(fake.requests).toHaveLength(2);
      expect(records.map((r) => [r.attempt, r.outcome, r.retryInMs])).toEqual([
        [1, 'error', 2000],
        [2, 'ok', undefined],
      ]);
    });

    it('gives up on a persistent 500 after exactly 3 attempts', async () => {
      fake.always({ type: 'error', status: 500 });

      const err = await providerFailure(resilient().chat({ models: ['openai/gpt-4o'], messages: [{ role: 'user', content: 'hi' }] }));

      expect(err.message).toBe('openai/gpt-4o failed after 3 attempts: server error at the provider (HTTP 500)');
      expect(err.provider).toBe('openai');
      expect(fake.requests).toHaveLength(3);
      expect(sleeps).toEqual([250, 500]);
    });

    it('falls back to the next model of the chain', async () => {
      fake.enqueue({ type: 'error', status: 500 }, { type: 'error', status: 500 }, { type: 'error', status: 500 });
      fake.enqueue({ type: 'text', text: 'from the backup' });

      const response = await resilient().chat({
        models: ['openai/gpt-primary', 'openai/gpt-backup'],
        messages: [{ role: 'user', content: 'hi' }],
      });

      expect(response.content).toBe('from the backup');
      expect(response.ref).toBe('openai/gpt-backup');
      expect(fake.requests.map((r) => r.body.model)).toEqual(['gpt-primary', 'gpt-primary', 'gpt-primary', 'gpt-backup']);
    });

    it('ends a hanging call at the deadline and closes the upstream connection', async () => {
      fake.always({ type: 'hang' });
      const started = Date.now();

      const err = await providerFailure(resilient(200).chat({ models: ['openai/gpt-4o'], messages: [{ role: 'user', content: 'hi' }] }));

      expect(err.message).toBe('openai/gpt-4o: timed out, no answer within the 200 ms deadline');
      expect(Date.now() - started).toBeLessThan(2_000);
      expect(fake.requests).toHaveLength(1);
      await fake.requests[0]?.closed;
      expect(fake.requests[0]?.closedEarly).toBe(true);
      expect(records.map((r) => r.outcome)).toEqual(['timeout']);
    });

    it('streams from the fallback when the first model fails before any token', async () => {
      fake.enqueue({ type: 'error', status: 400 }, { type: 'text', text: 'backup speaking' });

      const events = await collect(
        resilient().stream({ models: ['openai/gpt-a', 'openai/gpt-b'], messages: [{ role: 'user', content: 'hi' }] }),
      );

      expect(events.filter((e) => e.type === 'token').map((e) => (e as { content: string }).content)).toEqual([
        'backup ',
        'speaking',
      ]);
      expect((events.at(-1) as Extract<ResilientStreamEvent, { type: 'end' }>).response.ref).toBe('openai/gpt-b');
    });

    it('does not fall back once a token was streamed', async () => {
      fake.enqueue({
        type: 'raw',
        contentType: 'text/event-stream',
        body: [`data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: 'partial ' } }] })}\n\n`, 'data: {broken\n\n'],
      });
      fake.enqueue({ type: 'text', text: 'never used' });
      const tokens: string[] = [];

      const err = await providerFailure(
        (async () => {
          for await (const event of resilient().stream({
            models: ['openai/gpt-a', 'openai/gpt-b'],
            messages: [{ role: 'user', content: 'hi' }],
          })) {
            if (event.type === 'token') tokens.push(event.content);
          }
        })(),
      );

      expect(tokens).toEqual(['partial ']);
      expect(err.message).toBe('openai/gpt-a failed mid-stream: answer not understood (the body is not valid JSON)');
      expect(fake.requests).toHaveLength(1);
    });

    it('aborts the upstream request when the caller disconnects mid-stream, without retrying', async () => {
      fake.enqueue({ type: 'text', text: 'one two three', stallAfterTokens: 1 });
      const controller = new AbortController();
      const seen: ChatStreamEvent[] = [];

      const err = await providerFailure(
        (async () => {
          for await (const event of resilient().stream({
            models: ['openai/gpt-4o', 'openai/gpt-backup'],
            messages: [{ role: 'user', content: 'hi' }],
            signal: controller.signal,
          })) {
            seen.push(event);
            controller.abort();
          }
        })(),
      );

      expect(err.message).toBe('openai/gpt-4o: cancelled by the caller');
      expect(seen).toEqual([{ type: 'token', content: 'one ' }]);
      await fake.requests[0]?.closed;
      expect(fake.requests[0]?.closedEarly).toBe(true);
      expect(fake.requests).toHaveLength(1);
      expect(records.map((r) => r.outcome)).toEqual(['aborted']);
    });
  });
});

describe('Ollama through the OpenAI-compatible API', () => {
  let fake: FakeOpenAIServer;

  beforeAll(async () => {
    fake = await new FakeOpenAIServer().start();
  });
  afterAll(() => fake.close());

  it('talks to <OLLAMA_HOST>/v1 without a key and names itself ollama', async () => {
    const registry = new ProviderRegistry({ ollama: { host: fake.url } });
    fake.enqueue({ type: 'text', text: 'llama says hi' }, { type: 'error', status: 404, message: 'model "nope" not found' });
    const resolved = registry.resolve('ollama/llama3.2:1b');

    const response = await resolved.client.chat({ model: resolved.model, messages: [{ role: 'user', content: 'hi' }] });
    const err = await providerFailure(resolved.client.chat({ model: 'nope', messages: [{ role: 'user', content: 'hi' }] }));

    expect(resolved.client.name).toBe('ollama');
    expect(response.content).toBe('llama says hi');
    expect(fake.requests[0]?.path).toBe('/v1/chat/completions');
    expect(fake.requests[0]?.body.model).toBe('llama3.2:1b');
    expect(err.message).toBe('ollama/nope: model or endpoint not found (HTTP 404): model "nope" not found');
    expect(err.provider).toBe('ollama');
  });
});
