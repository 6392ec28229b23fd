import { AnthropicProvider, DEFAULT_ANTHROPIC_BASE_URL } from './anthropic.provider.js';
import { MockProvider, parseMockModel } from './mock.provider.js';
import type { ModelProvider } from './model-provider.js';
import { OpenAIProvider } from './openai.provider.js';

export type ProviderName = 'openai' | 'anthropic' | 'ollama' | 'mock';

export const PROVIDER_NAMES: readonly ProviderName[] = ['openai', 'anthropic', 'ollama', 'mock'];

/** Plain configuration, read and validated elsewhere (`src/config/`). */
export interface ProvidersConfig {
  openai?: { apiKey?: string; baseUrl?: string };
  anthropic?: { apiKey?: string; baseUrl?: string };
  ollama?: { host?: string };
  /** Default deadline of one model call, used by `ResilientModel`. */
  timeoutMs?: number;
}

export const DEFAULT_OPENAI_BASE_URL = 'https://api.openai.com/v1';
export const DEFAULT_OLLAMA_HOST = 'http://localhost:11434';

/** A model string taken apart: `anthropic/claude-haiku-4-5` or bare `claude-haiku-4-5`. */
export interface ModelRef {
  provider: ProviderName;
  /** The id sent to the provider, without prefix. */
  model: string;
  /** Canonical `provider/model`, as used in errors and logs. */
  ref: string;
}

export interface ResolvedModel extends ModelRef {
  client: ModelProvider;
}

export class InvalidModelError extends Error {
  constructor(
    readonly value: string,
    reason: string,
  ) {
    super(`invalid model "${value}": ${reason}`);
    this.name = 'InvalidModelError';
  }
}

const BARE_OPENAI = /^(gpt-|o1|o3|o4)/;
const USAGE =
  'use "<provider>/<model-id>" with provider openai, anthropic, ollama or mock, ' +
  'or a bare id starting with "claude-", "gpt-", "o1", "o3" or "o4"';

/**
 * Resolves a model string as runtime.md "Models and providers" describes; throws
 * `InvalidModelError` naming what is wrong. Mock ids are checked against their grammar.
 */
export function parseModelRef(value: string): ModelRef {
  const text = value.trim();
  const slash = text.indexOf('/');
  let provider: ProviderName;
  let model: string;
  if (slash >= 0) {
    const prefix = text.slice(0, slash);
    if (!(PROVIDER_NAMES as readonly string[]).includes(prefix)) {
      throw new InvalidModelError(value, `unknown provider "${prefix}"; ${USAGE}`);
    }
    provider = prefix as ProviderName;
    model = text.slice(slash + 1);
  } else if (text.startsWith('claude-')) {
    provider = 'anthropic';
    model = text;
  } else if (BARE_OPENAI.test(text)) {
    provider = 'openai';
    model = text;
  } else {
    throw new InvalidModelError(value, text ? `no provider can be told from the name; ${USAGE}` : `empty; ${USAGE}`);
  }
  if (!model) throw new InvalidModelError(value, `the model id after "${provider}/" is empty`);
  if (/\s/.test(model)) throw new InvalidModelError(value, 'the model id contains whitespace');
  if (provider === 'mock') {
    try {
      parseMockModel(model);
    } catch (err) {
      throw new InvalidModelError(value, (err as Error).message);
    }
  }
  return { provider, model, ref: `${provider}/${model}` };
}

/** For definition validators: the problem with a model string, or undefined when it is fine. */
export function modelRefProblem(value: string): string | undefined {
  try {
    parseModelRef(value);
    return undefined;
  } catch (err) {
    if (err instanceof InvalidModelError) return err.message;
    throw err;
  }
}

export type ProviderFactories = Partial<Record<ProviderName, () => ModelProvider>>;

/**
 * One provider instance (and so one SDK client and connection pool) per provider name,
 * created on first use and reused by every agent.
 */
export class ProviderRegistry {
  private readonly providers = new Map<ProviderName, ModelProvider>();
  private readonly factories: Record<ProviderName, () => ModelProvider>;

  constructor(config: ProvidersConfig, overrides: ProviderFactories = {}) {
    this.factories = { ...defaultFactories(config), ...overrides };
  }

  resolve(value: string): ResolvedModel {
    const ref = parseModelRef(value);
    return { ...ref, client: this.provider(ref.provider) };
  }

  provider(name: ProviderName): ModelProvider {
    let provider = this.providers.get(name);
    if (!provider) {
      provider = this.factories[name]();
      this.providers.set(name, provider);
    }
    return provider;
  }
}

function defaultFactories(config: ProvidersConfig): Record<ProviderName, () => ModelProvider> {
  return {
    openai: () => {
      const baseUrl = trimSlashes(config.openai?.baseUrl || DEFAULT_OPENAI_BASE_URL);
      return new OpenAIProvider({
        baseUrl,
        apiKey: config.openai?.apiKey,
        // Self-hosted compatible servers often run without keys; OpenAI itself never does.
        requireApiKey: URL.canParse(baseUrl) && new URL(baseUrl).hostname === 'api.openai.com',
      });
    },
    anthropic: () =>
      new AnthropicProvider({
        baseUrl: trimSlashes(config.anthropic?.baseUrl || DEFAULT_ANTHROPIC_BASE_URL),
        apiKey: config.anthropic?.apiKey,
      }),
    ollama: () => new OpenAIProvider({ name: 'ollama', baseUrl: `${ollamaOrigin(config.ollama?.host)}/v1` }),
    mock: () => new MockProvider(),
  };
}

/** `OLLAMA_HOST` is often given as `host:port`, as the Ollama CLI accepts. */
export function ollamaOrigin(host: string | undefined): string {
  const value = trimSlashes(host || DEFAULT_OLLAMA_HOST);
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`;
}

function trimSlashes(url: string): string {
  return url.trim().replace(/\/+$/, '');
}
