import { Injectable } from '@nestjs/common';
import type { Principal } from '../auth/principal.js';
import { CatalogService } from '../catalog/catalog.service.js';
import { ClientClosedError, InternalError, InvalidRequestError, NotFoundError } from '../common/errors/api-error.js';
import { requestContext } from '../common/request-context/request-context.js';
import { replaceNul } from '../common/validation/nul-characters.js';
import type { Agent } from '../definitions/index.js';
import { runAgent, type AgentEvent, type AgentProfile, type AgentRunResult, type HistoryMessage } from '../engine/agent-loop.js';
import { MissingPromptVariableError, renderPrompt } from '../engine/prompt-template.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { ProviderError } from '../providers/model-provider.js';
import { AgentSummaryDto, ListAgentsResponseDto } from './dto/agent-responses.dto.js';
import { InvokeAgentDto } from './dto/invoke-agent.dto.js';
import { InvocationsRepository } from './invocations.repository.js';
import { ModelGateway } from './model-gateway.js';

/** A call, normalised from the request body and its compatibility aliases. */
export interface AgentCall {
  input: string;
  variables: Record<string, string>;
  temperature?: number;
  maxTokens?: number;
  sessionId?: string;
}

export interface RunOptions {
  history?: HistoryMessage[];
  signal?: AbortSignal;
  stream?: boolean;
  onEvent?: (event: AgentEvent) => void | Promise<void>;
}

@Injectable()
export class AgentsService {
  constructor(
    private readonly catalog: CatalogService,
    private readonly models: ModelGateway,
    private readonly metrics: MetricsService,
    private readonly invocations: InvocationsRepository,
  ) {}

  list(): ListAgentsResponseDto {
    return {
      agents: this.catalog.listAgents().map(
        (agent): AgentSummaryDto => ({
          name: agent.name,
          model: agent.model,
          skills: agent.skills,
          status: 'ready',
          ...(agent.description !== undefined ? { description: agent.description } : {}),
          ...(agent.strategy !== undefined ? { strategy: agent.strategy } : {}),
          models: agent.models,
          pipelines: this.catalog.pipelinesUsing(agent.name),
        }),
      ),
    };
  }

  /** The agent, or 404 in the documented words. */
  resolve(name: string): { agent: Agent; profile: AgentProfile } {
    const found = this.catalog.findAgent(name);
    if (!found) throw new NotFoundError(`Agent '${name}' does not exist.`);
    return found;
  }

  static callFrom(body: InvokeAgentDto): AgentCall {
    return {
      input: (body.input ?? body.message)!,
      variables: { ...body.variables, ...body.options?.variables },
      temperature: body.options?.temperature,
      maxTokens: body.options?.max_tokens,
      sessionId: body.session_id,
    };
  }

  /**
   * The agent for a call, once everything that can be refused without a model call has been
   * checked (404, missing prompt variables): before an SSE stream starts or a session is claimed.
   */
  prepare(name: string, call: AgentCall): { agent: Agent; profile: AgentProfile } {
    const found = this.resolve(name);
    this.checkVariables(found.profile, call);
    return found;
  }

  private checkVariables(profile: AgentProfile, call: AgentCall): void {
    if (!profile.prompt) return;
    try {
      renderPrompt(profile.prompt, call.variables);
    } catch (error) {
      if (error instanceof MissingPromptVariableError) throw new InvalidRequestError(error.message);
      throw error;
    }
  }

  /** Runs the agent loop; engine and provider errors come out as they are (pipelines keep them). */
  async execute(profile: AgentProfile, call: AgentCall, options: RunOptions = {}): Promise<AgentRunResult> {
    const result = await runAgent(this.models.forAgent(profile.name), profile, {
      input: call.input,
      history: options.history,
      variables: call.variables,
      temperature: call.temperature,
      maxTokens: call.maxTokens,
      signal: options.signal,
      stream: options.stream,
      onEvent: options.onEvent,
    });
    this.metrics.recordTokens(profile.name, result.usage);
    return { ...result, output: replaceNul(result.output), tool_calls: replaceNul(result.tool_calls) };
  }

  /** Runs the agent loop, mapping engine failures onto API errors. */
  async run(profile: AgentProfile, call: AgentCall, options: RunOptions = {}): Promise<AgentRunResult> {
    try {
      return await this.execute(profile, call, options);
    } catch (error) {
      if (options.signal?.aborted) throw new ClientClosedError();
      if (error instanceof MissingPromptVariableError) throw new InvalidRequestError(error.message);
      if (error instanceof ProviderError) throw new InternalError(error.message);
      throw error;
    }
  }

  /** A stateless call (invoke or stream) of a prepared agent, audited once it is done. */
  async invoke(
    profile: AgentProfile,
    call: AgentCall,
    principal: Principal,
    endpoint: 'invoke' | 'stream',
    options: RunOptions = {},
  ): Promise<AgentRunResult> {
    const started = performance.now();
    const audit = (status: 'completed' | 'failed' | 'cancelled', result?: AgentRunResult, errorCode?: string) =>
      this.invocations.record({
        agent: profile.name,
        endpoint,
        principal: principal.id,
        status,
        errorCode,
        inputTokens: result?.usage.input_tokens ?? 0,
        outputTokens: result?.usage.output_tokens ?? 0,
        durationMs: performance.now() - started,
        correlationId: requestContext.correlationId() ?? '',
        input: call.input,
        output: result?.output,
      });
    let result: AgentRunResult;
    try {
      result = await this.run(profile, call, options);
    } catch (error) {
      const status = error instanceof ClientClosedError ? 'cancelled' : 'failed';
      const code = (error as { code?: string }).code ?? 'internal_error';
      await audit(status, undefined, code).catch(() => undefined);
      throw error;
    }
    await audit('completed', result);
    return result;
  }
}
