import { parseModelRef, type ModelRef, type ProviderName } from '../definitions/index.js';
import { AnthropicProvider, DEFAULT_ANTHROPIC_BASE_URL } from './anthropic.provider.js';
import { MockProvider } from './mock.provider.js';
import type { ModelProvider } from './model-provider.js';
import { OpenAIProvider } from './openai.provider.js';

// The model string grammar lives with the definitions; these names stay importable from here.
export { InvalidModelError, modelRefProblem, type ModelRef, type ProviderName } from '../definitions/index.js';

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

export interface ResolvedModel extends ModelRef {
  client: ModelProvider;
}

export type ProviderFactories = Partial<Record<ProviderName, () => ModelProvider>>;

/**
 * One provider instance (and so one SDK client and connection pool) per provider name,
 * created on first use and reused by every agent.
 */
export class ProviderRegistry {
  private readonly providers = new Map<ProviderName, ModelProvider>();
  /** Model strings come from validated definitions: each is parsed once, not on every call. */
  private readonly resolved = new Map<string, ResolvedModel>();
  private readonly factories: Record<ProviderName, () => ModelProvider>;

  constructor(config: ProvidersConfig, overrides: ProviderFactories = {}) {
    this.factories = { ...defaultFactories(config), ...overrides };
  }

  resolve(value: string): ResolvedModel {
    let resolved = this.resolved.get(value);
    if (!resolved) {
      const ref = parseModelRef(value);
      resolved = { ...ref, client: this.provider(ref.provider) };
      this.resolved.set(value, resolved);
    }
    return resolved;
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
