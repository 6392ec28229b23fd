import type { AppConfig } from '../config/configuration.js';
import { ProviderRegistry } from '../providers/provider-registry.js';
import { ResilientModel } from '../providers/resilient-model.js';

/**
 * The providers as configured (OPENAI_*, ANTHROPIC_*, OLLAMA_HOST, AGENTSPEC_PROVIDER_TIMEOUT),
 * behind retries, fallback and deadlines: what the server calls models with, and what
 * `npm run definitions -- eval` calls them with.
 */
export function createResilientModel(config: Pick<AppConfig, 'openai' | 'anthropic' | 'ollama' | 'providerTimeoutMs'>): ResilientModel {
  const registry = new ProviderRegistry({
    openai: { apiKey: config.openai.apiKey, baseUrl: config.openai.baseUrl },
    anthropic: { apiKey: config.anthropic.apiKey, baseUrl: config.anthropic.baseUrl },
    ollama: { host: config.ollama.host },
    timeoutMs: config.providerTimeoutMs,
  });
  return new ResilientModel(registry, { timeoutMs: config.providerTimeoutMs });
}
