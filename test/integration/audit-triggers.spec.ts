import type pg from 'pg';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditChainRepository } from '../../src/audit/audit-chain.repository.js';
import { SessionsRepository } from '../../src/sessions/sessions.repository.js';
import { connect, createMigratedDatabase } from '../support/database.js';
import type { AuditEventRecord } from '../../src/audit/audit-events.repository.js';

/** A stored event as `SELECT *` reads it (no seal, no microsecond text). */
type EventRow = Omit<AuditEventRecord, 'seq' | 'at_us'>;

/**
 * Every record table writes its audit event through the triggers of migration 1764490200000,
 * in the writer's own transaction (docs/audit.md "Events").
 */
describe('audit event triggers', () => {
  let dataSource: DataSource;
  let sql: pg.Client;

  const eventsOf = async (correlationId: string): Promise<EventRow[]> =>
    (await sql.query<EventRow>('SELECT * FROM audit_events WHERE correlation_id = $1 ORDER BY id', [correlationId])).rows;

  beforeAll(async () => {
    const database = await createMigratedDatabase(4);
    dataSource = database.dataSource;
    sql = await connect(database.url);
  });
  afterAll(async () => {
    await sql?.end();
    await dataSource?.destroy();
  });

  it('records an invocation with its outcome and counters, never its input or output', async () => {
    await sql.query(
      `INSERT INTO invocations (id, agent, endpoint, principal, status, error_code, input_tokens, output_tokens, duration_ms,
                                correlation_id, input, output, created_at)
       VALUES ('inv_1', 'support', 'invoke', 'key:aa', 'completed', NULL, 3, 5, 42, 'c-inv-1', 'secret question', 'secret answer',
               '2030-01-01T00:00:00.123456Z'),
              ('inv_2', 'support', 'stream', 'key:aa', 'failed', 'provider_error', 0, 0, 7, 'c-inv-2', NULL, NULL, now()),
              ('inv_3', 'support', 'stream', 'key:aa', 'cancelled', 'client_closed', 0, 0, 7, 'c-inv-3', NULL, NULL, now())`,
    );
    const [ok] = await eventsOf('c-inv-1');
    expect(ok).toMatchObject({
      kind: 'invocation',
      outcome: 'ok',
      principal: 'key:aa',
      agent: 'support',
      pipeline: null,
      detail: { invocation_id: 'inv_1', endpoint: 'invoke', status: 'completed', input_tokens: 3, output_tokens: 5, duration_ms: 42 },
    });
    // Truncated to the millisecond, so the API's timestamps and cursors are exact.
    expect(ok.at.toISOString()).toBe('2030-01-01T00:00:00.123Z');
    expect(JSON.stringify(ok.detail)).not.toContain('secret');
    // Every event waits for the sealer.
    const pending = await sql.query('SELECT 1 FROM audit_pending WHERE event_id = $1', [ok.id]);
    expect(pending.rowCount).toBe(1);
    expect((await eventsOf('c-inv-2'))[0]).toMatchObject({ outcome: 'error', detail: { error_code: 'provider_error' } });
    expect((await eventsOf('c-inv-3'))[0]).toMatchObject({ outcome: 'cancelled' });
  });

  it('records a session created, one event per turn (the real appendTurn statement) and the deletion', async () => {
    const sessions = new SessionsRepository(dataSource);
    const session = await sessions.create({ agent: 'support', principal: 'key:bb', correlationId: 'c-sess', metadata: {} });
    const claim = await sessions.claimTurn('support', session.id, null, { leaseMs: 60_000, idleTimeoutMs: 0 });
    if (claim.status !== 'claimed') throw new Error(`turn not claimed: ${claim.status}`);
    await sessions.appendTurn(session.id, claim.lease.token, {
      user: { content: 'private question' },
      assistant: {
        content: 'private answer',
        usage: { input_tokens: 4, output_tokens: 6, total_tokens: 10 },
        toolCalls: [{ name: 'lookup', arguments: {}, output: 'x', duration_ms: 1 }],
      },
      principal: 'key:bb',
      correlationId: 'c-turn-1',
    });
    expect(await sessions.softDelete('support', session.id, null)).toBe(true);

    expect(await eventsOf('c-turn-1')).toEqual([
      expect.objectContaining({
        kind: 'session_turn',
        outcome: 'ok',
        principal: 'key:bb',
        agent: 'support',
        session_id: session.id,
        detail: { turn: 1, input_tokens: 4, output_tokens: 6, tool_calls: 1 },
      }),
    ]);
    const lifecycle = await eventsOf('c-sess');
    expect(lifecycle.map((event) => [event.kind, event.session_id, event.principal])).toEqual([
      ['session_created', session.id, 'key:bb'],
      ['session_deleted', session.id, 'key:bb'],
    ]);
    expect(lifecycle[1].detail).toEqual({ turns: 1 });
    expect(JSON.stringify(await eventsOf('c-turn-1'))).not.toContain('private');
  });

  it('records a pipeline run once, when it reaches a terminal status', async () => {
    const runId = 'run_0123456789ABCDEFGH';
    await sql.query(
      `INSERT INTO pipeline_runs (run_id, pipeline, input, status, principal, correlation_id, mode, definition)
       VALUES ($1, 'flow', 'in', 'queued', 'key:cc', 'c-run', 'async', '{}')`,
      [runId],
    );
    await sql.query(
      `UPDATE pipeline_runs SET status = 'running', owner = 'r1', heartbeat_at = now(), started_at = now() WHERE run_id = $1`,
      [runId],
    );
    expect(await eventsOf('c-run')).toEqual([]);
    await sql.query(
      `UPDATE pipeline_runs SET status = 'failed', finished_at = started_at + interval '1.5 seconds', error = '{"code": "pipeline_error"}',
              usage = '{"input_tokens": 2, "output_tokens": 3, "total_tokens": 5}'
       WHERE run_id = $1`,
      [runId],
    );
    // A later write to the finished row (a heartbeat, a cancel request) adds nothing.
    await sql.query(`UPDATE pipeline_runs SET heartbeat_at = now() WHERE run_id = $1`, [runId]);
    expect(await eventsOf('c-run')).toEqual([
      expect.objectContaining({
        kind: 'pipeline_run',
        outcome: 'error',
        principal: 'key:cc',
        pipeline: 'flow',
        run_id: runId,
        detail: {
          status: 'failed',
          mode: 'async',
          attempt: 0,
          error_code: 'pipeline_error',
          input_tokens: 2,
          output_tokens: 3,
          duration_ms: 1500,
        },
      }),
    ]);

    await sql.query(
      `INSERT INTO pipeline_runs (run_id, pipeline, input, status, principal, correlation_id, mode, definition, finished_at)
       VALUES ('run_ZYXWVUTSRQPONMLKJI', 'flow', 'in', 'cancelled', 'key:cc', 'c-run-2', 'sync', '{}', now())`,
    );
    expect((await eventsOf('c-run-2')).map((event) => event.outcome)).toEqual(['cancelled']);
  });

  it('records a refused request, without any credential', async () => {
    await sql.query(
      `INSERT INTO auth_refusals (status, code, reason, principal, ip, method, route, correlation_id)
       VALUES (403, 'forbidden', 'forbidden', 'key:dd', '10.1.2.3', 'POST', '/v1/agents/:name/invoke', 'c-refused'),
              (401, 'unauthorized', 'invalid_credentials', NULL, NULL, 'GET', NULL, 'c-refused-2')`,
    );
    expect(await eventsOf('c-refused')).toEqual([
      expect.objectContaining({
        kind: 'auth_refusal',
        outcome: 'refused',
        principal: 'key:dd',
        detail: { status: 403, code: 'forbidden', reason: 'forbidden', method: 'POST', route: '/v1/agents/:name/invoke', ip: '10.1.2.3' },
      }),
    ]);
    expect((await eventsOf('c-refused-2'))[0]).toMatchObject({ principal: null, detail: { status: 401, reason: 'invalid_credentials' } });
  });

  it('records every governance kind, with the outcome of its action and the pipeline of its run', async () => {
    const runId = 'run_GOVERNANCE000000001';
    await sql.query(
      `INSERT INTO pipeline_runs (run_id, pipeline, input, status, principal, correlation_id, mode, definition)
       VALUES ($1, 'guarded-flow', 'in', 'queued', 'key:ee', 'c-gov-run', 'async', '{}')`,
      [runId],
    );
    await sql.query(
      `INSERT INTO governance_events (kind, agent, name, action, side, endpoint, principal, correlation_id, session_id, run_id, step, detail)
       VALUES ('guardrail', 'support', 'no-pii', 'block', 'input', 'pipeline', 'key:ee', 'c-gov', NULL, $1, 'answer', '{"pattern": 1}'),
              ('guardrail', 'support', 'tone', 'warn', 'output', 'invoke', 'key:ee', 'c-gov', NULL, NULL, NULL, NULL),
              ('budget', 'support', 'daily', 'refuse', NULL, 'session', 'key:ee', 'c-gov', 'sess_x', NULL, NULL, NULL),
              ('validation', 'support', 'json', 'retry', 'output', 'invoke', 'key:ee', 'c-gov', NULL, NULL, NULL, NULL),
              ('delegation', 'support', 'billing', 'delegate', NULL, 'invoke', 'key:ee', 'c-gov', NULL, NULL, NULL, NULL)`,
      [runId],
    );
    const events = await eventsOf('c-gov');
    expect(events.map((event) => [event.kind, event.outcome, event.pipeline, event.run_id, event.session_id])).toEqual([
      ['guardrail', 'blocked', 'guarded-flow', runId, null],
      ['guardrail', 'warned', null, null, null],
      ['budget', 'refused', null, null, 'sess_x'],
      ['validation', 'warned', null, null, null],
      ['delegation', 'ok', null, null, null],
    ]);
    expect(events[0].detail).toEqual({
      name: 'no-pii',
      action: 'block',
      side: 'input',
      endpoint: 'pipeline',
      step: 'answer',
      detail: { pattern: 1 },
    });
  });

  it("writes nothing when the record's transaction rolls back", async () => {
    await sql.query('BEGIN');
    await sql.query(
      `INSERT INTO auth_refusals (status, code, reason, method, correlation_id) VALUES (401, 'unauthorized', 'missing_credentials', 'GET', 'c-rolled-back')`,
    );
    await sql.query('ROLLBACK');
    expect(await eventsOf('c-rolled-back')).toEqual([]);
  });

  it('refuses to change an event or, once sealed, its link', async () => {
    await sql.query(
      `INSERT INTO auth_refusals (status, code, reason, method, correlation_id) VALUES (401, 'unauthorized', 'missing_credentials', 'GET', 'c-guard')`,
    );
    const [event] = await eventsOf('c-guard');
    await expect(sql.query(`UPDATE audit_events SET principal = 'someone' WHERE id = $1`, [event.id])).rejects.toThrow(
      /audit_events rows cannot be changed/,
    );
    await new AuditChainRepository(dataSource).seal();
    await expect(
      sql.query(`UPDATE audit_chain_links SET hash = decode(repeat('11', 32), 'hex') WHERE event_id = $1`, [event.id]),
    ).rejects.toThrow(/audit_chain_links rows cannot be changed/);
  });
});
