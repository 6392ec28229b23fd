import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../config/configuration.js';
import { parseModelPrices } from '../config/model-prices.js';
import { ConfigValueError } from '../config/parsers.js';
import type { Agent } from '../definitions/index.js';
import { ModelPrices } from './prices.js';

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

const agent = (name: string, models: string[]): Pick<Agent, 'name' | 'model' | 'models'> => ({ name, model: models[0], models });

describe('ModelPrices', () => {
  const prices = new ModelPrices();

  it('prices dated ids and -latest aliases by their family prefix', () => {
    expect(prices.priceOf('anthropic', 'claude-sonnet-4-20250514')).toEqual({ input: 3, output: 15 });
    expect(prices.priceOf('anthropic', 'claude-3-5-haiku-latest')).toEqual({ input: 0.8, output: 4 });
    expect(prices.priceOf('anthropic', 'claude-3-7-sonnet-20250219')).toEqual({ input: 3, output: 15 });
    expect(prices.priceOf('openai', 'gpt-4o-2024-08-06')).toEqual({ input: 2.5, output: 10 });
    expect(prices.priceOf('openai', 'gpt-4.1')).toEqual({ input: 2, output: 8 });
  });

  it('takes the longest matching prefix', () => {
    expect(prices.priceOf('openai', 'gpt-4o-mini-2024-07-18')).toEqual({ input: 0.15, output: 0.6 });
    expect(prices.priceOf('openai', 'gpt-4o-2024-05-13')).toEqual({ input: 5, output: 15 });
    expect(prices.priceOf('openai', 'gpt-4.1-nano')).toEqual({ input: 0.1, output: 0.4 });
    expect(prices.priceOf('openai', 'o3-mini-2025-01-31')).toEqual({ input: 1.1, output: 4.4 });
    expect(prices.priceOf('openai', 'o3-2025-04-16')).toEqual({ input: 2, output: 8 });
    expect(prices.priceOf('anthropic', 'claude-opus-4-5-20251101')).toEqual({ input: 5, output: 25 });
    expect(prices.priceOf('anthropic', 'claude-opus-4-20250514')).toEqual({ input: 15, output: 75 });
  });

  it('matches a prefix only up to a dash, and only at its own provider', () => {
    expect(prices.priceOf('openai', 'gpt-4oo')).toBeUndefined();
    expect(prices.priceOf('openai', 'o30')).toBeUndefined();
    expect(prices.priceOf('openai', 'gpt-4-0613')).toEqual({ input: 30, output: 60 });
    expect(prices.priceOf('ollama', 'gpt-4o')).toBeUndefined();
    expect(prices.priceOf('mock', 'echo')).toBeUndefined();
  });

  it('costs dollars per million tokens, and nothing without a price', () => {
    expect(prices.costOf('openai', 'gpt-4o', { inputTokens: 1_000_000, outputTokens: 500_000 })).toBe(7.5);
    expect(prices.costOf('anthropic', 'claude-sonnet-4-5', { inputTokens: 1_234, outputTokens: 567 })).toBe(0.012207);
    expect(prices.costOf('openai', 'gpt-4.1-nano', { inputTokens: 3, outputTokens: 0 })).toBe(3e-7);
    expect(prices.costOf('ollama', 'llama3.1', { inputTokens: 10_000, outputTokens: 10_000 })).toBe(0);
    expect(prices.costOf('mock', 'echo', { inputTokens: 10_000, outputTokens: 10_000 })).toBe(0);
  });

  it('applies overrides: a provider/model key at its provider, a bare key at any, each only where it is the longest match', () => {
    const overridden = new ModelPrices({
      'gpt-4o': { input: 1, output: 2 },
      'openai/gpt-4o': { input: 3, output: 4 },
      'llama3.1': { input: 0, output: 0 },
      'ollama/qwen3': { input: 0.2, output: 0.3 },
      'mock/echo': { input: 1000, output: 1000 },
    });
    expect(overridden.priceOf('openai', 'gpt-4o-2024-11-20')).toEqual({ input: 3, output: 4 });
    expect(overridden.priceOf('ollama', 'gpt-4o')).toEqual({ input: 1, output: 2 });
    // The override names gpt-4o, not gpt-4o-mini, which keeps its own (longer) default.
    expect(overridden.priceOf('openai', 'gpt-4o-mini')).toEqual({ input: 0.15, output: 0.6 });
    expect(overridden.priceOf('ollama', 'llama3.1')).toEqual({ input: 0, output: 0 });
    expect(overridden.priceOf('openai', 'qwen3')).toBeUndefined();
    expect(overridden.costOf('ollama', 'qwen3', { inputTokens: 2_000_000, outputTokens: 1_000_000 })).toBe(0.7);
    expect(overridden.costOf('mock', 'echo', { inputTokens: 1, outputTokens: 1 })).toBe(0.002);
  });

  it('names the models of the agents that have no price, mock models aside, an explicit 0 counting as a price', () => {
    const withFree = new ModelPrices({ 'ollama/llama3.1': { input: 0, output: 0 } });
    const definitions = {
      agents: [
        agent('writer', ['openai/gpt-4o', 'ollama/mistral']),
        agent('helper', ['ollama/mistral', 'ollama/llama3.1']),
        agent('tester', ['mock/echo']),
        agent('gateway', ['openai/my-finetune', 'claude-haiku-4-5']),
      ],
    };
    expect(withFree.unpricedModels(definitions)).toEqual([
      { ref: 'ollama/mistral', agents: ['writer', 'helper'] },
      { ref: 'openai/my-finetune', agents: ['gateway'] },
    ]);
  });
});

