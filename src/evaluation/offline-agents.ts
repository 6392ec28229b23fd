import type { AppConfig } from '../config/configuration.js';
import type { Definitions } from '../definitions/index.js';
import { runAgent, type AgentProfile, type AgentRunResult, type ModelCaller } from '../engine/agent-loop.js';
import { renderPrompt } from '../engine/prompt-template.js';
import { compileGuardrails, GuardrailSet } from '../governance/guardrails.js';
import type { AgentConfigValues } from '../runtime/agent-config.js';
import { buildAgents, type BuiltAgents } from '../runtime/agent-profiles.js';
import { GuardedCall } from '../runtime/guarded-call.js';
import { createResilientModel } from '../runtime/resilient-model-factory.js';

export interface OfflineRunOptions {
  /** Values for the prompt's `{{variables}}`, as a call's `options.variables`. */
  variables?: Record<string, string>;
  signal?: AbortSignal;
}

export interface OfflineRunResult extends AgentRunResult {
  /** The "block" guardrail whose fallback replaced the input's answer or the answer itself. */
  blockedBy?: { guardrail: string; side: 'input' | 'output' };
}

/**
 * The agents of a definitions set, run as the server runs a non-streamed invoke: the same
 * profiles (prompt, tools, model chain, limits), the same prompt rendering, the same
 * providers with retries and fallback, and the agent's guardrails on the input, the tool
 * calls and the answer (src/runtime/guarded-call.ts). Without a database or HTTP, so budgets are neither checked nor charged, and nothing
 * is audited, logged or counted in metrics.
 */
export class OfflineAgents {
  private constructor(
    private readonly built: BuiltAgents,
    private readonly guardrails: ReadonlyMap<string, GuardrailSet>,
    private readonly model: ModelCaller,
  ) {}

  /**
   * `agentConfig`: each agent's config values (src/runtime/agent-config.ts). `model` replaces
   * the configured providers (tests).
   */
  static build(
    definitions: Definitions,
    config: AppConfig,
    agentConfig: ReadonlyMap<string, AgentConfigValues>,
    model: ModelCaller = createResilientModel(config),
  ): OfflineAgents {
    const compiled = compileGuardrails(definitions.guardrails);
    const guardrails = new Map(definitions.agents.map((agent) => [agent.name, GuardrailSet.forAgent(agent, compiled)]));
    return new OfflineAgents(buildAgents(definitions, config, agentConfig), guardrails, model);
  }

  /** Throws what the server would answer with an error: a missing prompt variable, a provider failure, a tool crash. */
  async run(agent: string, input: string, options: OfflineRunOptions = {}): Promise<OfflineRunResult> {
    const profile = this.profile(agent);
    const systemPrompt = profile.prompt && renderPrompt(profile.prompt, options.variables ?? {});
    const guard = new GuardedCall(this.guardrails.get(agent)!, false);
    const refused = guard.input(input);
    if (refused) return blocked(refused.fallback, { guardrail: refused.blockedBy, side: 'input' });
    const result = await runAgent(this.model, profile, { systemPrompt, input, signal: options.signal });
    const checked = { ...result, toolCalls: guard.toolCalls(result.toolCalls) };
    const verdict = guard.output(result.output);
    if (!verdict.blocked) return checked;
    const { guardrail, fallback } = verdict.blocked;
    return { ...checked, output: fallback, finishReason: 'content_filter', blockedBy: { guardrail, side: 'output' } };
  }

  /** Ends the MCP server processes the agents' tools started. */
  close(): Promise<void> {
    return this.built.tools.close();
  }

  private profile(agent: string): AgentProfile {
    const profile = this.built.profiles.get(agent);
    if (profile === undefined) throw new Error(`There is no agent named "${agent}".`);
    return profile;
  }
}

function blocked(fallback: string, blockedBy: OfflineRunResult['blockedBy']): OfflineRunResult {
  return {
    output: fallback,
    usage: { inputTokens: 0, outputTokens: 0, totalTokens: 0 },
    toolCalls: [],
    turns: 0,
    finishReason: 'content_filter',
    durationMs: 0,
    blockedBy,
  };
}
