import { Counter, Gauge, Registry } from 'prom-client';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BudgetExceededError, UnavailableError } from '../../src/common/errors/domain-errors.js';
import { toErrorResponse } from '../../src/common/errors/error-table.js';
import { createLogger } from '../../src/common/logging/logger.js';
import type { Budget } from '../../src/definitions/index.js';
import { BUDGET_METRICS } from '../../src/metrics/budget-metrics.js';
import { BudgetRepository } from '../../src/governance/budget.repository.js';
import { BudgetService } from '../../src/governance/budget.service.js';
import { ModelPrices } from '../../src/governance/prices.js';
import { METRIC } from '../../src/metrics/metric-names.js';
import { connect, createMigratedDatabase, openDataSource } from '../support/database.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { LogCapture } from '../support/test-app.js';

/** $1 per million input tokens: a call of ONE_DOLLAR costs exactly $1. */
const prices = new ModelPrices({ 'openai/budget-test': { input: 1, output: 2 } });
const ONE_DOLLAR = { inputTokens: 1_000_000, outputTokens: 0 };

/** One replica of the service: its own pool, metrics registry and logs, on the shared database. */
interface Replica {
  repository: BudgetRepository;
  service: BudgetService;
  registry: Registry;
  logs: LogCapture;
}

describe('budgets on PostgreSQL, two replicas on one database', () => {
  let url: string;
  let first: DataSource;
  let second: DataSource;
  let now: Date;
  const budgets = new Map<string, Budget>();
  let a: Replica;
  let b: Replica;

  function replica(dataSource: DataSource): Replica {
    const registry = new Registry();
    const cost = new Counter({ ...BUDGET_METRICS.cost, labelNames: [...BUDGET_METRICS.cost.labelNames], registers: [registry] });
    const ratio = new Gauge({ ...BUDGET_METRICS.usedRatio, labelNames: [...BUDGET_METRICS.usedRatio.labelNames], registers: [registry] });
    const logs = new LogCapture();
    const repository = new BudgetRepository(dataSource, () => now);
    const service = new BudgetService(repository, prices, cost, ratio, createLogger('info', logs));
    return { repository, service, registry, logs };
  }

  const agent = (name: string) => ({ name, budget: budgets.get(name) });

  async function stored(name: string): Promise<Record<string, string>> {
    const client = await connect(url);
    try {
      const { rows } = await client.query<{ period: string; window_start: string; spent_usd: string }>(
        "SELECT period, to_char(window_start, 'YYYY-MM-DD') AS window_start, spent_usd::text AS spent_usd FROM budget_spend WHERE agent = $1",
        [name],
      );
      return Object.fromEntries(rows.map((row) => [`${row.period} ${row.window_start}`, row.spent_usd]));
    } finally {
      await client.end();
    }
  }

  async function metricValues(registry: Registry, name: string) {
    return (await registry.getSingleMetric(name)!.get()).values.map(({ labels, value }) => ({ labels, value }));
  }

  async function refusal(promise: Promise<unknown>): Promise<BudgetExceededError> {
    const error = await promise.then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(BudgetExceededError);
    return error as BudgetExceededError;
  }

  beforeAll(async () => {
    ({ url, dataSource: first } = await createMigratedDatabase(4));
    second = await openDataSource(url, 4);
  });
  afterAll(async () => {
    await first?.destroy();
    await second?.destroy();
  });
  beforeEach(() => {
    now = new Date('2025-06-15T10:00:00.000Z');
    a = replica(first);
    b = replica(second);
  });

  it('sums concurrent adds from both replicas exactly, each add seeing its own new total', async () => {
    const amount = 0.123456789;
    const adds = Array.from({ length: 100 }, (_, i) => (i % 2 === 0 ? a : b).repository.add('summer', amount));
    const updates = await Promise.all(adds);

    expect(await stored('summer')).toEqual({ 'daily 2025-06-15': '12.345678900', 'monthly 2025-06-01': '12.345678900' });
    // Every add was applied alone: the totals it returned are 1×, 2×, … 100× the amount.
    const dailies = updates.map((update) => Math.round(update.totals.daily / amount)).sort((x, y) => x - y);
    expect(dailies).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(updates.every((update) => update.totals.daily === update.totals.monthly)).toBe(true);
    expect(await a.repository.spent('summer')).toEqual({ daily: 12.3456789, monthly: 12.3456789 });
    expect(await b.repository.spent('nobody')).toEqual({ daily: 0, monthly: 0 });
  });

  it('refuses on either replica once the limit is reached, with Retry-After until midnight UTC', async () => {
    budgets.set('capped', { daily: 3 });
    await a.service.record(agent('capped'), 'openai', 'budget-test', ONE_DOLLAR);
    await a.service.record(agent('capped'), 'openai', 'budget-test', ONE_DOLLAR);
    await b.service.assertWithinBudget(agent('capped'));
    await a.service.assertWithinBudget(agent('capped'));

    await b.service.record(agent('capped'), 'openai', 'budget-test', ONE_DOLLAR);
    for (const replica of [a, b]) {
      const error = await refusal(replica.service.assertWithinBudget(agent('capped')));
      expect(error).toMatchObject({ agent: 'capped', period: 'daily', limitUsd: 3, resetsAt: new Date('2025-06-16T00:00:00.000Z') });
      const response = toErrorResponse(error);
      expect(response.status).toBe(429);
      expect(response.headers).toEqual({ 'Retry-After': String(14 * 3600) });
      expect(response.body.error).toEqual({
        code: 'budget_exceeded',
        message: "Agent 'capped' has used up its daily budget of $3.00. It resets at 2025-06-16T00:00:00.000Z.",
      });
    }

    now = new Date('2025-06-15T23:59:59.000Z');
    expect(toErrorResponse(await refusal(a.service.assertWithinBudget(agent('capped')))).headers).toEqual({ 'Retry-After': '1' });
  });

  it('allows again in the next UTC day while the month keeps counting, and in the next month', async () => {
    budgets.set('renewed', { daily: 3, monthly: 4 });
    for (const replica of [a, b, a]) await replica.service.record(agent('renewed'), 'openai', 'budget-test', ONE_DOLLAR);
    expect((await refusal(b.service.assertWithinBudget(agent('renewed')))).period).toBe('daily');

    now = new Date('2025-06-16T00:00:00.000Z');
    await a.service.assertWithinBudget(agent('renewed'));
    await b.service.assertWithinBudget(agent('renewed'));
    expect(await a.repository.spent('renewed')).toEqual({ daily: 0, monthly: 3 });

    await b.service.record(agent('renewed'), 'openai', 'budget-test', ONE_DOLLAR);
    const monthly = await refusal(a.service.assertWithinBudget(agent('renewed')));
    expect(monthly).toMatchObject({ period: 'monthly', resetsAt: new Date('2025-07-01T00:00:00.000Z') });
    expect(toErrorResponse(monthly).headers).toEqual({ 'Retry-After': String(15 * 86_400) });

    // Both spent: the refusal names the window that resets last.
    await a.service.record(agent('renewed'), 'openai', 'budget-test', { inputTokens: 2_000_000, outputTokens: 0 });
    expect((await refusal(b.service.assertWithinBudget(agent('renewed')))).period).toBe('monthly');

    now = new Date('2025-07-01T00:00:00.000Z');
    await b.service.assertWithinBudget(agent('renewed'));
    expect(await stored('renewed')).toEqual({
      'daily 2025-06-15': '3.000000000',
      'daily 2025-06-16': '3.000000000',
      'monthly 2025-06-01': '6.000000000',
    });
  });

  it('flips the warning of a window for exactly one caller across the replicas', async () => {
    await a.repository.add('warned', 1);
    const window = a.repository.windows().daily.start;
    const flips = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a : b).repository.markWarned('warned', 'daily', window)),
    );
    expect(flips.filter(Boolean)).toHaveLength(1);
    expect(await b.repository.markWarned('warned', 'monthly', a.repository.windows().monthly.start)).toBe(true);
    expect(await b.repository.markWarned('warned', 'daily', '2025-06-14')).toBe(false);
  });

  it('logs one warning per window when 80 % is crossed, whichever replica crosses it', async () => {
    budgets.set('warner', { daily: 10 });
    const calls = Array.from({ length: 12 }, (_, i) =>
      (i % 2 === 0 ? a : b).service.record(agent('warner'), 'openai', 'budget-test', ONE_DOLLAR),
    );
    await Promise.all(calls);
    const warnings = () => [...a.logs.lines, ...b.logs.lines].filter((line) => line.level === 'warn');
    expect(warnings()).toHaveLength(1);
    expect(warnings()[0]).toMatchObject({
      agent: 'warner',
      period: 'daily',
      limit_usd: 10,
      window_start: '2025-06-15',
      resets_at: '2025-06-16T00:00:00.000Z',
    });
    expect(warnings()[0].spent_usd).toBeGreaterThanOrEqual(8);

    now = new Date('2025-06-16T08:00:00.000Z');
    for (let i = 0; i < 9; i++) await b.service.record(agent('warner'), 'openai', 'budget-test', ONE_DOLLAR);
    expect(warnings()).toHaveLength(2);
    expect(warnings()[1]).toMatchObject({ window_start: '2025-06-16', spent_usd: 8, msg: 'agent has spent 80 % of its daily budget' });
  });

  it('counts the cost and the share of the budget in the replica’s metrics', async () => {
    budgets.set('measured', { daily: 4, monthly: 100 });
    await a.service.record(agent('measured'), 'openai', 'budget-test', { inputTokens: 500_000, outputTokens: 250_000 });
    await b.service.record(agent('measured'), 'openai', 'budget-test', ONE_DOLLAR);
    await a.service.record(agent('measured'), 'openai', 'budget-test', ONE_DOLLAR);

    expect(await metricValues(a.registry, METRIC.cost)).toEqual([{ labels: { agent: 'measured', model: 'openai/budget-test' }, value: 2 }]);
    expect(await metricValues(b.registry, METRIC.cost)).toEqual([{ labels: { agent: 'measured', model: 'openai/budget-test' }, value: 1 }]);
    // The ratio comes from the shared totals ($3 spent), not from what this replica recorded.
    expect(await metricValues(a.registry, METRIC.budgetUsedRatio)).toEqual([
      { labels: { agent: 'measured', period: 'daily' }, value: 0.75 },
      { labels: { agent: 'measured', period: 'monthly' }, value: 0.03 },
    ]);

    // No budget: cost counted and stored, no ratio.
    await a.service.record(agent('free-spender'), 'anthropic', 'claude-3-5-haiku-20241022', { inputTokens: 1_000, outputTokens: 1_000 });
    expect((await metricValues(a.registry, METRIC.cost)).find((value) => value.labels.agent === 'free-spender')).toEqual({
      labels: { agent: 'free-spender', model: 'anthropic/claude-3-5-haiku-20241022' },
      value: 0.0048,
    });
    expect((await metricValues(a.registry, METRIC.budgetUsedRatio)).some((value) => value.labels.agent === 'free-spender')).toBe(false);
    expect(await stored('free-spender')).toEqual({ 'daily 2025-06-15': '0.004800000', 'monthly 2025-06-01': '0.004800000' });
  });

  it('writes nothing for a call that costs nothing', async () => {
    budgets.set('offline', { daily: 1 });
    expect(await a.service.record(agent('offline'), 'mock', 'echo', ONE_DOLLAR)).toBe(0);
    expect(await a.service.record(agent('offline'), 'ollama', 'llama3.1', ONE_DOLLAR)).toBe(0);
    expect(await stored('offline')).toEqual({});
    expect(await metricValues(a.registry, METRIC.cost)).toEqual([]);
  });

  it('lists the current windows of the agents asked for, in one shape for GET /v1/agents', async () => {
    budgets.set('listed', { monthly: 20 });
    await a.service.record(agent('listed'), 'openai', 'budget-test', ONE_DOLLAR);
    now = new Date('2025-06-16T12:00:00.000Z');
    await b.service.record(agent('listed'), 'openai', 'budget-test', { inputTokens: 250_000, outputTokens: 0 });

    const spend = await a.service.spendFor([agent('listed'), { name: 'idle', budget: { daily: 2 } }]);
    expect(Object.fromEntries(spend)).toEqual({
      listed: {
        daily: { spent_usd: 0.25, resets_at: '2025-06-17T00:00:00.000Z' },
        monthly: { spent_usd: 1.25, limit_usd: 20, resets_at: '2025-07-01T00:00:00.000Z' },
      },
      idle: {
        daily: { spent_usd: 0, limit_usd: 2, resets_at: '2025-06-17T00:00:00.000Z' },
        monthly: { spent_usd: 0, resets_at: '2025-07-01T00:00:00.000Z' },
      },
    });
    expect([...(await a.repository.spentByAgent(['listed', 'idle']))]).toEqual([['listed', { daily: 0.25, monthly: 1.25 }]]);
  });
});

