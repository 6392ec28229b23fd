import { Injectable } from '@nestjs/common';
import { ClientClosedError, NotFoundError } from '../common/errors/domain-errors.js';
import { replaceNul } from '../common/validation/nul-characters.js';
import type { Agent } from '../definitions/index.js';
import { runAgent, type AgentEvent, type AgentProfile, type AgentRunResult, type HistoryMessage } from '../engine/agent-loop.js';
import { renderPrompt } from '../engine/prompt-template.js';
import { MetricsService } from '../metrics/metrics.service.js';
import type { AgentCall } from './agent-call.js';
import { CatalogService } from './catalog.service.js';
import { ModelGateway } from './model-gateway.js';

/**
 * An agent call checked against the definitions being served, with its system prompt rendered:
 * everything that can be refused without a model call has been refused by then.
 */
export interface PreparedRun {
  readonly agent: Agent;
  readonly profile: AgentProfile;
  readonly call: AgentCall;
  readonly systemPrompt?: string;
}

export interface RunOptions {
  history?: HistoryMessage[];
  signal?: AbortSignal;
  stream?: boolean;
  onEvent?: (event: AgentEvent) => void | Promise<void>;
}

/** The one way to run an agent, for invoke, stream, session turns and pipeline steps. */
@Injectable()
export class AgentRunner {
  constructor(
    private readonly catalog: CatalogService,
    private readonly models: ModelGateway,
    private readonly metrics: MetricsService,
  ) {}

  /** The agent (404 when unknown) and its rendered prompt (400 for a missing variable). */
  prepare(name: string, call: AgentCall): PreparedRun {
    const found = this.catalog.findAgent(name);
    if (!found) throw new NotFoundError(`Agent '${name}' does not exist.`);
    const { agent, profile } = found;
    return { agent, profile, call, systemPrompt: profile.prompt && renderPrompt(profile.prompt, call.variables) };
  }

  /**
   * Runs the agent loop. Engine and provider errors come out with their own codes; a run whose
   * caller went away ends in `ClientClosedError`, whatever the provider said about the abort.
   */
  async run(prepared: PreparedRun, options: RunOptions = {}): Promise<AgentRunResult> {
    const { profile, call } = prepared;
    let result: AgentRunResult;
    try {
      result = await runAgent(this.models.forAgent(profile.name), profile, {
        systemPrompt: prepared.systemPrompt,
        input: call.input,
        history: options.history,
        temperature: call.temperature,
        maxTokens: call.maxTokens,
        signal: options.signal,
        stream: options.stream,
        onEvent: options.onEvent,
      });
    } catch (error) {
      if (options.signal?.aborted) throw new ClientClosedError();
      throw error;
    }
    this.metrics.recordTokens(profile.name, result.usage);
    return { ...result, output: replaceNul(result.output), toolCalls: replaceNul(result.toolCalls) };
  }
}
