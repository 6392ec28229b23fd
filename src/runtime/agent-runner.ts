import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { BudgetExceededError, ClientClosedError, NotFoundError, ValidationFailedError } from '../common/errors/domain-errors.js';
import { LOGGER } from '../common/logging/logging.module.js';
import { shorten, toStorableText } from '../common/validation/request-values.js';
import { MAX_DELEGATION_DEPTH, type Agent, type ConfigValue, type ExprContext, type ExprSession } from '../definitions/index.js';
import {
  runAgent,
  type AgentEvent,
  type AgentProfile,
  type AgentRunResult,
  type HistoryMessage,
  type ModelCaller,
  type ToolCallRecord,
  runToolCall,
} from '../engine/agent-loop.js';
import { renderPrompt } from '../engine/prompt-template.js';
import { BudgetService } from '../governance/budget.service.js';
import {
  GovernanceEventsRepository,
  originLogFields,
  type CallOrigin,
  type GovernanceEvent,
} from '../governance/governance-events.repository.js';
import type { GuardrailSet } from '../governance/guardrails.js';
import { MetricsService } from '../metrics/metrics.service.js';
import type { ModelCallHook } from '../providers/resilient-model.js';
import type { ToolSpec } from '../providers/model-provider.js';
import { ZERO_USAGE, addUsage } from '../providers/model-provider.js';
import type { AgentCall } from './agent-call.js';
import { checkRules, repromptFor, runOnInput, type AgentBehaviour, type CompiledRule } from './agent-behaviour.js';
import { CatalogService } from './catalog.service.js';
import { GuardedCall, withheldInput, type GuardrailOutcome, type RunEvent } from './guarded-call.js';
import { ModelGateway } from './model-gateway.js';

export type { GuardrailEvent, GuardrailOutcome, RunEvent } from './guarded-call.js';

/**
 * An agent call checked against the definitions being served, with its system prompt rendered:
 * everything that can be refused without a model call has been refused by then.
 */
export interface PreparedRun {
  readonly agent: Agent;
  readonly profile: AgentProfile;
  /** The agent's guardrails, compiled when the definitions loaded. */
  readonly guardrails: GuardrailSet;
  /** Its `on input` and `validate` blocks, compiled when the definitions loaded. */
  readonly behaviour: AgentBehaviour;
  /** Its config values, as expressions read them (`config.name`). */
  readonly config: Readonly<Record<string, ConfigValue>>;
  readonly call: AgentCall;
  readonly systemPrompt?: string;
}

export interface RunOptions {
  history?: HistoryMessage[];
  signal?: AbortSignal;
  stream?: boolean;
  onEvent?: (event: RunEvent) => void | Promise<void>;
  /** Who called and through which route: named by the governance audit. */
  origin?: CallOrigin;
  /** The caller already ran `admit` (to refuse before a stream's first byte): not checked twice. */
  admitted?: boolean;
  /** The session of a turn, as expressions read it (`session.id`, `session.turn`). */
  session?: ExprSession;
  /** How many delegations led to this run: 0 for a caller's own call. */
  depth?: number;
}

/** A `warning` rule of the agent's `validate` block that the answer breaks. */
export interface RuleWarning {
  rule: string;
  message: string;
}