describe('AGENTSPEC_MODEL_PRICES', () => {
  it('reads a JSON object', () => {
    const config = loadConfig({
      AGENTSPEC_MODEL_PRICES: '{"openai/gpt-4o": {"input": 2, "output": 8.5}, "llama3.1": {"input": 0, "output": 0}}',
    });
    expect(config.modelPrices).toEqual({ 'openai/gpt-4o': { input: 2, output: 8.5 }, 'llama3.1': { input: 0, output: 0 } });
    expect(loadConfig({}).modelPrices).toEqual({});
  });

  it('reads @file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'agentspec-prices-'));
    const file = join(dir, 'prices.json');
    writeFileSync(file, JSON.stringify({ 'anthropic/claude-sonnet-4-5': { input: 2.7, output: 13.5 } }));
    expect(loadConfig({ AGENTSPEC_MODEL_PRICES: `@${file}` }).modelPrices).toEqual({
      'anthropic/claude-sonnet-4-5': { input: 2.7, output: 13.5 },
    });
    expect(problems({ AGENTSPEC_MODEL_PRICES: `@${join(dir, 'missing.json')}` })).toEqual([
      `AGENTSPEC_MODEL_PRICES: cannot read ${join(dir, 'missing.json')}: ENOENT`,
    ]);
  });

  it.each([
    ['not JSON', '{openai/gpt-4o: 1}', /is not valid JSON/],
    ['an array', '[]', /must be a JSON object/],
    ['a number for a price', '{"gpt-4o": 2.5}', /"gpt-4o" must be \{"input"/],
    ['a missing side', '{"gpt-4o": {"input": 2.5}}', /"gpt-4o"\.output must be a number ≥ 0/],
    ['a negative price', '{"gpt-4o": {"input": -1, "output": 1}}', /"gpt-4o"\.input must be a number ≥ 0/],
    ['a price as text', '{"gpt-4o": {"input": "2.5", "output": 1}}', /"gpt-4o"\.input must be a number/],
    ['a misspelt field', '{"gpt-4o": {"input": 1, "output": 1, "ouput": 2}}', /unexpected "ouput"/],
    ['an unknown provider', '{"azure/gpt-4o": {"input": 1, "output": 1}}', /unknown provider "azure"/],
    ['an empty model id', '{"openai/": {"input": 1, "output": 1}}', /model id after "openai\/" is empty/],
  ])('refuses %s, naming the variable', (_case, raw, message) => {
    const found = problems({ AGENTSPEC_MODEL_PRICES: raw });
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/^AGENTSPEC_MODEL_PRICES: /);
    expect(found[0]).toMatch(message);
    expect(() => parseModelPrices(raw)).toThrow(ConfigValueError);
  });
});
