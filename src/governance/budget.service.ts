import { Inject, Injectable } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import type { Logger } from 'pino';
import type { Counter, Gauge } from 'prom-client';
import { isDatabaseUnavailable } from '../common/errors/database-errors.js';
import { BudgetExceededError, UnavailableError } from '../common/errors/domain-errors.js';
import { LOGGER } from '../common/logging/logging.module.js';
import type { Agent, Budget } from '../definitions/index.js';
import { METRIC } from '../metrics/metric-names.js';
import { BudgetRepository, type SpendTotals } from './budget.repository.js';
import { originLogFields, type CallOrigin } from './governance-events.repository.js';
import { BUDGET_PERIODS, type BudgetPeriod, secondsUntilReset } from './budget-windows.js';
import { ModelPrices, type TokenUsage } from './prices.js';

/** What budgets need of an agent definition. */
export type BudgetedAgent = Pick<Agent, 'name' | 'budget'>;

/** Share of a limit at which the one warning of a window is logged. */
export const WARN_RATIO = 0.8;

/** One window of GET /v1/agents: what was spent, the limit when the agent has one, when it starts again. */
export interface WindowSpend {
  spent_usd: number;
  limit_usd?: number;
  /** ISO 8601, UTC. */
  resets_at: string;
}

export interface AgentSpend {
  daily: WindowSpend;
  monthly: WindowSpend;
}

/**
 * Daily and monthly dollar budgets of agents (`budget daily N`, `budget monthly N`), counted in
 * Postgres so that every replica enforces the same totals.
 *
 * Overshoot: the check before a model call and the spend recorded after it are separate steps,
 * and calls admitted while under budget all finish. A window can therefore end above its limit
 * by at most (the agent's model calls in flight across all replicas when the limit is crossed) ×
 * (the cost of the dearest such call); with one call at a time it is at most the cost of one
 * call. Calls started after the total reaches the limit are refused. The bound holds when the
 * check runs before every model call of the agent loop; checked once per run, read "runs" for
 * "calls" (a run is up to `max_turns` calls).
 */
@Injectable()
export class BudgetService {
  constructor(
    private readonly repository: BudgetRepository,
    private readonly prices: ModelPrices,
    @InjectMetric(METRIC.cost) private readonly cost: Counter<string>,
    @InjectMetric(METRIC.budgetUsedRatio) private readonly usedRatio: Gauge<string>,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /**
   * Before any model call of this agent: BudgetExceededError (429, `Retry-After` until the window
   * resets) once the current window's spend has reached a limit; when both have, the one that
   * resets last. An agent without a budget costs no database round trip.
   */
  async assertWithinBudget(agent: BudgetedAgent): Promise<void> {
    const budget = agent.budget;
    if (budget?.daily === undefined && budget?.monthly === undefined) return;
    const windows = this.repository.windows();
    const totals = await this.database(() => this.repository.spent(agent.name, windows));
    this.setRatios(agent.name, budget, totals);
    let exceeded: BudgetPeriod | undefined;
    for (const period of BUDGET_PERIODS) {
      const limit = budget[period];
      if (limit !== undefined && totals[period] >= limit) exceeded = period;
    }
    if (exceeded === undefined) return;
    const window = windows[exceeded];
    throw new BudgetExceededError(agent.name, exceeded, budget[exceeded]!, window.resetsAt, secondsUntilReset(window, windows.at));
  }

  /**
   * After each successful model call (each attempt with usage, fallbacks included): its cost is
   * added to the agent's daily and monthly totals in one statement, counted in
   * `agentspec_cost_dollars_total`, and compared with the agent's limits. A call that costs
   * nothing (mock, ollama, an unpriced model) writes nothing. Rejects with UnavailableError when
   * the database cannot be reached; the caller decides whether that fails the request. Takes the
   * definition the call was admitted under, so a reload in between cannot mix two budgets.
   * Returns the call's cost in US dollars. `origin`, when given, names the request in the warning line.
   */
  async record(agent: BudgetedAgent, provider: string, model: string, usage: TokenUsage, origin?: CallOrigin): Promise<number> {
    const usd = this.prices.costOf(provider, model, usage);
    if (usd <= 0) return 0;
    const agentName = agent.name;
    this.cost.inc({ agent: agentName, model: `${provider}/${model}` }, usd);
    const update = await this.database(() => this.repository.add(agentName, usd));
    const budget = agent.budget;
    if (budget?.daily === undefined && budget?.monthly === undefined) return usd;
    this.setRatios(agentName, budget, update.totals);
    for (const period of BUDGET_PERIODS) {
      const limit = budget[period];
      if (limit === undefined || update.warned[period] || update.totals[period] < WARN_RATIO * limit) continue;
      const window = update.windows[period];
      if (await this.database(() => this.repository.markWarned(agentName, period, window.start))) {
        this.logger.warn(
          {
            ...(origin ? originLogFields(origin) : {}),
            agent: agentName,
            period,
            spent_usd: update.totals[period],
            limit_usd: limit,
            window_start: window.start,
            resets_at: window.resetsAt.toISOString(),
          },
          `agent has spent ${Math.round((update.totals[period] / limit) * 100)} % of its ${period} budget`,
        );
      }
    }
    return usd;
  }

  /** The current windows' spend of these agents, for GET /v1/agents; one statement for all of them. */
  async spendFor(agents: readonly BudgetedAgent[]): Promise<Map<string, AgentSpend>> {
    const windows = this.repository.windows();
    const spent =
      agents.length === 0
        ? new Map<string, SpendTotals>()
        : await this.database(() =>
            this.repository.spentByAgent(
              agents.map((agent) => agent.name),
              windows,
            ),
          );
    const result = new Map<string, AgentSpend>();
    for (const agent of agents) {
      const totals = spent.get(agent.name) ?? { daily: 0, monthly: 0 };
      const window = (period: BudgetPeriod): WindowSpend => ({
        spent_usd: totals[period],
        ...(agent.budget?.[period] === undefined ? {} : { limit_usd: agent.budget[period] }),
        resets_at: windows[period].resetsAt.toISOString(),
      });
      result.set(agent.name, { daily: window('daily'), monthly: window('monthly') });
    }
    return result;
  }

  private setRatios(agent: string, budget: Budget, totals: SpendTotals): void {
    for (const period of BUDGET_PERIODS) {
      const limit = budget[period];
      if (limit === undefined) continue;
      this.usedRatio.set({ agent, period }, limit > 0 ? totals[period] / limit : 1);
    }
  }

  /** "Could not check" is a 503 with Retry-After, like every other database outage. */
  private async database<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      if (isDatabaseUnavailable(error)) throw new UnavailableError();
      throw error;
    }
  }
}
