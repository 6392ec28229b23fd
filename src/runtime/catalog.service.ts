import { Inject, Injectable, Optional, type OnApplicationShutdown } from '@nestjs/common';
import type { Logger } from 'pino';
import { LOGGER } from '../common/logging/logging.module.js';
import { APP_CONFIG } from '../config/config.module.js';
import { type AppConfig, isDevelopmentMode } from '../config/configuration.js';
import { readAgentConfigEnvironment, readSecretFromEnvironment } from '../config/secrets.js';
import { type PrincipalDirectory, UserDirectory, UserKeyError } from '../auth/principal-directory.js';
import { formatDiagnostics, loadDefinitions, type Agent, type ConfigValue, type Definitions, type Pipeline } from '../definitions/index.js';
import type { AgentProfile } from '../engine/agent-loop.js';
import type { ToolFactory } from '../engine/tools/index.js';
import { compileGuardrails, GuardrailSet } from '../governance/guardrails.js';
import { ModelPrices } from '../governance/prices.js';
import type { KnownNames } from '../metrics/metrics.service.js';
import { compileBehaviour, type AgentBehaviour } from './agent-behaviour.js';
import { AgentConfigError, requireAgentConfig, resolveAgentConfig } from './agent-config.js';
import { buildAgents, type BuiltAgents } from './agent-profiles.js';

export const INITIAL_DEFINITIONS = Symbol('INITIAL_DEFINITIONS');
const RETIRED_TOOLS_GRACE_MS = 5 * 60_000;

interface Snapshot {
  definitions: Definitions;
  built: BuiltAgents;
  agents: Map<string, Agent>;
  /** Agent name → its guardrails, compiled once per definitions set. */
  guardrails: Map<string, GuardrailSet>;
  /** Agent name → its `on input` and `validate` blocks compiled, and its config values. */
  behaviours: Map<string, { behaviour: AgentBehaviour; config: Readonly<Record<string, ConfigValue>> }>;
  pipelines: Map<string, Pipeline>;
  /** Agent name → names of the pipelines with a step that runs it. */
  pipelinesByAgent: Map<string, string[]>;
  /** The `user` blocks: their keys (digests) and the roles they define. */
  users: UserDirectory;
}

/** An agent as the runner needs it: definition, profile, guardrails, behaviour and config values. */
export interface ServedAgent {
  agent: Agent;
  profile: AgentProfile;
  guardrails: GuardrailSet;
  behaviour: AgentBehaviour;
  config: Readonly<Record<string, ConfigValue>>;
}

export type ReloadResult = { ok: true; agents: number; pipelines: number } | { ok: false; errors: string };

/**
 * The definitions being served. A reload validates the new set completely first and swaps it
 * in with one assignment, so a request sees either the old set or the new one, never a mix.
 */
@Injectable()
export class CatalogService implements KnownNames, PrincipalDirectory, OnApplicationShutdown {
  private snapshot: Snapshot;
  private readonly retiring = new Map<ToolFactory, NodeJS.Timeout>();

  constructor(
    @Inject(INITIAL_DEFINITIONS) definitions: Definitions,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    @Optional() private readonly prices?: ModelPrices,
  ) {
    this.snapshot = this.build(definitions);
    this.warnUnpriced(definitions);
  }

  get definitions(): Definitions {
    return this.snapshot.definitions;
  }

  listAgents(): Agent[] {
    return this.snapshot.definitions.agents;
  }

  findAgent(name: string): ServedAgent | undefined {
    const agent = this.snapshot.agents.get(name);
    const profile = this.snapshot.built.profiles.get(name);
    const guardrails = this.snapshot.guardrails.get(name);
    const behaviour = this.snapshot.behaviours.get(name);
    return agent && profile && guardrails && behaviour ? { agent, profile, guardrails, ...behaviour } : undefined;
  }

  listPipelines(): Pipeline[] {
    return this.snapshot.definitions.pipelines;
  }

  findPipeline(name: string): Pipeline | undefined {
    return this.snapshot.pipelines.get(name);
  }

  /** Names of the pipelines with a step that runs this agent, in definition order. */
  pipelinesUsing(agent: string): string[] {
    return this.snapshot.pipelinesByAgent.get(agent) ?? [];
  }

  isAgent(name: string): boolean {
    return this.snapshot.agents.has(name);
  }

  isPipeline(name: string): boolean {
    return this.snapshot.pipelines.has(name);
  }

  userDirectory(): UserDirectory {
    return this.snapshot.users;
  }

  async reload(): Promise<ReloadResult> {
    const loaded = await loadDefinitions(this.config.definitionsPath, { environment: this.config.environment });
    if (!loaded.ok) {
      const errors = formatDiagnostics(loaded.diagnostics);
      this.logger.error({ path: this.config.definitionsPath, errors }, 'definitions reload refused; the previous set stays');
      return { ok: false, errors };
    }
    const previous = this.snapshot;
    let next: Snapshot;
    try {
      next = this.build(loaded.definitions);
    } catch (error) {
      if (!(error instanceof UserKeyError) && !(error instanceof AgentConfigError)) throw error;
      const errors = error.problems.join('\n');
      this.logger.error({ path: this.config.definitionsPath, errors }, 'definitions reload refused; the previous set stays');
      return { ok: false, errors };
    }
    if (next.users.hasKeys && !previous.users.hasKeys && isDevelopmentMode(this.config)) {
      this.logger.warn('the reloaded definitions have user keys, but development mode was decided at start: credentials stay optional until a restart');
    }
    this.snapshot = next;
    this.retire(previous.built.tools);
    this.warnUnpriced(loaded.definitions);
    const result = { ok: true as const, agents: loaded.definitions.agents.length, pipelines: loaded.definitions.pipelines.length };
    this.logger.info({ path: this.config.definitionsPath, ...result }, 'definitions reloaded');
    return result;
  }

