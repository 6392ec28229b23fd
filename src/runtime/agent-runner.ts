import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { BudgetExceededError, ClientClosedError, NotFoundError } from '../common/errors/domain-errors.js';
import { LOGGER } from '../common/logging/logging.module.js';
import { requestContext } from '../common/request-context/request-context.js';
import { replaceNul } from '../common/validation/nul-characters.js';
import type { Agent } from '../definitions/index.js';
import {
  runAgent,
  type AgentEvent,
  type AgentProfile,
  type AgentRunResult,
  type HistoryMessage,
  type ModelCaller,
} from '../engine/agent-loop.js';
import { renderPrompt } from '../engine/prompt-template.js';
import { BudgetService } from '../governance/budget.service.js';
import { GovernanceEventsRepository, type CallOrigin, type GovernanceEvent } from '../governance/governance-events.repository.js';
import type { GuardrailFinding, GuardrailSet } from '../governance/guardrails.js';
import { StreamGuard } from '../governance/stream-guard.js';
import { MetricsService } from '../metrics/metrics.service.js';
import type { ModelCallHook } from '../providers/resilient-model.js';
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
  /** The agent's guardrails, compiled when the definitions loaded. */
  readonly guardrails: GuardrailSet;
  readonly call: AgentCall;
  readonly systemPrompt?: string;
}

/** A guardrail that matched a call's input or its answer (docs/governance.md). */
export interface GuardrailOutcome {
  guardrail: string;
  mode: 'block' | 'warn';
  side: 'input' | 'output';
}

/** Sent on a stream when a guardrail replaced the answer: what was sent so far is withdrawn. */
export type GuardrailEvent = {
  type: 'guardrail';
  guardrail: string;
  side: 'input' | 'output';
  fallback: string;
};

export type RunEvent = AgentEvent | GuardrailEvent;

export interface RunOptions {
  history?: HistoryMessage[];
  signal?: AbortSignal;
  stream?: boolean;
  onEvent?: (event: RunEvent) => void | Promise<void>;
  /** Who called and through which route: named by the governance audit. */
  origin?: CallOrigin;
  /** The caller already ran `admit` (to refuse before a stream's first byte): not checked twice. */
  admitted?: boolean;
}

export interface RunResult extends AgentRunResult {
  /** Guardrails that matched, input first; empty when none did. */
  guardrails: GuardrailOutcome[];
}

const UNKNOWN_ORIGIN: CallOrigin = { endpoint: 'invoke', principal: 'unknown' };

