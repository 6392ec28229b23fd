import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { Logger } from 'pino';
import { LOGGER } from '../common/logging/logging.module.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/configuration.js';
import { formatDiagnostics, loadDefinitions, type Agent, type Definitions, type Pipeline } from '../definitions/index.js';
import type { AgentProfile } from '../engine/agent-loop.js';
import type { KnownNames } from '../metrics/metrics.service.js';
import { buildAgents, runtimeProblems, type BuiltAgents } from './agent-profiles.js';

export const INITIAL_DEFINITIONS = Symbol('INITIAL_DEFINITIONS');

interface Snapshot {
  definitions: Definitions;
  built: BuiltAgents;
  agents: Map<string, Agent>;
  pipelines: Map<string, Pipeline>;
}

export type ReloadResult = { ok: true; agents: number; pipelines: number } | { ok: false; errors: string };

/**
 * The definitions being served. A reload validates the new set completely first and swaps it
 * in with one assignment, so a request sees either the old set or the new one, never a mix.
 */
@Injectable()
export class CatalogService implements KnownNames, OnApplicationShutdown {
  private snapshot: Snapshot;

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

  isAgent(name: string): boolean {
    return this.snapshot.agents.has(name);
  }

  isPipeline(name: string): boolean {
    return this.snapshot.pipelines.has(name);
  }

  async reload(): Promise<ReloadResult> {
    const loaded = await loadDefinitions(this.config.definitionsPath);
    const errors = loaded.ok ? runtimeProblems(loaded.definitions).join('\n') : formatDiagnostics(loaded.diagnostics);
    if (!loaded.ok || errors) {
      this.logger.error({ path: this.config.definitionsPath, errors }, 'definitions reload refused; the previous set stays');
      return { ok: false, errors };
    }
    const previous = this.snapshot;
    this.snapshot = this.build(loaded.definitions);
    await previous.built.tools.close();
    const result = { ok: true as const, agents: loaded.definitions.agents.length, pipelines: loaded.definitions.pipelines.length };
    this.logger.info({ path: this.config.definitionsPath, ...result }, 'definitions reloaded');
    return result;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.snapshot.built.tools.close();
  }

  private build(definitions: Definitions): Snapshot {
    return {
      definitions,
      built: buildAgents(definitions, this.config),
      agents: new Map(definitions.agents.map((agent) => [agent.name, agent])),
      pipelines: new Map(definitions.pipelines.map((pipeline) => [pipeline.name, pipeline])),
    };
  }
}

/** Start-up: load and validate, or explain why not (the server must not start on bad input). */
export async function loadInitialDefinitions(path: string): Promise<{ ok: true; definitions: Definitions; warnings: string } | { ok: false; errors: string }> {
  const loaded = await loadDefinitions(path);
  if (!loaded.ok) return { ok: false, errors: formatDiagnostics(loaded.diagnostics) };
  const problems = runtimeProblems(loaded.definitions);
  if (problems.length > 0) return { ok: false, errors: problems.map((problem) => `${path}: error: ${problem}`).join('\n') };
  return { ok: true, definitions: loaded.definitions, warnings: loaded.warnings.length ? formatDiagnostics(loaded.warnings) : '' };
}
