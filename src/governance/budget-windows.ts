export const BUDGET_PERIODS = ['daily', 'monthly'] as const;
export type BudgetPeriod = (typeof BUDGET_PERIODS)[number];

/** The current time; injectable so tests can cross a day or a month. */
export type Clock = () => Date;
export const BUDGET_CLOCK = Symbol('BUDGET_CLOCK');
export const systemClock: Clock = () => new Date();

/** One budget window: a UTC day or a UTC calendar month. */
export interface BudgetWindow {
  period: BudgetPeriod;
  /** `YYYY-MM-DD`, the first day of the window (the `window_start` column). */
  start: string;
  /** The first instant of the next window. */
  resetsAt: Date;
}

export interface BudgetWindows {
  /** The instant they were computed for. */
  at: Date;
  daily: BudgetWindow;
  monthly: BudgetWindow;
}

/** The daily and monthly windows `now` falls in. Every replica computes the same ones from its clock. */
export function windowsAt(now: Date): BudgetWindows {
  const year = now.getUTCFullYear();
  const month = now.getUTCMonth();
  const day = now.getUTCDate();
  return {
    at: now,
    daily: { period: 'daily', start: isoDate(year, month, day), resetsAt: new Date(Date.UTC(year, month, day + 1)) },
    // Date.UTC carries month 12 into January of the next year.
    monthly: { period: 'monthly', start: isoDate(year, month, 1), resetsAt: new Date(Date.UTC(year, month + 1, 1)) },
  };
}

/** Whole seconds until `window` resets, rounded up and at least 1 (a `Retry-After` value). */
export function secondsUntilReset(window: BudgetWindow, now: Date): number {
  return Math.max(1, Math.ceil((window.resetsAt.getTime() - now.getTime()) / 1000));
}

function isoDate(year: number, month: number, day: number): string {
  return new Date(Date.UTC(year, month, day)).toISOString().slice(0, 10);
}
