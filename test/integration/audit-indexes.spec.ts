import type pg from 'pg';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditPageFilters, generateAuditEvents } from '../../bench/audit.bench.js';
import { AuditEventsRepository, pageQuery } from '../../src/audit/audit-events.repository.js';
import { planNodes, type PlanNode } from '../support/query-plans.js';
import { connect, createMigratedDatabase } from '../support/database.js';

const STORED = 1_000_000;

/**
 * The plan of every filtered first page over a million events (docs/audit.md "Indexes"): each
 * reads one of the audit_events indexes, never the whole table. The latency target itself
 * (p99 < 50 ms) is measured by `npm run bench -- audit` (bench/audit.bench.ts).
 */
describe('audit event pages over 1,000,000 events', () => {
  let dataSource: DataSource;
  let sql: pg.Client;
  const filters = auditPageFilters();

  beforeAll(async () => {
    const database = await createMigratedDatabase(2);
    dataSource = database.dataSource;
    sql = await connect(database.url);
    await generateAuditEvents(sql, STORED);
  }, 300_000);
  afterAll(async () => {
    await sql?.end();
    await dataSource?.destroy();
  });

  const planOf = async (sqlText: string, parameters: unknown[]): Promise<PlanNode[]> => {
    const { rows } = await sql.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(`EXPLAIN (FORMAT JSON) ${sqlText}`, parameters);
    return planNodes(rows[0]['QUERY PLAN'][0].Plan);
  };

  it.each(filters.map((entry) => [entry.name, entry] as const))(
    'first page, %s: an index of audit_events, no sequential scan',
    async (_, entry) => {
      const { sql: text, parameters } = pageQuery(entry.filter, undefined, 51);
      const plan = await planOf(text, parameters);
      expect(plan.filter((node) => node['Node Type'] === 'Seq Scan' && node['Relation Name'] === 'audit_events')).toEqual([]);
      const indexes = plan.filter((node) => node['Index Name']?.startsWith('ix_audit_events_')).map((node) => node['Index Name']);
      expect(indexes.length, JSON.stringify(plan.map((node) => node['Node Type']))).toBeGreaterThan(0);
    },
  );

  it('pages deep into a filter through the cursor on the same index, each page after the last', async () => {
    const repository = new AuditEventsRepository(dataSource);
    const filter = { principal: 'key:0042' };
    const first = await repository.page(filter, undefined, 500);
    const last = first[first.length - 1];
    const second = await repository.page(filter, { atUs: last.at_us, id: last.id }, 500);
    expect(second).toHaveLength(500);
    expect(second[0].at.getTime()).toBeLessThanOrEqual(last.at.getTime());
    expect(new Set([...first, ...second].map((row) => row.id)).size).toBe(1_000);

    const { sql: text, parameters } = pageQuery(filter, { atUs: last.at_us, id: last.id }, 51);
    const plan = await planOf(text, parameters);
    expect(plan.map((node) => node['Index Name']).filter((name) => name?.startsWith('ix_audit_events_'))).toEqual([
      'ix_audit_events_principal_at_id',
    ]);
  });

  it('answers a filtered first page without reading more than a few pages of the index', async () => {
    // Buffers touched, not time: a measure that does not depend on the machine's load.
    const { sql: text, parameters } = pageQuery({ agent: 'agent-7' }, undefined, 51);
    const { rows } = await sql.query<{ 'QUERY PLAN': [{ Plan: { 'Shared Hit Blocks': number; 'Shared Read Blocks': number } }] }>(
      `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${text}`,
      parameters,
    );
    const plan = rows[0]['QUERY PLAN'][0].Plan;
    expect(plan['Shared Hit Blocks'] + plan['Shared Read Blocks']).toBeLessThan(200);
  });
});