describe('budgets while the database is unavailable', () => {
  let proxy: TcpProxy;
  let dataSource: DataSource;
  let service: BudgetService;

  beforeAll(async () => {
    const { url, dataSource: migrator } = await createMigratedDatabase(2);
    await migrator.destroy();
    proxy = TcpProxy.forUrl(url);
    await proxy.start();
    dataSource = await openDataSource(proxy.rewrite(url), 2);
    const registry = new Registry();
    service = new BudgetService(
      new BudgetRepository(dataSource, () => new Date('2025-06-15T10:00:00Z')),
      prices,
      new Counter({ ...BUDGET_METRICS.cost, labelNames: [...BUDGET_METRICS.cost.labelNames], registers: [registry] }),
      new Gauge({ ...BUDGET_METRICS.usedRatio, labelNames: [...BUDGET_METRICS.usedRatio.labelNames], registers: [registry] }),
      createLogger('silent'),
    );
    await service.assertWithinBudget({ name: 'down', budget: { daily: 5 } });
    await proxy.cut();
  });
  afterAll(async () => {
    await proxy?.cut();
    await dataSource?.destroy().catch(() => undefined);
  });

  it('answers 503 unavailable, never 500, when a check or a write needs the database', async () => {
    const check = await service.assertWithinBudget({ name: 'down', budget: { daily: 5 } }).catch((error: unknown) => error);
    expect(check).toBeInstanceOf(UnavailableError);
    expect(toErrorResponse(check)).toMatchObject({
      status: 503,
      headers: { 'Retry-After': '5' },
      body: { error: { code: 'unavailable' } },
    });
    await expect(service.record({ name: 'down', budget: { daily: 5 } }, 'openai', 'budget-test', ONE_DOLLAR)).rejects.toBeInstanceOf(
      UnavailableError,
    );
    await expect(service.spendFor([{ name: 'down', budget: undefined }])).rejects.toBeInstanceOf(UnavailableError);
  });

  it('needs no database for an agent without a budget, nor for a call that costs nothing', async () => {
    await expect(service.assertWithinBudget({ name: 'unbudgeted', budget: undefined })).resolves.toBeUndefined();
    await expect(service.assertWithinBudget({ name: 'unbudgeted', budget: {} })).resolves.toBeUndefined();
    await expect(service.record({ name: 'down', budget: { daily: 5 } }, 'mock', 'echo', ONE_DOLLAR)).resolves.toBe(0);
    await expect(service.spendFor([])).resolves.toEqual(new Map());
  });
});