  async onApplicationShutdown(): Promise<void> {
    for (const timer of this.retiring.values()) clearTimeout(timer);
    await Promise.all([...this.retiring.keys(), this.snapshot.built.tools].map((tools) => tools.close()));
    this.retiring.clear();
  }

  /** One warning per definitions set naming the models that count as $0 against budgets. */
  private warnUnpriced(definitions: Definitions): void {
    const unpriced = this.prices?.unpricedModels(definitions) ?? [];
    if (unpriced.length === 0) return;
    this.logger.warn(
      { models: unpriced.map((entry) => `${entry.ref} (${entry.agents.join(', ')})`) },
      'these models have no price: their calls cost $0 against budgets and agentspec_cost_dollars_total; set AGENTSPEC_MODEL_PRICES',
    );
  }

  /**
   * Calls started on the previous set may still be using its tools (MCP servers): they are
   * closed only after the longest a tool call may take.
   */
  private retire(tools: ToolFactory): void {
    const timer = setTimeout(() => {
      this.retiring.delete(tools);
      tools.close().catch((error: unknown) => this.logger.warn({ err_message: (error as Error).message }, 'closing retired tools failed'));
    }, RETIRED_TOOLS_GRACE_MS);
    timer.unref();
    this.retiring.set(tools, timer);
  }

  private build(definitions: Definitions): Snapshot {
    const agentConfig = requireAgentConfig(definitions, readAgentConfigEnvironment());
    return {
      definitions,
      built: buildAgents(definitions, this.config, agentConfig),
      behaviours: new Map(
        definitions.agents.map((agent) => [
          agent.name,
          { behaviour: compileBehaviour(agent), config: Object.fromEntries(agentConfig.get(agent.name)?.values ?? []) },
        ]),
      ),
      agents: new Map(definitions.agents.map((agent) => [agent.name, agent])),
      guardrails: guardrailsByAgent(definitions),
      pipelines: new Map(definitions.pipelines.map((pipeline) => [pipeline.name, pipeline])),
      pipelinesByAgent: pipelinesByAgent(definitions.pipelines),
      users: buildUserDirectory(definitions, this.config.apiKeys),
    };
  }
}

/** The loader refused every guardrail that does not compile, so this does not throw on loaded definitions. */
function guardrailsByAgent(definitions: Definitions): Map<string, GuardrailSet> {
  const compiled = compileGuardrails(definitions.guardrails);
  return new Map(definitions.agents.map((agent) => [agent.name, GuardrailSet.forAgent(agent, compiled)]));
}

function pipelinesByAgent(pipelines: readonly Pipeline[]): Map<string, string[]> {
  const byAgent = new Map<string, string[]>();
  for (const pipeline of pipelines) {
    for (const agent of new Set(pipeline.steps.map((step) => step.agent))) {
      byAgent.set(agent, [...(byAgent.get(agent) ?? []), pipeline.name]);
    }
  }
  return byAgent;
}

/** Reads the user blocks' keys (docs/security.md); throws `UserKeyError` naming each user and variable at fault. */
function buildUserDirectory(definitions: Definitions, serviceKeys: readonly string[]): UserDirectory {
  return UserDirectory.build(definitions.users, { readKey: readSecretFromEnvironment, serviceKeys });
}

/**
 * Start-up: load and validate, or explain why not (the server must not start on bad input).
 * The loader makes every definitions check, so `npm run definitions -- check` refuses exactly
 * that; start also needs the variables holding the user blocks' keys (`serviceKeys`: the
 * configured AGENTSPEC_API_KEY(S), which no user key may equal) and the values of the agents'
 * config parameters (AGENTSPEC_CONFIG_…). `environment` is AGENTSPEC_ENVIRONMENT: one the
 * definitions do not declare refuses the start.
 */
export async function loadInitialDefinitions(
  path: string,
  serviceKeys: readonly string[] = [],
  environment?: string,
): Promise<{ ok: true; definitions: Definitions; warnings: string } | { ok: false; errors: string }> {
  const loaded = await loadDefinitions(path, { environment });
  if (!loaded.ok) return { ok: false, errors: formatDiagnostics(loaded.diagnostics) };
  const problems: string[] = [];
  try {
    buildUserDirectory(loaded.definitions, serviceKeys);
  } catch (error) {
    if (!(error instanceof UserKeyError)) throw error;
    problems.push(...error.problems);
  }
  const config = resolveAgentConfig(loaded.definitions, readAgentConfigEnvironment());
  if (!config.ok) problems.push(...config.problems);
  if (problems.length > 0) return { ok: false, errors: problems.map((problem) => `error: ${problem}`).join('\n') };
  return { ok: true, definitions: loaded.definitions, warnings: loaded.warnings.length ? formatDiagnostics(loaded.warnings) : '' };
}