/** The one way to run an agent, for invoke, stream, session turns and pipeline steps. */
@Injectable()
export class AgentRunner {
  constructor(
    private readonly catalog: CatalogService,
    private readonly models: ModelGateway,
    private readonly metrics: MetricsService,
    private readonly budgets: BudgetService,
    private readonly events: GovernanceEventsRepository,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** The agent (404 when unknown) and its rendered prompt (400 for a missing variable). */
  prepare(name: string, call: AgentCall): PreparedRun {
    const found = this.catalog.findAgent(name);
    if (!found) throw new NotFoundError(`Agent '${name}' does not exist.`);
    const { agent, profile, guardrails } = found;
    return { agent, profile, guardrails, call, systemPrompt: profile.prompt && renderPrompt(profile.prompt, call.variables) };
  }

  /**
   * Runs the agent loop under the agent's governance: its budget is checked before every model
   * call (429 `budget_exceeded`) and charged after each; its guardrails check the input before
   * the model is called and the answer after it (on a stream, while it is sent). Engine and
   * provider errors come out with their own codes; a run whose caller went away ends in
   * `ClientClosedError`, whatever the provider said about the abort.
   */
  async run(prepared: PreparedRun, options: RunOptions = {}): Promise<RunResult> {
    const { agent, profile, call, guardrails } = prepared;
    const origin = options.origin ?? UNKNOWN_ORIGIN;
    if (!options.admitted) await this.admitAgent(agent, origin);

    const outcomes: GuardrailOutcome[] = [];
    if (!guardrails.isEmpty) {
      const decision = guardrails.apply(call.input);
      outcomes.push(...toOutcomes(decision.findings, 'input'));
      if (decision.blocked) {
        await this.recordGuardrails(agent.name, origin, outcomes);
        await options.onEvent?.({ type: 'guardrail', guardrail: decision.blockedBy ?? '', side: 'input', fallback: decision.text });
        return { ...blockedResult(decision.text), guardrails: outcomes };
      }
    }

    const charges: Promise<unknown>[] = [];
    const streamGuard = options.stream && options.onEvent && guardrails.blockRules.length > 0 ? new StreamGuard(guardrails) : undefined;
    let result: AgentRunResult;
    try {
      result = await runAgent(this.governedModel(agent, origin), profile, {
        systemPrompt: prepared.systemPrompt,
        input: call.input,
        history: options.history,
        temperature: call.temperature,
        maxTokens: call.maxTokens,
        signal: options.signal,
        stream: options.stream,
        onEvent: streamGuard ? guardedEvents(streamGuard, options.onEvent!) : options.onEvent,
        onModelCall: agentCharge(this.budgets, agent, charges, this.logger),
      });
    } catch (error) {
      if (options.signal?.aborted) throw new ClientClosedError();
      throw error;
    } finally {
      await Promise.all(charges);
    }
    this.metrics.recordTokens(profile.name, result.usage);
    result = { ...result, output: replaceNul(result.output), toolCalls: replaceNul(result.toolCalls) };
    if (guardrails.isEmpty) return { ...result, guardrails: outcomes };

    const decision = guardrails.apply(result.output);
    const streamed = streamGuard?.finish();
    outcomes.push(...toOutcomes(decision.findings, 'output'));
    await this.recordGuardrails(agent.name, origin, outcomes);
    const blockedBy = decision.blocked ? decision.blockedBy : streamed?.blocked ? streamed.blockedBy : undefined;
    if (blockedBy === undefined) {
      if (streamed?.text) await options.onEvent?.({ type: 'token', content: streamed.text });
      return { ...result, guardrails: outcomes };
    }
    const fallback = decision.blocked ? decision.text : streamed!.text;
    if (!outcomes.some((o) => o.side === 'output' && o.guardrail === blockedBy)) {
      outcomes.push({ guardrail: blockedBy, mode: 'block', side: 'output' });
    }
    if (options.stream) await options.onEvent?.({ type: 'guardrail', guardrail: blockedBy, side: 'output', fallback });
    return { ...result, output: fallback, finishReason: 'content_filter', guardrails: outcomes };
  }

  /**
   * 429 `budget_exceeded` once the agent's budget is spent, before anything is sent: streams and
   * session turns call it before their first byte or their claim, then run with `admitted`.
   */
  admit(prepared: PreparedRun, origin: CallOrigin): Promise<void> {
    return this.admitAgent(prepared.agent, origin);
  }

  /** The refusal is audited. Agents without a budget pass at no cost. */
  private async admitAgent(agent: Agent, origin: CallOrigin): Promise<void> {
    if (!agent.budget) return;
    try {
      await this.budgets.assertWithinBudget(agent);
    } catch (error) {
      if (error instanceof BudgetExceededError) {
        const event: GovernanceEvent = {
          kind: 'budget',
          agent: agent.name,
          name: error.period,
          action: 'refuse',
          origin,
          correlationId: requestContext.correlationId() ?? '',
          detail: { limit_usd: error.limitUsd, resets_at: error.resetsAt.toISOString() },
        };
        await this.events.insertMany([event]).catch((failure: unknown) => this.auditFailed(failure));
      }
      throw error;
    }
  }

  /**
   * The agent's models, with its budget checked again before each model call after the first
   * (the first was checked by `admit`), so that a long tool loop stops at the limit too.
   */
  private governedModel(agent: Agent, origin: CallOrigin): ModelCaller {
    const model = this.models.forAgent(agent.name);
    if (!agent.budget) return model;
    let first = true;
    const check = async (): Promise<void> => {
      if (first) first = false;
      else await this.admitAgent(agent, origin);
    };
    return {
      chat: async (c) => {
        await check();
        return model.chat(c);
      },
      stream: async function* (c) {
        await check();
        yield* model.stream(c);
      },
    };
  }

  private async recordGuardrails(agent: string, origin: CallOrigin, outcomes: readonly GuardrailOutcome[]): Promise<void> {
    if (outcomes.length === 0) return;
    const correlationId = requestContext.correlationId() ?? '';
    for (const outcome of outcomes) this.metrics.recordGuardrail(agent, outcome.guardrail, outcome.mode);
    await this.events.insertMany(
      outcomes.map(
        (outcome): GovernanceEvent => ({
          kind: 'guardrail',
          agent,
          name: outcome.guardrail,
          action: outcome.mode,
          side: outcome.side,
          origin,
          correlationId,
        }),
      ),
    );
  }

  private auditFailed(error: unknown): void {
    this.logger.error({ err_message: (error as Error).message }, 'could not write a governance audit row');
  }
}

/** One outcome per guardrail and side, whatever the number of its keywords and patterns that matched. */
function toOutcomes(findings: readonly GuardrailFinding[], side: 'input' | 'output'): GuardrailOutcome[] {
  const seen = new Map<string, GuardrailOutcome>();
  for (const finding of findings) {
    if (!seen.has(finding.guardrail)) seen.set(finding.guardrail, { guardrail: finding.guardrail, mode: finding.mode, side });
  }
  return [...seen.values()];
}

function blockedResult(fallback: string): AgentRunResult {
  return {
    output: fallback,
    usage: { inputTokens: 0, outputTokens: 0, totalTokens: 0 },
    toolCalls: [],
    turns: 0,
    finishReason: 'content_filter',
    durationMs: 0,
  };
}

/** Tokens pass through the stream guard; tool events go out at once. */
function guardedEvents(guard: StreamGuard, send: (event: RunEvent) => void | Promise<void>): (event: AgentEvent) => void | Promise<void> {
  return (event) => {
    if (event.type !== 'token') return send(event);
    const text = guard.push(event.content);
    return text ? send({ type: 'token', content: text }) : undefined;
  };
}

/**
 * Charges each answered model call to the agent's budget. The hook must not throw, so a failed
 * write is logged (the answer the caller paid for is not withheld) and the run waits for the
 * writes before it answers.
 */
function agentCharge(budgets: BudgetService, agent: Agent, charges: Promise<unknown>[], logger: Logger): ModelCallHook {
  return (record) => {
    if (record.outcome !== 'ok' || !record.usage) return;
    charges.push(
      budgets.record(agent, record.provider, record.model, record.usage).catch((error: unknown) => {
        logger.error({ agent: agent.name, err_message: (error as Error).message }, 'could not record the cost of a model call');
      }),
    );
  };
}