export interface RunResult extends AgentRunResult {
  /** Guardrails that matched, input first; empty when none did. */
  guardrails: GuardrailOutcome[];
  /** The input as sessions and the audit store it: a blocked input is replaced by a marker. */
  storedInput: string;
  /** Broken `warning` rules of the agent's `validate` block; empty when none. */
  warnings: RuleWarning[];
  /** The agent whose answer this is, when an `on input` `delegate to` handed the call on. */
  answeredBy?: string;
}

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
    if (!found) throw new NotFoundError(`Agent '${shorten(name)}' does not exist.`);
    const { agent, profile, guardrails, behaviour, config } = found;
    return {
      agent,
      profile,
      guardrails,
      behaviour,
      config,
      call,
      systemPrompt: profile.prompt && renderPrompt(profile.prompt, call.variables),
    };
  }

  /**
   * Runs the agent loop under the agent's governance: its budget is checked before every model
   * call (429 `budget_exceeded`) and charged after each; its guardrails check the input before
   * the model is called and the answer after it (on a stream, while it is sent). Engine and
   * provider errors come out with their own codes; a run whose caller went away ends in
   * `ClientClosedError`, whatever the provider said about the abort.
   */
  async run(prepared: PreparedRun, options: RunOptions & { origin: CallOrigin }): Promise<RunResult> {
    const { agent, profile, call } = prepared;
    const origin = options.origin;
    // Agents without a budget pass at no cost, not even an awaited promise.
    if (!options.admitted && agent.budget) await this.admitAgent(agent, origin);
    const started = performance.now();

    const guard = new GuardedCall(prepared.guardrails, Boolean(options.stream));
    const refused = guard.input(call.input);
    if (refused) {
      await this.recordGuardrails(agent.name, origin, guard.outcomes);
      await options.onEvent?.({ type: 'guardrail', guardrail: refused.blockedBy, side: 'input', fallback: refused.fallback });
      return {
        ...blockedResult(refused.fallback),
        guardrails: guard.outcomes,
        storedInput: withheldInput(refused.blockedBy),
        warnings: [],
      };
    }

    const send = guard.events(options.onEvent);
    const context: ExprContext = { input: call.input, session: options.session ?? null, config: prepared.config };
    const charges = new Charges(this.budgets, agent, this.logger, origin, estimatedPromptChars(prepared, options.history));
    let answered: Answered;
    try {
      answered = await this.answer(prepared, options, { send, context, charges, origin });
    } catch (error) {
      if (options.signal?.aborted) throw new ClientClosedError();
      throw error;
    } finally {
      if (charges.pending.length > 0) await charges.settled();
    }
    let result: AgentRunResult = { ...answered.result, durationMs: Math.round(performance.now() - started) };
    // A delegate's run counted its own tokens.
    if (answered.delegated === undefined) this.metrics.recordTokens(profile.name, result.usage);
    result = { ...result, output: toStorableText(result.output), toolCalls: guard.toolCalls(toStorableText(result.toolCalls)) };
    // Handed over: what the delegate's guardrails withheld stays withheld, and they are reported.
    const storedInput = answered.delegated?.storedInput ?? call.input;
    const delegatedGuardrails = answered.delegated?.guardrails ?? [];
    const extra = { warnings: answered.warnings, ...(answered.delegated ? { answeredBy: answered.delegated.answeredBy } : {}) };
    if (guard.isEmpty) return { ...result, guardrails: delegatedGuardrails, storedInput, ...extra };

    const checked = guard.output(result.output);
    await this.recordGuardrails(agent.name, origin, guard.outcomes);
    const guardrails = [...guard.outcomes, ...delegatedGuardrails];
    if (!checked.blocked) {
      if (checked.tail) await options.onEvent?.({ type: 'token', content: checked.tail });
      return { ...result, guardrails, storedInput, ...extra };
    }
    const { guardrail, fallback } = checked.blocked;
    if (options.stream && !guard.isWithdrawn) await options.onEvent?.({ type: 'guardrail', guardrail, side: 'output', fallback });
    return { ...result, output: fallback, finishReason: 'content_filter', guardrails, storedInput, ...extra };
  }

  /**
   * The answer before the output guardrails: the `on input` block first (docs/agents.md "On
   * input"), which may answer itself (`respond`), hand the call to another agent (`delegate
   * to`) or run skills whose results the model then gets; otherwise, or after the skills, the
   * agent's strategy, answered again while `error` rules of its `validate` block are broken.
   */
  private async answer(prepared: PreparedRun, options: RunOptions, run: AnswerContext): Promise<Answered> {
    const { behaviour, call } = prepared;
    const skillCalls: ToolCallRecord[] = [];
    if (behaviour.onInput) {
      const outcome = await runOnInput(behaviour.onInput, run.context, {
        useSkill: async (skill, args) => {
          skillCalls.push(await this.useSkill(prepared, skill, args, run.send, options.signal));
        },
      });
      if (outcome.kind === 'respond') {
        const text = outcome.text.length > 0 ? outcome.text : ' ';
        if (options.stream) await run.send?.({ type: 'token', content: text });
        return { result: { ...answerOf(text), toolCalls: skillCalls }, warnings: [] };
      }
      if (outcome.kind === 'delegate') {
        const delegated = await this.delegate(prepared, outcome.agent, options, run);
        return {
          result: { ...delegated, toolCalls: [...skillCalls, ...delegated.toolCalls] },
          warnings: delegated.warnings,
          delegated: {
            answeredBy: delegated.answeredBy ?? outcome.agent,
            storedInput: delegated.storedInput,
            guardrails: delegated.guardrails,
          },
        };
      }
    }
    const input = skillCalls.length > 0 ? withSkillResults(call.input, skillCalls) : call.input;
    const answered = await this.validated(prepared, input, options, run);
    return { ...answered, result: { ...answered.result, toolCalls: [...skillCalls, ...answered.result.toolCalls] } };
  }

  /**
   * Runs the strategy, then checks the `validate` rules on the answer. Broken `error` rules make
   * the model answer again, told which, up to the smallest `max_retries` among them; then 422
   * `validation_failed`. On a stream of an agent with `error` rules, an answer's tokens are held
   * until it passes (a rejected answer is never sent).
   */
  private async validated(
    prepared: PreparedRun,
    input: string,
    options: RunOptions,
    run: AnswerContext,
  ): Promise<{ result: AgentRunResult; warnings: RuleWarning[] }> {
    const { agent, behaviour } = prepared;
    const model = this.governedModel(agent, run.origin, run.charges);
    const profile = this.withDelegates(prepared, options, run);
    const holdTokens = Boolean(options.stream) && behaviour.rules.some((rule) => rule.severity === 'error');
    let history = options.history;
    let attemptInput = input;
    let total: AgentRunResult | undefined;
    for (let attempt = 1; ; attempt++) {
      const held: string[] = [];
      const events: ((event: AgentEvent) => void | Promise<void>) | undefined =
        holdTokens && run.send ? (event) => (event.type === 'token' ? void held.push(event.content) : run.send!(event)) : run.send;
      const result = await runAgent(model, profile, {
        systemPrompt: prepared.systemPrompt,
        input: attemptInput,
        history,
        temperature: prepared.call.temperature,
        maxTokens: prepared.call.maxTokens,
        signal: options.signal,
        stream: options.stream,
        onEvent: run.charges.counting(events),
        onModelCall: run.charges.hook,
      });
      total = total ? combined(total, result) : result;
      if (behaviour.rules.length === 0) return { result: total, warnings: [] };
      const broken = checkRules(behaviour.rules, { ...run.context, output: result.output });
      if (broken.errors.length === 0) {
        if (held.length > 0) await run.send?.({ type: 'token', content: held.join('') });
        await this.recordRules(agent.name, run.origin, broken.warnings, 'warn');
        return { result: { ...total, output: result.output, finishReason: result.finishReason }, warnings: broken.warnings.map(toWarning) };
      }
      const allowed = Math.min(...broken.errors.map((rule) => rule.maxRetries));
      if (attempt > allowed) {
        await this.recordRules(agent.name, run.origin, broken.errors, 'refuse');
        throw new ValidationFailedError(agent.name, broken.errors, attempt);
      }
      await this.recordRules(agent.name, run.origin, broken.errors, 'retry');
      history = [...(history ?? []), { role: 'user', content: attemptInput }, { role: 'assistant', content: result.output }];
      attemptInput = repromptFor(broken.errors);
    }
  }

  /** Runs one of the agent's skills for its `on input` block, with the events the loop would send. */
  private async useSkill(
    prepared: PreparedRun,
    skill: string,
    args: Record<string, unknown> | undefined,
    send: AnswerContext['send'],
    signal: AbortSignal | undefined,
  ): Promise<ToolCallRecord> {
    // A caller that left starts no more tools.
    if (signal?.aborted) throw new ClientClosedError();
    const entry = prepared.profile.tools.find((tool) => tool.spec.name === skill);
    return runToolCall(entry, skill, args ?? defaultArguments(entry?.spec, prepared.call.input), { signal, onEvent: send });
  }

  /**
   * Hands the call to another agent, which runs under its own prompt, tools, guardrails and
   * budget; its answer is this call's answer. The hand-over shows in `tool_calls` as
   * `delegate_to_<agent>`.
   */
  private async delegate(prepared: PreparedRun, target: string, options: RunOptions, run: AnswerContext): Promise<RunResult> {
    const { call } = prepared;
    const depth = (options.depth ?? 0) + 1;
    if (depth > MAX_DELEGATION_DEPTH) {
      throw new Error(`delegation from agent "${prepared.agent.name}" to "${target}" goes deeper than ${MAX_DELEGATION_DEPTH} agents`);
    }
    const started = performance.now();
    // The whole call goes over: the input, the caller's options and the session's memory.
    const handed = this.prepare(target, { input: call.input, variables: {}, temperature: call.temperature, maxTokens: call.maxTokens });
    await this.recordDelegation(prepared.agent.name, target, run.origin, depth);
    const result = await this.run(handed, {
      signal: options.signal,
      stream: options.stream,
      onEvent: run.send,
      origin: run.origin,
      session: options.session,
      history: options.history,
      depth,
    });
    const record: ToolCallRecord = {
      name: delegateToolName(target),
      arguments: { request: call.input },
      output: result.output,
      durationMs: Math.round(performance.now() - started),
    };
    return { ...result, toolCalls: [...result.toolCalls, record] };
  }

  /**
   * The profile with the agent's `delegate to agent "x" when "…"` rules offered to the model as
   * tools `delegate_to_x` (the `when` text is their description): the delegate runs under its own
   * governance and its answer goes back to the model as the tool's result.
   */
  private withDelegates(prepared: PreparedRun, options: RunOptions, run: AnswerContext): AgentProfile {
    const { agent, profile } = prepared;
    if (agent.delegates.length === 0) return profile;
    const depth = (options.depth ?? 0) + 1;
    const tools = agent.delegates.map((delegation) => ({
      spec: delegateToolSpec(delegation.agent, delegation.when),
      tool: {
        name: delegateToolName(delegation.agent),
        run: async (args: Record<string, unknown>, context: { signal?: AbortSignal }) => {
          if (depth > MAX_DELEGATION_DEPTH)
            return { output: '', error: `Delegation is limited to ${MAX_DELEGATION_DEPTH} agents in a row.` };
          const request = typeof args.request === 'string' && args.request.trim() !== '' ? args.request : prepared.call.input;
          try {
            const handed = this.prepare(delegation.agent, { input: request, variables: {} });
            await this.recordDelegation(agent.name, delegation.agent, run.origin, depth);
            const result = await this.run(handed, {
              signal: context.signal ?? options.signal,
              origin: run.origin,
              session: options.session,
              depth,
            });
            return { output: result.output };
          } catch (error) {
            return { output: '', error: `Agent "${delegation.agent}" failed: ${(error as Error).message}` };
          }
        },
      },
    }));
    return { ...profile, tools: [...profile.tools, ...tools] };
  }

  /** A hand-over to another agent, in the audit: which agent answered what is traceable. */
  private async recordDelegation(agent: string, target: string, origin: CallOrigin, depth: number): Promise<void> {
    await this.audit([{ kind: 'delegation', agent, name: target, action: 'delegate', origin, detail: { depth } }]);
  }

  private async recordRules(
    agent: string,
    origin: CallOrigin,
    rules: readonly CompiledRule[],
    action: 'warn' | 'retry' | 'refuse',
  ): Promise<void> {
    await this.audit(rules.map((rule) => ({ kind: 'validation', agent, name: rule.name, action, origin })));
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
        const detail = { limit_usd: error.limitUsd, resets_at: error.resetsAt.toISOString() };
        await this.audit([{ kind: 'budget', agent: agent.name, name: error.period, action: 'refuse', origin, detail }]);
      }
      throw error;
    }
  }

  /**
   * The agent's models, with its budget checked again before each model call after the first
   * (the first was checked by `admit`), so that a long tool loop stops at the limit too.
   * `charges` is the run's: declared before this is called.
   */
  private governedModel(agent: Agent, origin: CallOrigin, charges: Charges): ModelCaller {
    const model = this.models.forAgent(agent.name, origin);
    if (!agent.budget) return model;
    let first = true;
    const check = async (): Promise<void> => {
      if (first) {
        first = false;
        return;
      }
      // The previous call's charge is counted before the limit is read again.
      await charges.settled();
      await this.admitAgent(agent, origin);
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

  /** Counts and audits the call's guardrail matches. */
  private async recordGuardrails(agent: string, origin: CallOrigin, outcomes: readonly GuardrailOutcome[]): Promise<void> {
    for (const outcome of outcomes) this.metrics.recordGuardrail(agent, outcome.guardrail, outcome.mode);
    await this.audit(
      outcomes.map((outcome) => ({ kind: 'guardrail', agent, name: outcome.guardrail, action: outcome.mode, side: outcome.side, origin })),
    );
  }

  /**
   * The one writer of this call's governance rows, under its correlation id. A row that cannot be
   * written is logged, not answered with an error: what it records has happened already (while
   * the database is away, the call's own audit row fails the call anyway).
   */
  private async audit(events: readonly GovernanceEvent[]): Promise<void> {
    if (events.length === 0) return;
    await this.events.insertMany(events).catch((error: unknown) => {
      this.logger.error(
        { ...originLogFields(events[0].origin), err_message: (error as Error).message },
        'could not write a governance audit row',
      );
    });
  }
}

function blockedResult(fallback: string): AgentRunResult {
  return {
    output: fallback,
    usage: ZERO_USAGE,
    toolCalls: [],
    turns: 0,
    finishReason: 'content_filter',
    durationMs: 0,
  };
}

/** The rough size of what the model is sent: what a charge estimate starts from. */
function estimatedPromptChars(prepared: PreparedRun, history: readonly HistoryMessage[] | undefined): number {
  let chars = (prepared.systemPrompt?.length ?? 0) + prepared.call.input.length;
  for (const message of history ?? []) chars += message.content.length;
  return chars;
}

/** Providers bill about one token per four characters of English text. */
const CHARS_PER_TOKEN = 4;

/**
 * Charges each model call of a run to the agent's budget, and waits for the writes before the
 * run answers. A call that answered is charged its reported usage. A streamed call that ended
 * after its first token without usage (the client left, the provider failed mid-answer, the
 * deadline passed) was still billed by the provider: it is charged an estimate, the prompt's
 * characters and those streamed since the previous call at four per token. The hook must not
 * throw, so a failed write is logged (the answer the caller paid for is not withheld).
 */
class Charges {
  /** The budget writes of the run's model calls so far. */
  readonly pending: Promise<unknown>[] = [];
  private streamedChars = 0;

  constructor(
    private readonly budgets: BudgetService,
    private readonly agent: Agent,
    private readonly logger: Logger,
    private readonly origin: CallOrigin,
    private readonly promptChars: number,
  ) {}

  readonly hook: ModelCallHook = (record) => {
    const estimated = record.outcome !== 'ok' && record.streamed && record.firstTokenMs !== undefined;
    const usage = record.outcome === 'ok' ? record.usage : estimated ? this.estimate() : undefined;
    this.streamedChars = 0;
    if (!usage) return;
    this.pending.push(
      this.budgets.record(this.agent, record.provider, record.model, usage, this.origin).catch((error: unknown) => {
        this.logger.error(
          { ...originLogFields(this.origin), agent: this.agent.name, err_message: (error as Error).message },
          'could not record the cost of a model call',
        );
      }),
    );
  };

  /** Counts streamed characters for the estimate; events pass unchanged. */
  counting(send: ((event: AgentEvent) => void | Promise<void>) | undefined): ((event: AgentEvent) => void | Promise<void>) | undefined {
    if (!send || !this.agent.budget) return send;
    return (event) => {
      if (event.type === 'token') this.streamedChars += event.content.length;
      return send(event);
    };
  }

  settled(): Promise<unknown> {
    return Promise.all(this.pending);
  }

  private estimate(): { inputTokens: number; outputTokens: number; totalTokens: number } {
    const inputTokens = Math.ceil(this.promptChars / CHARS_PER_TOKEN);
    const outputTokens = Math.ceil(this.streamedChars / CHARS_PER_TOKEN);
    return { inputTokens, outputTokens, totalTokens: inputTokens + outputTokens };
  }
}

interface AnswerContext {
  send: ((event: RunEvent) => void | Promise<void>) | undefined;
  context: ExprContext;
  charges: Charges;
  origin: CallOrigin;
}

function toWarning(rule: CompiledRule): RuleWarning {
  return { rule: rule.name, message: rule.message };
}

function answerOf(text: string): AgentRunResult {
  return { output: text, usage: ZERO_USAGE, toolCalls: [], turns: 0, finishReason: 'stop', durationMs: 0 };
}

/** Two strategy runs of one call (an answer and its re-prompt) as one result. */
function combined(first: AgentRunResult, next: AgentRunResult): AgentRunResult {
  return {
    output: next.output,
    usage: addUsage(first.usage, next.usage),
    toolCalls: [...first.toolCalls, ...next.toolCalls],
    turns: first.turns + next.turns,
    finishReason: next.finishReason,
    durationMs: first.durationMs + next.durationMs,
  };
}

/** What the model gets when `on input` ran skills: the input, then each skill's result. */
function withSkillResults(input: string, calls: readonly ToolCallRecord[]): string {
  const results = calls.map(
    (call) => `Skill ${call.name} ${call.error !== undefined ? `failed: ${call.error}` : `returned: ${call.output}`}`,
  );
  return `${input}\n\n${results.join('\n')}`;
}

/** `use skill s` without `with`: every string field of the skill's input gets the caller's input. */
function defaultArguments(spec: ToolSpec | undefined, input: string): Record<string, unknown> {
  const properties = (spec?.parameters as { properties?: Record<string, { type?: string }> } | undefined)?.properties ?? {};
  return Object.fromEntries(
    Object.entries(properties)
      .filter(([, schema]) => schema.type === undefined || schema.type === 'string')
      .map(([name]) => [name, input]),
  );
}

export function delegateToolName(agent: string): string {
  return `delegate_to_${agent.replace(/[^A-Za-z0-9_-]/g, '_')}`.slice(0, 64);
}

function delegateToolSpec(agent: string, when: string | undefined): ToolSpec {
  return {
    name: delegateToolName(agent),
    description: `Hand the request to agent "${agent}"${when ? `: ${when}` : ''}. Its answer comes back as this tool's result.`,
    parameters: {
      type: 'object',
      properties: { request: { type: 'string', description: "What to ask that agent (the caller's request, or a part of it)." } },
      required: ['request'],
    },
  };
}

/** The answer before the output guardrails, and what a hand-over to another agent brings back. */
interface Answered {
  result: AgentRunResult;
  warnings: RuleWarning[];
  delegated?: { answeredBy: string; storedInput: string; guardrails: GuardrailOutcome[] };
}
