import { describe, expect, it } from 'vitest';
import { BudgetExceededError } from '../common/errors/domain-errors.js';
import { toErrorResponse } from '../common/errors/error-table.js';
import { secondsUntilReset, windowsAt } from './budget-windows.js';

const at = (iso: string) => new Date(iso);

describe('budget windows', () => {
  it('are the UTC day and the UTC calendar month', () => {
    const windows = windowsAt(at('2025-06-15T13:45:00.000Z'));
    expect(windows.daily).toEqual({ period: 'daily', start: '2025-06-15', resetsAt: at('2025-06-16T00:00:00.000Z') });
    expect(windows.monthly).toEqual({ period: 'monthly', start: '2025-06-01', resetsAt: at('2025-07-01T00:00:00.000Z') });
  });

  it('follow UTC, not the local offset of the instant', () => {
    // 23:30 in New York on 14 June is already 15 June in UTC.
    expect(windowsAt(at('2025-06-14T23:30:00-04:00')).daily.start).toBe('2025-06-15');
  });

  it('turn at midnight UTC: the last millisecond belongs to the old day, midnight to the new one', () => {
    expect(windowsAt(at('2025-06-30T23:59:59.999Z')).daily.start).toBe('2025-06-30');
    expect(windowsAt(at('2025-06-30T23:59:59.999Z')).monthly.start).toBe('2025-06-01');
    expect(windowsAt(at('2025-07-01T00:00:00.000Z')).daily.start).toBe('2025-07-01');
    expect(windowsAt(at('2025-07-01T00:00:00.000Z')).monthly.start).toBe('2025-07-01');
  });

  it('roll December into January of the next year', () => {
    const windows = windowsAt(at('2025-12-31T18:00:00.000Z'));
    expect(windows.daily.resetsAt).toEqual(at('2026-01-01T00:00:00.000Z'));
    expect(windows.monthly).toEqual({ period: 'monthly', start: '2025-12-01', resetsAt: at('2026-01-01T00:00:00.000Z') });
    expect(windowsAt(at('2026-01-01T00:00:00.000Z')).monthly.start).toBe('2026-01-01');
  });

  it('know short months and leap years', () => {
    expect(windowsAt(at('2028-02-29T12:00:00Z')).daily.resetsAt).toEqual(at('2028-03-01T00:00:00Z'));
    expect(windowsAt(at('2025-02-28T12:00:00Z')).monthly.resetsAt).toEqual(at('2025-03-01T00:00:00Z'));
  });

  it('give Retry-After in whole seconds until the reset, rounded up, never 0', () => {
    const now = at('2025-06-15T23:59:59.000Z');
    const windows = windowsAt(now);
    expect(secondsUntilReset(windows.daily, now)).toBe(1);
    expect(secondsUntilReset(windows.daily, at('2025-06-15T23:59:59.001Z'))).toBe(1);
    expect(secondsUntilReset(windows.daily, at('2025-06-15T23:59:58.999Z'))).toBe(2);
    expect(secondsUntilReset(windows.monthly, now)).toBe(15 * 86_400 + 1);
    expect(secondsUntilReset(windowsAt(at('2025-06-15T00:00:00Z')).daily, at('2025-06-15T00:00:00Z'))).toBe(86_400);
    expect(secondsUntilReset(windows.daily, at('2025-06-16T00:00:01Z'))).toBe(1);
  });
});

describe('BudgetExceededError', () => {
  it('is answered 429 budget_exceeded with Retry-After, naming the agent, the period and the reset', () => {
    const response = toErrorResponse(new BudgetExceededError('writer', 'daily', 5, at('2025-06-16T00:00:00.000Z'), 1));
    expect(response).toEqual({
      status: 429,
      headers: { 'Retry-After': '1' },
      body: {
        error: {
          code: 'budget_exceeded',
          message: "Agent 'writer' has used up its daily budget of $5.00. It resets at 2025-06-16T00:00:00.000Z.",
        },
      },
      unexpected: false,
    });
    expect(new BudgetExceededError('writer', 'monthly', 0.005, at('2025-07-01T00:00:00Z'), 9).message).toContain(
      'monthly budget of $0.005.',
    );
  });
});
