import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { Logger } from 'pino';
import { LOGGER } from '../common/logging/logging.module.js';
import { APP_CONFIG } from '../config/config.module.js';
import { type AppConfig, isDevelopmentMode } from '../config/configuration.js';
import { readSecretFromEnvironment } from '../config/secrets.js';
import { type PrincipalDirectory, UserDirectory, UserKeyError } from '../auth/principal-directory.js';
import { formatDiagnostics, loadDefinitions, type Agent, type Definitions, type Pipeline } from '../definitions/index.js';
import type { AgentProfile } from '../engine/agent-loop.js';
import type { ToolFactory } from '../engine/tools/index.js';
import type { KnownNames } from '../metrics/metrics.service.js';
import { buildAgents, type BuiltAgents } from './agent-profiles.js';

export const INITIAL_DEFINITIONS = Symbol('INITIAL_DEFINITIONS');
const RETIRED_TOOLS_GRACE_MS = 5 * 60_000;

interface Snapshot {
  definitions: Definitions;
  built: BuiltAgents;
  agents: Map<string, Agent>;
  pipelines: Map<string, Pipeline>;
  /** Agent name → names of the pipelines with a step that runs it. */
  pipelinesByAgent: Map<string, string[]>;
  /** The `user` blocks: their keys (digests) and the roles they define. */
  users: UserDirectory;
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
  ) {
    this.snapshot = this.build(definitions);
  }

  get definitions(): Definitions {
    return this.snapshot.definitions;
  }

  listAgents(): Agent[] {
    return this.snapshot.definitions.agents;
  }

  findAgent(name: string): { agent: Agent; profile: AgentProfile } | undefined {
    const agent = this.snapshot.agents.get(name);
    const profile = this.snapshot.built.profiles.get(name);
    return agent && profile ? { agent, profile } : undefined;
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
    const loaded = await loadDefinitions(this.config.definitionsPath);
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
      if (!(error instanceof UserKeyError)) throw error;
      const errors = error.problems.join('\n');
      this.logger.error({ path: this.config.definitionsPath, errors }, 'definitions reload refused; the previous set stays');
      return { ok: false, errors };
    }
    if (next.users.hasKeys && !previous.users.hasKeys && isDevelopmentMode(this.config)) {
      this.logger.warn('the reloaded definitions have user keys, but development mode was decided at start: credentials stay optional until a restart');
    }
    this.snapshot = next;
    this.retire(previous.built.tools);
    const result = { ok: true as const, agents: loaded.definitions.agents.length, pipelines: loaded.definitions.pipelines.length };
    this.logger.info({ path: this.config.definitionsPath, ...result }, 'definitions reloaded');
    return result;
  }

  async onApplicationShutdown(): Promise<void> {
    for (const timer of this.retiring.values()) clearTimeout(timer);
    await Promise.all([...this.retiring.keys(), this.snapshot.built.tools].map((tools) => tools.close()));
    this.retiring.clear();
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
    return {
      definitions,
      built: buildAgents(definitions, this.config),
      agents: new Map(definitions.agents.map((agent) => [agent.name, agent])),
      pipelines: new Map(definitions.pipelines.map((pipeline) => [pipeline.name, pipeline])),
      pipelinesByAgent: pipelinesByAgent(definitions.pipelines),
      users: buildUserDirectory(definitions, this.config.apiKeys),
    };
  }
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
 * configured AGENTSPEC_API_KEY(S), which no user key may equal).
 */
export async function loadInitialDefinitions(
  path: string,
  serviceKeys: readonly string[] = [],
): Promise<{ ok: true; definitions: Definitions; warnings: string } | { ok: false; errors: string }> {
  const loaded = await loadDefinitions(path);
  if (!loaded.ok) return { ok: false, errors: formatDiagnostics(loaded.diagnostics) };
  try {
    buildUserDirectory(loaded.definitions, serviceKeys);
  } catch (error) {
    if (!(error instanceof UserKeyError)) throw error;
    return { ok: false, errors: error.problems.map((problem) => `error: ${problem}`).join('\n') };
  }
  return { ok: true, definitions: loaded.definitions, warnings: loaded.warnings.length ? formatDiagnostics(loaded.warnings) : '' };
}
