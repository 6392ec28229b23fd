import type { ModelPrice, ModelPriceOverrides } from '../config/model-prices.js';
import { type Agent, parseModelRef } from '../definitions/index.js';

export type { ModelPrice } from '../config/model-prices.js';

/** What a price applies to; the `Usage` of a model call fits. */
export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
}

/**
 * List prices, USD per 1M tokens, standard tier (no batch discount, no prompt-cache rates, no
 * long-context surcharge), as of 2025-11-30: https://platform.openai.com/docs/pricing and
 * https://docs.claude.com/en/docs/about-claude/pricing. A key is an id prefix ending at a `-`
 * (dated ids and `-latest` aliases match it); the longest matching key wins. Operators correct
 * or extend it with AGENTSPEC_MODEL_PRICES.
 */
export const PRICES_AS_OF = '2025-11-30';
export const DEFAULT_PRICES: Readonly<Record<'openai' | 'anthropic', Readonly<Record<string, ModelPrice>>>> = {
  openai: {
    'gpt-5': { input: 1.25, output: 10 },
    'gpt-5-mini': { input: 0.25, output: 2 },
    'gpt-5-nano': { input: 0.05, output: 0.4 },
    'gpt-4.1': { input: 2, output: 8 },
    'gpt-4.1-mini': { input: 0.4, output: 1.6 },
    'gpt-4.1-nano': { input: 0.1, output: 0.4 },
    'gpt-4o': { input: 2.5, output: 10 },
    'gpt-4o-2024-05-13': { input: 5, output: 15 },
    'gpt-4o-mini': { input: 0.15, output: 0.6 },
    'gpt-4-turbo': { input: 10, output: 30 },
    'gpt-4': { input: 30, output: 60 },
    'gpt-3.5-turbo': { input: 0.5, output: 1.5 },
    o1: { input: 15, output: 60 },
    'o1-mini': { input: 1.1, output: 4.4 },
    'o1-pro': { input: 150, output: 600 },
    o3: { input: 2, output: 8 },
    'o3-mini': { input: 1.1, output: 4.4 },
    'o3-pro': { input: 20, output: 80 },
    'o4-mini': { input: 1.1, output: 4.4 },
  },
  anthropic: {
    'claude-opus-4': { input: 15, output: 75 },
    'claude-opus-4-1': { input: 15, output: 75 },
    'claude-opus-4-5': { input: 5, output: 25 },
    'claude-sonnet-4': { input: 3, output: 15 },
    'claude-sonnet-4-5': { input: 3, output: 15 },
    'claude-haiku-4-5': { input: 1, output: 5 },
    'claude-3-7-sonnet': { input: 3, output: 15 },
    'claude-3-5-sonnet': { input: 3, output: 15 },
    'claude-3-5-haiku': { input: 0.8, output: 4 },
    'claude-3-opus': { input: 15, output: 75 },
    'claude-3-haiku': { input: 0.25, output: 1.25 },
  },
};

/** A model the definitions use that has no price: its calls count as $0 against budgets. */
export interface UnpricedModel {
  /** `provider/model`. */
  ref: string;
  /** The agents whose `model`/`models` name it, in definition order. */
  agents: string[];
}

interface Entry {
  /** Undefined: a bare key of AGENTSPEC_MODEL_PRICES, for any provider. */
  provider?: string;
  prefix: string;
  price: ModelPrice;
  /** Breaks ties between keys of equal length: an override beats a default, a provider-qualified key a bare one. */
  rank: number;
}

/** The default table with AGENTSPEC_MODEL_PRICES applied on top. */
export class ModelPrices {
  private readonly entries: Entry[] = [];

  constructor(overrides: ModelPriceOverrides = {}) {
    for (const [provider, table] of Object.entries(DEFAULT_PRICES)) {
      for (const [prefix, price] of Object.entries(table)) this.entries.push({ provider, prefix, price, rank: 0 });
    }
    for (const [key, price] of Object.entries(overrides)) {
      const slash = key.indexOf('/');
      if (slash < 0) this.entries.push({ prefix: key, price, rank: 1 });
      else this.entries.push({ provider: key.slice(0, slash), prefix: key.slice(slash + 1), price, rank: 2 });
    }
  }

  /** The price of `model` at `provider`: the longest matching key; undefined when none matches. */
  priceOf(provider: string, model: string): ModelPrice | undefined {
    let best: Entry | undefined;
    for (const entry of this.entries) {
      if (entry.provider !== undefined && entry.provider !== provider) continue;
      if (model !== entry.prefix && !model.startsWith(`${entry.prefix}-`)) continue;
      if (!best || entry.prefix.length > best.prefix.length || (entry.prefix.length === best.prefix.length && entry.rank > best.rank)) {
        best = entry;
      }
    }
    return best?.price;
  }

  /** US dollars of one call; 0 for a model without a price (mock, ollama, unknown ids). */
  costOf(provider: string, model: string, usage: TokenUsage): number {
    const price = this.priceOf(provider, model);
    if (!price) return 0;
    // To the nano-dollar, the precision the budget table keeps (numeric(20, 9)).
    return Math.round(usage.inputTokens * price.input * 1_000 + usage.outputTokens * price.output * 1_000) / 1e9;
  }

  /**
   * The agents' models (fallbacks included) that have no price, for one start-up warning. Mock
   * models are left out: they are offline and free by design. An explicit price of 0 in
   * AGENTSPEC_MODEL_PRICES counts as a price (that is how a free local model is declared).
   */
  unpricedModels(definitions: { agents: readonly Pick<Agent, 'name' | 'model' | 'models'>[] }): UnpricedModel[] {
    const unpriced = new Map<string, string[]>();
    for (const agent of definitions.agents) {
      for (const value of agent.models.length > 0 ? agent.models : [agent.model]) {
        const { provider, model, ref } = parseModelRef(value);
        if (provider === 'mock' || this.priceOf(provider, model)) continue;
        const agents = unpriced.get(ref) ?? [];
        if (!agents.includes(agent.name)) agents.push(agent.name);
        unpriced.set(ref, agents);
      }
    }
    return [...unpriced].map(([ref, agents]) => ({ ref, agents }));
  }
}
