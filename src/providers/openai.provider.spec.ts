import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FakeOpenAIServer } from '../../test/support/fakes/fake-openai-server.js';
import { collect, providerFailure } from '../../test/support/provider-assertions.js';
import type { ChatMessage, ChatRequest, ToolSpec } from './model-provider.js';
import { OpenAIProvider } from './openai.provider.js';
import { ProviderRegistry } from './provider-registry.js';

// What every provider does is in provider-contract.spec.ts; this file holds the OpenAI wire format.

const KEY = 'sk-test-0123456789abcdef';

const weatherTool: ToolSpec = {
  name: 'get_weather',
  description: 'Current weather of a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};

function ask(content: string, extra: Partial<ChatRequest> = {}): ChatRequest {
  return { model: 'gpt-4o', messages: [{ role: 'user', content }], ...extra };
}

describe('OpenAIProvider wire format', () => {
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

  it('sends the system prompt as a message, with temperature and max_tokens', async () => {
    fake.enqueue({ type: 'text', text: 'The answer is 42.' });

    await provider.chat({
      model: 'gpt-4o',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'What is six times seven?' },
      ],
      temperature: 0.2,
      maxTokens: 50,
    });

    expect(fake.requests[0]?.body).toEqual({
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
    await provider.chat(ask('hi', { model: 'o3-mini', maxTokens: 100 }));
    expect(fake.requests[0]?.body.max_completion_tokens).toBe(100);
    expect(fake.requests[0]?.body).not.toHaveProperty('max_tokens');
  });

  it('asks for the usage chunk that ends a stream', async () => {
    fake.enqueue({ type: 'text', text: 'Hello world', usage: { input: 7, output: 4 } });
    const events = await collect(provider.stream(ask('greet me')));
    expect(events.at(-1)).toMatchObject({ type: 'end', response: { usage: { inputTokens: 7, outputTokens: 4, totalTokens: 11 } } });
    expect(fake.requests[0]?.body.stream_options).toEqual({ include_usage: true });
  });

  it('sends tool calls and tool results back in OpenAI form, errors flagged in words', async () => {
    fake.enqueue({ type: 'text', text: 'Paris is sunny.' });
    const messages: ChatMessage[] = [
      { role: 'user', content: 'Weather in Paris and Oslo?' },
      {
        role: 'assistant',
        content: '',
        toolCalls: [
          { id: 'call_1', name: 'get_weather', arguments: { city: 'Paris' } },
          { id: 'call_2', name: 'get_weather', arguments: { city: 'Oslo' } },
        ],
      },
      { role: 'tool', toolCallId: 'call_1', name: 'get_weather', content: 'sunny, 21 C' },
      { role: 'tool', toolCallId: 'call_2', name: 'get_weather', content: 'timeout', isError: true },
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
