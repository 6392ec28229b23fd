import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { maySeeAgent } from '../auth/access.js';
import { isPipelineVisible, requireAgentUse } from '../auth/authorization.js';
import type { Principal } from '../auth/principal.js';
import { toAnswerExtras, toToolCallDto, toUsageDto } from '../common/dto/agent-run.dto.js';
import { ClientClosedError, NotFoundError } from '../common/errors/domain-errors.js';
import { errorCodeOf } from '../common/errors/error-table.js';
import { LOGGER } from '../common/logging/logging.module.js';
import { requestLogFields } from '../common/request-context/request-context.js';
import { BudgetService } from '../governance/budget.service.js';
import { ZERO_USAGE } from '../providers/model-provider.js';
import type { AgentCall } from '../runtime/agent-call.js';
import { AgentRunner, type PreparedRun, type RunOptions, type RunResult } from '../runtime/agent-runner.js';
import { CatalogService } from '../runtime/catalog.service.js';
import { AgentSummaryDto, InvokeAgentResponseDto, ListAgentsResponseDto } from './dto/agent-responses.dto.js';
import { InvocationsRepository } from './invocations.repository.js';
import { shorten } from '../common/validation/request-values.js';

@Injectable()
export class AgentsService {
  constructor(
    private readonly catalog: CatalogService,
    private readonly runner: AgentRunner,
    private readonly invocations: InvocationsRepository,
    private readonly budgets: BudgetService,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /**
   * The agents this caller may see (docs/security.md "Authorization"), in definition order, with
   * their spend. Spend is left out, not refused, while the database cannot be read.
   */
  async list(principal: Principal, correlationId: string): Promise<ListAgentsResponseDto> {
    const visiblePipelines = new Set(
      this.catalog
        .listPipelines()
        .filter((pipeline) => isPipelineVisible(principal, pipeline))
        .map((pipeline) => pipeline.name),
    );
    const agents = this.catalog.listAgents().filter((agent) => maySeeAgent(principal.access, agent.name));
    const spend = await this.budgets.spendFor(agents).catch((error: unknown) => {
      this.logger.warn(
        { ...requestLogFields(correlationId, principal.id), err_message: (error as Error).message },
        'agent spend left out of the listing: the database could not be read',
      );
      return undefined;
    });
    const environment = this.catalog.definitions.environment;
    return {
      agents: agents.map((agent): AgentSummaryDto => {
        const agentSpend = spend?.get(agent.name);
        return {
          name: agent.name,
          model: agent.model,
          skills: agent.skills,
          status: 'ready',
          ...(agent.description !== undefined ? { description: agent.description } : {}),
          ...(agent.strategy !== undefined ? { strategy: agent.strategy } : {}),
          models: agent.models,
          pipelines: this.catalog.pipelinesUsing(agent.name).filter((name) => visiblePipelines.has(name)),
          guardrails: [...new Set(agent.guardrails)],
          ...(agentSpend ? { spend: agentSpend } : {}),
        };
      }),
      ...(environment !== undefined ? { environment } : {}),
    };
  }

  /**
   * Checks that the agent exists (404) and that the caller may use it (403), then resolves the
   * call (400 for a missing prompt variable). Nothing has run yet.
   */
  prepare(name: string, call: AgentCall, principal: Principal): PreparedRun {
    if (!this.catalog.isAgent(name)) throw new NotFoundError(`Agent '${shorten(name)}' does not exist.`);
    requireAgentUse(principal, name);
    return this.runner.prepare(name, call);
  }

  /** Refuses a call over its agent's budget (429) before a stream sends its first byte. */
  admit(prepared: PreparedRun, principal: Principal, endpoint: 'invoke' | 'stream', correlationId: string): Promise<void> {
    return this.runner.admit(prepared, { endpoint, principal: principal.id, correlationId });
  }

  /** A stateless call (invoke or stream) of a prepared agent in the request `correlationId`, audited once it is done. */
  async invoke(
    prepared: PreparedRun,
    principal: Principal,
    endpoint: 'invoke' | 'stream',
    correlationId: string,
    options: RunOptions = {},
  ): Promise<RunResult> {
    const started = performance.now();
    const audit = (status: 'completed' | 'failed' | 'cancelled', result?: RunResult, errorCode?: string) =>
      this.invocations.record({
        agent: prepared.profile.name,
        endpoint,
        principal: principal.id,
        status,
        errorCode,
        usage: result?.usage ?? ZERO_USAGE,
        durationMs: performance.now() - started,
        correlationId,
        input: result?.storedInput ?? prepared.call.input,
        output: result?.output,
      });
    let result: RunResult;
    try {
      result = await this.runner.run(prepared, { ...options, origin: { endpoint, principal: principal.id, correlationId } });
    } catch (error) {
      const status = error instanceof ClientClosedError ? 'cancelled' : 'failed';
      await audit(status, undefined, errorCodeOf(error)).catch(() => undefined);
      throw error;
    }
    await audit('completed', result);
    return result;
  }
}

/** The JSON answer of invoke. */
export function toInvokeResponse(result: RunResult): InvokeAgentResponseDto {
  return {
    output: result.output,
    usage: toUsageDto(result.usage),
    tool_calls: result.toolCalls.map(toToolCallDto),
    turns: result.turns,
    duration_ms: result.durationMs,
    finish_reason: result.finishReason,
    ...toAnswerExtras(result),
  };
}
