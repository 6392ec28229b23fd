import { Inject, Injectable, Optional } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { queryRows } from '../database/query-rows.js';
import { BUDGET_CLOCK, type BudgetPeriod, type BudgetWindows, type Clock, systemClock, windowsAt } from './budget-windows.js';

/** US dollars spent in the current daily and monthly windows. */
export interface SpendTotals {
  daily: number;
  monthly: number;
}

/** What `add` leaves behind: the new totals, and the windows they belong to. */
export interface SpendUpdate {
  totals: SpendTotals;
  windows: BudgetWindows;
  /** Per period: the window's 80 % warning was already logged (by any replica). */
  warned: Record<BudgetPeriod, boolean>;
}

interface SpendRow {
  agent: string;
  period: BudgetPeriod;
  spent_usd: string;
  warned: boolean;
}

/**
 * All SQL of `budget_spend` (migration 1764480100000). The windows are computed from the
 * injected clock, not the database's, so tests can cross a day or a month; replicas whose clocks
 * differ by a second disagree about the window for that second only.
 */
@Injectable()
export class BudgetRepository {
  constructor(
    private readonly dataSource: DataSource,
    @Optional() @Inject(BUDGET_CLOCK) private readonly clock: Clock = systemClock,
  ) {}

  /** The windows now falls in, by the clock every method uses. */
  windows(): BudgetWindows {
    return windowsAt(this.clock());
  }

  /** This agent's spend in the current windows, in one statement (0 where nothing was spent yet). */
  async spent(agent: string, windows: BudgetWindows = this.windows()): Promise<SpendTotals> {
    const rows = await queryRows<SpendRow>(
      this.dataSource,
      `SELECT agent, period, spent_usd::text AS spent_usd, warned_at IS NOT NULL AS warned
         FROM budget_spend
        WHERE agent = $1
          AND ((period = 'daily' AND window_start = $2::date) OR (period = 'monthly' AND window_start = $3::date))`,
      [agent, windows.daily.start, windows.monthly.start],
    );
    return totalsOf(rows);
  }

  /**
   * Adds `usd` to the agent's daily and monthly rows in ONE atomic upsert and returns the new
   * totals. Concurrent adds from any replica sum exactly: each row's increment runs under its row
   * lock, and every statement locks daily before monthly, so two of them cannot deadlock.
   */
  async add(agent: string, usd: number): Promise<SpendUpdate> {
    if (!(usd >= 0) || !Number.isFinite(usd)) throw new RangeError(`a spend must be a finite amount ≥ 0, got ${usd}`);
    const windows = this.windows();
    const rows = await queryRows<SpendRow>(
      this.dataSource,
      `INSERT INTO budget_spend AS b (agent, period, window_start, spent_usd)
       VALUES ($1, 'daily', $2::date, $4::numeric), ($1, 'monthly', $3::date, $4::numeric)
       ON CONFLICT ON CONSTRAINT pk_budget_spend
       DO UPDATE SET spent_usd = b.spent_usd + EXCLUDED.spent_usd, updated_at = now()
       RETURNING agent, period, spent_usd::text AS spent_usd, warned_at IS NOT NULL AS warned`,
      [agent, windows.daily.start, windows.monthly.start, usd.toFixed(9)],
    );
    return {
      totals: totalsOf(rows),
      windows,
      warned: {
        daily: rows.some((row) => row.period === 'daily' && row.warned),
        monthly: rows.some((row) => row.period === 'monthly' && row.warned),
      },
    };
  }

  /**
   * Flags the window's 80 % warning as given. True for exactly one caller across replicas: the
   * row lock makes a concurrent UPDATE re-check `warned_at IS NULL` after the first commits.
   * False too when the window has no row (nothing spent, so nothing to warn about).
   */
  async markWarned(agent: string, period: BudgetPeriod, windowStart: string): Promise<boolean> {
    const rows = await queryRows<{ agent: string }>(
      this.dataSource,
      `UPDATE budget_spend SET warned_at = now()
        WHERE agent = $1 AND period = $2 AND window_start = $3::date AND warned_at IS NULL
        RETURNING agent`,
      [agent, period, windowStart],
    );
    return rows.length === 1;
  }

  /** The current windows' spend of these agents (all agents when omitted), in one statement; absent = nothing spent. */
  async spentByAgent(agents?: readonly string[], windows: BudgetWindows = this.windows()): Promise<Map<string, SpendTotals>> {
    const byAgent = new Map<string, SpendTotals>();
    if (agents?.length === 0) return byAgent;
    const rows = await queryRows<SpendRow>(
      this.dataSource,
      `SELECT agent, period, spent_usd::text AS spent_usd, warned_at IS NOT NULL AS warned
         FROM budget_spend
        WHERE ((period = 'daily' AND window_start = $1::date) OR (period = 'monthly' AND window_start = $2::date))
          AND ($3::text[] IS NULL OR agent = ANY($3::text[]))`,
      [windows.daily.start, windows.monthly.start, agents ? [...agents] : null],
    );
    for (const row of rows) {
      const totals = byAgent.get(row.agent) ?? { daily: 0, monthly: 0 };
      totals[row.period] = Number(row.spent_usd);
      byAgent.set(row.agent, totals);
    }
    return byAgent;
  }
}

function totalsOf(rows: SpendRow[]): SpendTotals {
  const totals: SpendTotals = { daily: 0, monthly: 0 };
  for (const row of rows) totals[row.period] = Number(row.spent_usd);
  return totals;
}
