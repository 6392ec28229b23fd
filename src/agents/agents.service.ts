import { Injectable } from '@nestjs/common';
import { maySeeAgent } from '../auth/access.js';
import { isPipelineVisible, requireAgentUse } from '../auth/authorization.js';
import type { Principal } from '../auth/principal.js';
import { toToolCallDto, toUsageDto } from '../common/dto/agent-run.dto.js';
import { ClientClosedError, NotFoundError } from '../common/errors/domain-errors.js';
import { errorCodeOf } from '../common/errors/error-table.js';
import { requestContext } from '../common/request-context/request-context.js';
import type { AgentRunResult } from '../engine/agent-loop.js';
import { ZERO_USAGE } from '../providers/model-provider.js';
import type { AgentCall } from '../runtime/agent-call.js';
import { AgentRunner, type PreparedRun, type RunOptions } from '../runtime/agent-runner.js';
import { CatalogService } from '../runtime/catalog.service.js';
import { AgentSummaryDto, InvokeAgentResponseDto, ListAgentsResponseDto } from './dto/agent-responses.dto.js';
import { InvocationsRepository } from './invocations.repository.js';

@Injectable()
export class AgentsService {
  constructor(
    private readonly catalog: CatalogService,
    private readonly runner: AgentRunner,
    private readonly invocations: InvocationsRepository,
  ) {}

  /** The agents this caller may see (docs/security.md "Authorization"), in definition order. */
  list(principal: Principal): ListAgentsResponseDto {
    const visiblePipelines = new Set(
      this.catalog
        .listPipelines()
        .filter((pipeline) => isPipelineVisible(principal, pipeline))
        .map((pipeline) => pipeline.name),
    );
    return {
      agents: this.catalog
        .listAgents()
        .filter((agent) => maySeeAgent(principal.access, agent.name))
        .map(
          (agent): AgentSummaryDto => ({
            name: agent.name,
            model: agent.model,
            skills: agent.skills,
            status: 'ready',
            ...(agent.description !== undefined ? { description: agent.description } : {}),
            ...(agent.strategy !== undefined ? { strategy: agent.strategy } : {}),
            models: agent.models,
            pipelines: this.catalog.pipelinesUsing(agent.name).filter((name) => visiblePipelines.has(name)),
          }),
        ),
    };
  }

  /**
   * Checks that the agent exists (404) and that the caller may use it (403), then resolves the
   * call (400 for a missing prompt variable). Nothing has run yet.
   */
  prepare(name: string, call: AgentCall, principal: Principal): PreparedRun {
    if (!this.catalog.isAgent(name)) throw new NotFoundError(`Agent '${name}' does not exist.`);
    requireAgentUse(principal, name);
    return this.runner.prepare(name, call);
  }

  /** A stateless call (invoke or stream) of a prepared agent, audited once it is done. */
  async invoke(prepared: PreparedRun, principal: Principal, endpoint: 'invoke' | 'stream', options: RunOptions = {}): Promise<AgentRunResult> {
    const started = performance.now();
    const audit = (status: 'completed' | 'failed' | 'cancelled', result?: AgentRunResult, errorCode?: string) =>
      this.invocations.record({
        agent: prepared.profile.name,
        endpoint,
        principal: principal.id,
        status,
        errorCode,
        usage: result?.usage ?? ZERO_USAGE,
        durationMs: performance.now() - started,
        correlationId: requestContext.correlationId() ?? '',
        input: prepared.call.input,
        output: result?.output,
      });
    let result: AgentRunResult;
    try {
      result = await this.runner.run(prepared, options);
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
export function toInvokeResponse(result: AgentRunResult): InvokeAgentResponseDto {
  return {
    output: result.output,
    usage: toUsageDto(result.usage),
    tool_calls: result.toolCalls.map(toToolCallDto),
    turns: result.turns,
    duration_ms: result.durationMs,
    finish_reason: result.finishReason,
  };
}
