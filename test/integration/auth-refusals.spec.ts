import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DataSource } from 'typeorm';
import { RefusalAudit } from '../../src/auth/refusals/refusal-audit.js';
import type { Refusal, RefusalMetrics, RefusalReason } from '../../src/auth/refusals/refusal.js';
import { createLogger } from '../../src/common/logging/logger.js';
import { connect, createMigratedDatabase } from '../support/database.js';
import { LogCapture } from '../support/test-app.js';

const refusal = (correlationId: string, overrides: Partial<Refusal> = {}): Refusal => ({
  at: new Date('2025-06-01T09:30:12.345Z'),
  status: 401,
  code: 'unauthorized',
  reason: 'invalid_credentials',
  ip: '2001:db8::7',
  method: 'POST',
  route: '/v1/agents/:name/invoke',
  correlationId,
  ...overrides,
});

class CountingMetrics implements RefusalMetrics {
  readonly counts: Partial<Record<RefusalReason, number>> = {};
  recordAuthFailure(reason: RefusalReason): void {
    this.counts[reason] = (this.counts[reason] ?? 0) + 1;
  }
}

describe('RefusalAudit on PostgreSQL', () => {
  let url: string;
  let dataSource: DataSource;

  beforeAll(async () => {
    ({ url, dataSource } = await createMigratedDatabase(3));
  });
  afterAll(() => dataSource?.destroy());

  async function rows(sql: string, values: unknown[] = []) {
    const client = await connect(url);
    try {
      return (await client.query(sql, values)).rows;
    } finally {
      await client.end();
    }
  }

  it('stores each refusal as it was, in batches written after the answer', async () => {
    const logs = new LogCapture();
    const metrics = new CountingMetrics();
    const audit = new RefusalAudit(createLogger('info', logs), metrics, dataSource);
    audit.record(refusal('one', { principal: undefined }));
    audit.record(
      refusal('two', { status: 429, code: 'rate_limited', reason: 'rate_limited', principal: 'key:0123456789abcdef', ip: '127.0.0.1' }),
    );
    audit.record(
      refusal('three', {
        status: 403,
        code: 'forbidden',
        reason: 'forbidden',
        principal: 'user:alice',
        ip: undefined,
        route: undefined,
        method: 'GET',
      }),
    );
    // Nothing is written while the request is answered.
    expect(await rows("SELECT id FROM auth_refusals WHERE correlation_id IN ('one', 'two', 'three')")).toEqual([]);
    await audit.flush();

    expect(
      await rows(
        `SELECT status, code, reason, principal, host(ip) AS ip, method, route, correlation_id, at
           FROM auth_refusals WHERE correlation_id IN ('one', 'two', 'three') ORDER BY id`,
      ),
    ).toEqual([
      {
        status: 401,
        code: 'unauthorized',
        reason: 'invalid_credentials',
        principal: null,
        ip: '2001:db8::7',
        method: 'POST',
        route: '/v1/agents/:name/invoke',
        correlation_id: 'one',
        at: new Date('2025-06-01T09:30:12.345Z'),
      },
      {
        status: 429,
        code: 'rate_limited',
        reason: 'rate_limited',
        principal: 'key:0123456789abcdef',
        ip: '127.0.0.1',
        method: 'POST',
        route: '/v1/agents/:name/invoke',
        correlation_id: 'two',
        at: expect.any(Date),
      },
      {
        status: 403,
        code: 'forbidden',
        reason: 'forbidden',
        principal: 'user:alice',
        ip: null,
        method: 'GET',
        route: null,
        correlation_id: 'three',
        at: expect.any(Date),
      },
    ]);
    expect(metrics.counts).toEqual({ invalid_credentials: 1, rate_limited: 1, forbidden: 1 });
    expect(logs.lines.filter((line) => line.msg === 'request refused').map((line) => line.reason)).toEqual([
      'invalid_credentials',
      'rate_limited',
      'forbidden',
    ]);
  });

  it('writes by itself shortly after, without a flush', async () => {
    const audit = new RefusalAudit(createLogger('silent'), undefined, dataSource);
    audit.record(refusal('by-itself'));
    await expect
      .poll(async () => (await rows("SELECT count(*)::int AS n FROM auth_refusals WHERE correlation_id = 'by-itself'"))[0].n, {
        timeout: 2_000,
      })
      .toBe(1);
  });

  it('keeps at most 10,000 rows waiting: the rest is dropped and the drop logged', async () => {
    const logs = new LogCapture();
    const metrics = new CountingMetrics();
    const audit = new RefusalAudit(createLogger('error', logs), metrics, dataSource);
    for (let i = 0; i < 10_050; i++) audit.record(refusal('flood'));
    await audit.flush();

    expect((await rows("SELECT count(*)::int AS n FROM auth_refusals WHERE correlation_id = 'flood'"))[0].n).toBe(10_000);
    expect(logs.lines).toEqual([expect.objectContaining({ level: 'error', msg: 'refusal audit queue full: rows dropped', rows: 50 })]);
    // The log line and the count are not dropped.
    expect(metrics.counts.invalid_credentials).toBe(10_050);
  });

  it('loses a batch the database refuses, logs it, and goes on with the next', async () => {
    const logs = new LogCapture();
    const audit = new RefusalAudit(createLogger('error', logs), undefined, dataSource);
    audit.record(refusal('bad-batch', { status: 200 }));
    await audit.flush();
    audit.record(refusal('after-bad-batch'));
    await audit.flush();

    expect(logs.lines).toEqual([expect.objectContaining({ msg: 'could not store refusal audit rows; they are lost', rows: 1 })]);
    expect(await rows("SELECT correlation_id FROM auth_refusals WHERE correlation_id LIKE '%bad-batch'")).toEqual([
      { correlation_id: 'after-bad-batch' },
    ]);
  });
});
