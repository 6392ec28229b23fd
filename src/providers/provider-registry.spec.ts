import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeOpenAIServer } from '../../test/support/fakes/fake-openai-server.js';
import { MockProvider } from './mock.provider.js';
import { ProviderError } from './model-provider.js';
import { InvalidModelError, modelRefProblem, ollamaOrigin, parseModelRef, ProviderRegistry } from './provider-registry.js';

describe('parseModelRef', () => {
  it.each([
    ['openai/gpt-4o', 'openai', 'gpt-4o'],
    ['openai/meta-llama/Llama-3.1-8B', 'openai', 'meta-llama/Llama-3.1-8B'],
    ['anthropic/claude-haiku-4-5', 'anthropic', 'claude-haiku-4-5'],
    ['ollama/llama3.2:1b', 'ollama', 'llama3.2:1b'],
    ['mock/echo', 'mock', 'echo'],
    ['mock/echo?latency=200ms&token_delay=5ms', 'mock', 'echo?latency=200ms&token_delay=5ms'],
    ['mock/fail', 'mock', 'fail'],
    ['claude-sonnet-4-5', 'anthropic', 'claude-sonnet-4-5'],
    ['gpt-4o-mini', 'openai', 'gpt-4o-mini'],
    ['o1', 'openai', 'o1'],
    ['o1-preview', 'openai', 'o1-preview'],
    ['o3-mini', 'openai', 'o3-mini'],
    ['o4-mini', 'openai', 'o4-mini'],
    ['  gpt-4o  ', 'openai', 'gpt-4o'],
  ])('%j → %s / %s', (value, provider, model) => {
    expect(parseModelRef(value)).toEqual({ provider, model, ref: `${provider}/${model}` });
  });

  it.each([
    ['llama3', 'no provider can be told from the name'],
    ['o2-mini', 'no provider can be told from the name'],
    ['Claude-3', 'no provider can be told from the name'],
    ['', 'empty'],
    ['azure/gpt-4o', 'unknown provider "azure"'],
    ['OpenAI/gpt-4o', 'unknown provider "OpenAI"'],
    ['openai/', 'the model id after "openai/" is empty'],
    ['mock/echo?latency=soon', 'mock option "latency" must be a duration'],
    ['mock/echo?colour=red', 'unknown mock option "colour"'],
    ['openai/gpt 4o', 'the model id contains whitespace'],
  ])('rejects %j', (value, reason) => {
    expect(() => parseModelRef(value)).toThrow(InvalidModelError);
    expect(() => parseModelRef(value)).toThrow(`invalid model "${value}": ${reason}`);
  });

  it('explains how to write a model when the provider is unknown', () => {
    expect(modelRefProblem('mistral-large')).toBe(
      'invalid model "mistral-large": no provider can be told from the name; use "<provider>/<model-id>" with provider ' +
        'openai, anthropic, ollama or mock, or a bare id starting with "claude-", "gpt-", "o1", "o3" or "o4"',
    );
    expect(modelRefProblem('mock/echo')).toBeUndefined();
  });
});

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
    const registry = new ProviderRegistry({});
    expect(() => registry.resolve('llama3')).toThrow(InvalidModelError);
  });

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
