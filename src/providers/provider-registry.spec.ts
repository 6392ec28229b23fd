import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeOpenAIServer } from '../../test/support/fakes/fake-openai-server.js';
import { parseMockModel } from '../definitions/model-ref.js';
import { MockProvider } from './mock.provider.js';
import { ProviderError } from './model-provider.js';
import { InvalidModelError, ollamaOrigin, ProviderRegistry } from './provider-registry.js';

describe('ProviderRegistry', () => {
  it('creates each provider once and shares it between model strings', () => {
    const created: string[] = [];
    const registry = new ProviderRegistry(
      {},
      {
        openai: () => {
          created.push('openai');
          return new MockProvider();
        },
      },
    );

    const first = registry.resolve('openai/gpt-4o');
    const second = registry.resolve('gpt-4o-mini');
    const third = registry.resolve('o3-mini');

    expect(created).toEqual(['openai']);
    expect(second.client).toBe(first.client);
    expect(third.client).toBe(first.client);
    expect(registry.resolve('mock/echo').client).not.toBe(first.client);
  });

  it('builds the real providers from plain configuration', () => {
    const registry = new ProviderRegistry({
      openai: { apiKey: 'sk-x', baseUrl: 'http://127.0.0.1:1/v1' },
      anthropic: { apiKey: 'ak-x' },
    });
    expect(registry.resolve('gpt-4o').client.name).toBe('openai');
    expect(registry.resolve('claude-haiku-4-5').client.name).toBe('anthropic');
    expect(registry.resolve('ollama/llama3').client.name).toBe('ollama');
    expect(registry.resolve('mock/echo').client.name).toBe('mock');
  });

  it('throws InvalidModelError for an unknown model without creating anything', () => {
    const created: string[] = [];
    const registry = new ProviderRegistry({}, { mock: () => (created.push('mock'), new MockProvider()) });
    expect(() => registry.resolve('llama3')).toThrow(InvalidModelError);
    expect(() => registry.resolve('mock/echo?latency=soon')).toThrow(InvalidModelError);
    expect(created).toEqual([]);
  });

  it.each(['echo', 'fail?retry_after=1s', 'echo?latency=2s&token_delay=1', 'echo?retry_after=1s', 'echo?fail=200', '.x', 'a?b'])(
    'resolves mock/%s only when the mock provider can run it, with its reason otherwise',
    (id) => {
      const registry = new ProviderRegistry({});
      let refusal: Error | undefined;
      try {
        parseMockModel(id);
      } catch (err) {
        refusal = err as Error;
      }
      if (refusal === undefined) expect(registry.resolve(`mock/${id}`).model).toBe(id);
      else expect(() => registry.resolve(`mock/${id}`)).toThrow(`invalid model "mock/${id}": ${refusal.message}`);
    },
  );

  it('refuses OpenAI itself without a key, before any network use', async () => {
    const registry = new ProviderRegistry({});
    const resolved = registry.resolve('gpt-4o');
    const err = await resolved.client.chat({ model: resolved.model, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as ProviderError).message).toBe('openai/gpt-4o: no API key configured');
  });

  it.each([
    [undefined, 'http://localhost:11434'],
    ['localhost:11434', 'http://localhost:11434'],
    ['http://ollama.internal:11434/', 'http://ollama.internal:11434'],
    ['https://gpu-box', 'https://gpu-box'],
  ])('reads OLLAMA_HOST %j as %s', (host, origin) => {
    expect(ollamaOrigin(host)).toBe(origin);
  });

  describe('with a keyless OpenAI-compatible server', () => {
    let fake: FakeOpenAIServer;
    beforeAll(async () => {
      fake = await new FakeOpenAIServer().start();
    });
    afterAll(() => fake.close());

    it('calls a custom OPENAI_BASE_URL without a key', async () => {
      fake.enqueue({ type: 'text', text: 'served locally' });
      const registry = new ProviderRegistry({ openai: { baseUrl: `${fake.baseUrl}/` } });
      const resolved = registry.resolve('openai/qwen2.5');

      const response = await resolved.client.chat({ model: resolved.model, messages: [{ role: 'user', content: 'hi' }] });

      expect(response.content).toBe('served locally');
      expect(fake.requests[0]?.path).toBe('/v1/chat/completions');
      expect(fake.requests[0]?.body.model).toBe('qwen2.5');
    });
  });
});
