import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FakeAnthropicServer } from '../../test/support/fakes/fake-anthropic-server.js';
import { providerFailure } from '../../test/support/provider-assertions.js';
import { AnthropicProvider } from './anthropic.provider.js';
import type { ChatMessage, ChatRequest, ToolSpec } from './model-provider.js';

// What every provider does is in provider-contract.spec.ts; this file holds the Messages API wire format.

const KEY = 'sk-ant-test-0123456789abcdef';

const lookupTool: ToolSpec = {
  name: 'lookup',
  description: 'Finds a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};

function ask(content: string, extra: Partial<ChatRequest> = {}): ChatRequest {
  return { model: 'claude-haiku-4-5', messages: [{ role: 'user', content }], ...extra };
}

describe('AnthropicProvider wire format', () => {
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

  it('sends the system prompt apart from the messages', async () => {
    fake.enqueue({ type: 'text', text: 'Bonjour.', usage: { input: 14, output: 3 } });

    const response = await provider.chat({
      model: 'claude-haiku-4-5',
      messages: [
        { role: 'system', content: 'Answer in French.' },
        { role: 'user', content: 'Say hello.' },
      ],
      temperature: 0.3,
      maxTokens: 200,
    });

    expect(response).toEqual({
      content: 'Bonjour.',
      toolCalls: [],
      usage: { inputTokens: 14, outputTokens: 3, totalTokens: 17 },
      finishReason: 'stop',
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

  it('sends tool_use blocks and merges tool results into one user turn', async () => {
    fake.enqueue({ type: 'text', text: 'Done.' });
    const messages: ChatMessage[] = [
      { role: 'system', content: 'Be useful.' },
      { role: 'user', content: 'Paris and Rome?' },
      {
        role: 'assistant',
        content: 'Checking.',
        toolCalls: [
          { id: 'toolu_1', name: 'lookup', arguments: { city: 'Paris' } },
          { id: 'toolu_2', name: 'lookup', arguments: { city: 'Rome' } },
        ],
      },
      { role: 'tool', toolCallId: 'toolu_1', name: 'lookup', content: 'France' },
      { role: 'tool', toolCallId: 'toolu_2', name: 'lookup', content: 'lookup failed', isError: true },
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

  it('maps 529 overloaded to a retryable error', async () => {
    fake.enqueue({ type: 'error', status: 529 });
    const err = await providerFailure(provider.chat(ask('hi')));
    expect(err.message).toBe('anthropic/claude-haiku-4-5: the provider is overloaded (HTTP 529)');
    expect(err.retryable).toBe(true);
    expect(err.status).toBe(529);
  });
});
