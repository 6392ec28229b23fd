import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/database.js';
import { FakeAnthropicServer } from '../support/fakes/fake-anthropic-server.js';
import { FakeOpenAIServer } from '../support/fakes/fake-openai-server.js';
import { post } from '../support/http.js';
import { readSse } from '../support/sse.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

describe('agents against real provider wire formats (fake servers on loopback)', () => {
  let openai: FakeOpenAIServer;
  let anthropic: FakeAnthropicServer;
  let weather: Server;
  let app: TestApp;

  beforeAll(async () => {
    openai = await new FakeOpenAIServer().start();
    anthropic = await new FakeAnthropicServer().start();
    weather = createServer((request, response) => response.end(`forecast for ${decodeURIComponent(request.url!.split('/').pop()!)}: sunny`));
    await new Promise<void>((resolve) => weather.listen(47812, '127.0.0.1', resolve));
    app = await startTestApp({
      databaseUrl: await createTestDatabase(),
      env: {
        AGENTSPEC_DEFINITIONS: 'test/fixtures/e2e-providers',
        OPENAI_BASE_URL: openai.baseUrl,
        OPENAI_API_KEY: 'sk-test-openai-key-0000',
        ANTHROPIC_BASE_URL: anthropic.url,
        ANTHROPIC_API_KEY: 'sk-ant-test-key-0000',
        AGENTSPEC_HTTP_TOOL_ALLOW_HOSTS: '127.0.0.1',
      },
    });
  });
  beforeEach(() => {
    openai.reset();
    anthropic.reset();
  });
  afterAll(async () => {
    await app?.close();
    await openai?.close();
    await anthropic?.close();
    await new Promise((resolve) => weather?.close(resolve));
  });

  it('invokes an OpenAI-compatible model: exact body, options passed through', async () => {
    openai.enqueue({ type: 'text', text: 'Hello Ada', usage: { input: 12, output: 2 } });
    const response = await post(app, '/v1/agents/gpt/invoke', { input: 'Hi', options: { temperature: 0.3, max_tokens: 50 } });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      output: 'Hello Ada',
      usage: { input_tokens: 12, output_tokens: 2, total_tokens: 14 },
      tool_calls: [],
      turns: 1,
      duration_ms: expect.any(Number),
      finish_reason: 'stop',
    });
    const sent = openai.requests[0];
    expect(sent.path).toBe('/v1/chat/completions');
    expect(sent.headers.authorization).toBe('Bearer sk-test-openai-key-0000');
    expect(sent.body).toMatchObject({
      model: 'gpt-test',
      temperature: 0.3,
      max_tokens: 50,
      messages: [
        { role: 'system', content: 'You are helpful.' },
        { role: 'user', content: 'Hi' },
      ],
    });
    expect(sent.body.tools).toEqual([
      {
        type: 'function',
        function: {
          name: 'weather',
          description: 'Current weather for a city',
          parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false },
        },
      },
    ]);
  });

  it('streams a tool call whose arguments arrive split over chunks, then the answer', async () => {
    openai.enqueue(
      { type: 'tool_calls', calls: [{ id: 'call_1', name: 'weather', arguments: { city: 'Paris' }, argumentChunks: ['{"ci', 'ty": "Pa', 'ris"}'] }], usage: { input: 20, output: 5 } },
      { type: 'text', text: 'It is sunny in Paris.', usage: { input: 30, output: 6 } },
    );
    const response = await post(app, '/v1/agents/gpt/stream', { input: 'Weather in Paris?' });
    const { events } = await readSse(response);
    expect(events.slice(0, 2)).toEqual([
      { type: 'tool_call', name: 'weather', arguments: { city: 'Paris' } },
      { type: 'tool_result', name: 'weather', output: 'forecast for Paris: sunny' },
    ]);
    const tokens = events.filter((event) => event.type === 'token').map((event) => event.content);
    expect(tokens.join('')).toBe('It is sunny in Paris.');
    expect(tokens.length).toBeGreaterThan(1);
    expect(events.at(-1)).toEqual({ type: 'done', usage: { input_tokens: 50, output_tokens: 11, total_tokens: 61 } });
    expect(events.filter((event) => event.type === 'done')).toHaveLength(1);
    // The tool result went back to the model in OpenAI's format, and usage was asked for.
    expect(openai.requests[0].body.stream_options).toEqual({ include_usage: true });
    expect(openai.requests[1].body.messages.slice(-2)).toEqual([
      expect.objectContaining({ role: 'assistant', tool_calls: [expect.objectContaining({ id: 'call_1' })] }),
      { role: 'tool', tool_call_id: 'call_1', content: 'forecast for Paris: sunny' },
    ]);
  });

  it('retries a 429 after Retry-After and then succeeds', async () => {
    openai.enqueue({ type: 'error', status: 429, headers: { 'retry-after': '1' } }, { type: 'text', text: 'finally' });
    const started = Date.now();
    const response = await post(app, '/v1/agents/gpt/invoke', { input: 'Hi' });
    expect(response.status).toBe(200);
    expect((await response.json()).output).toBe('finally');
    expect(openai.requests).toHaveLength(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
  });

  it('answers 500 internal_error after 3 attempts on a persistent 500, naming provider and model, no key', async () => {
    openai.always({ type: 'error', status: 500, message: 'upstream exploded' });
    const response = await post(app, '/v1/agents/gpt/invoke', { input: 'Hi' });
    expect(response.status).toBe(500);
    const body = await response.json();
    expect(body.error.code).toBe('internal_error');
    expect(body.error.message).toMatch(/openai\/gpt-test/);
    expect(JSON.stringify(body)).not.toContain('sk-test-openai-key');
    expect(openai.requests).toHaveLength(3);
  }, 20_000);

  it('falls back along the models chain to another provider', async () => {
    openai.always({ type: 'error', status: 503 });
    anthropic.enqueue({ type: 'text', text: 'Backup here', usage: { input: 9, output: 2 } });
    const response = await post(app, '/v1/agents/chain/invoke', { input: 'Hi' });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ output: 'Backup here', usage: { input_tokens: 9, output_tokens: 2, total_tokens: 11 } });
    expect(openai.requests).toHaveLength(3);
    expect(anthropic.requests[0].body).toMatchObject({ model: 'claude-backup', system: 'You are helpful.' });
  }, 20_000);

  it('invokes and streams an Anthropic model', async () => {
    anthropic.enqueue({ type: 'text', text: 'Bonjour', usage: { input: 7, output: 1 } }, { type: 'text', text: 'Bonjour toi', usage: { input: 7, output: 2 } });
    const invoked = await (await post(app, '/v1/agents/claude/invoke', { input: 'Salut' })).json();
    expect(invoked).toMatchObject({ output: 'Bonjour', usage: { input_tokens: 7, output_tokens: 1, total_tokens: 8 } });
    const { events } = await readSse(await post(app, '/v1/agents/claude/stream', { input: 'Salut' }));
    expect(events.filter((event) => event.type === 'token').map((event) => event.content).join('')).toBe('Bonjour toi');
    expect(events.at(-1)).toEqual({ type: 'done', usage: { input_tokens: 7, output_tokens: 2, total_tokens: 9 } });
  });

  it('aborts the upstream request when the client disconnects mid-stream', async () => {
    openai.enqueue({ type: 'text', text: 'one two three four five six', stallAfterTokens: 2 });
    const response = await post(app, '/v1/agents/gpt/stream', { input: 'Talk' });
    const reader = response.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toContain('"type":"token"');
    await reader.cancel();
    await Promise.race([openai.requests[0].closed, new Promise((_, reject) => setTimeout(() => reject(new Error('upstream not closed')), 3_000))]);
    expect(openai.requests[0].closedEarly).toBe(true);
  });

  it('ends a hanging provider call at the agent timeout', async () => {
    openai.always({ type: 'hang' });
    const started = Date.now();
    const response = await post(app, '/v1/agents/impatient/invoke', { input: 'Hi' });
    expect(response.status).toBe(500);
    expect((await response.json()).error.message).toMatch(/openai\/slowpoke/);
    expect(Date.now() - started).toBeLessThan(4_000);
  });

  it('turns a malformed provider answer into a clear internal_error', async () => {
    openai.always({ type: 'raw', status: 200, contentType: 'application/json', body: '{"choices": "not a list"' });
    const response = await post(app, '/v1/agents/gpt/invoke', { input: 'Hi' });
    expect(response.status).toBe(500);
    const error = (await response.json()).error;
    expect(error.code).toBe('internal_error');
    expect(error.message).toMatch(/openai\/gpt-test/);
  });
});
