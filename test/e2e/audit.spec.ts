import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { connect, createTestDatabase } from '../support/database.js';
import { eventually } from '../support/eventually.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import type { AuditEventDto } from '../../src/audit/dto/audit.dto.js';

/**
 * The audit API over HTTP (docs/audit.md), with the principals of test/fixtures/e2e-authorization:
 * alice (user of "support"), root (admin) and audit (auditor), by their user blocks' keys.
 */
const KEYS = {
  E2E_ALICE_KEY: 'e2e-alice-key-0123456789abcdef',
  E2E_BOB_KEY: 'e2e-bob-key-0123456789abcdef',
  E2E_CAROL_KEY: 'e2e-carol-key-0123456789abcdef',
  E2E_ROOT_KEY: 'e2e-root-key-0123456789abcdef',
  E2E_AUDIT_KEY: 'e2e-audit-key-0123456789abcdef',
};
const ALICE = { 'X-API-Key': KEYS.E2E_ALICE_KEY };
const CAROL = { 'X-API-Key': KEYS.E2E_CAROL_KEY };
const ROOT = { 'X-API-Key': KEYS.E2E_ROOT_KEY };
const AUDITOR = { 'X-API-Key': KEYS.E2E_AUDIT_KEY };
/** Everything but refusals, whose number grows with every refused call of this file. */
const ACTIVITY = 'kind=invocation,session_created,session_turn,session_deleted,pipeline_run';

/** The wire form of an event, as the API documents it. */
type AuditEvent = AuditEventDto;
interface Page {
  events: AuditEvent[];
  next_cursor: string | null;
}

describe('audit API', () => {
  let app: TestApp;
  let sql: pg.Client;
  let sessionId: string;
  let runId: string;
  let databaseUrl: string;
  const started = new Date();

  const call = (method: string, path: string, headers: Record<string, string>, body?: unknown): Promise<Response> =>
    fetch(`${app.url}${path}`, {
      method,
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  const ok = async <T>(response: Response): Promise<T> => {
    const text = await response.text();
    expect(response.status, text).toBe(200);
    return JSON.parse(text) as T;
  };
  const page = (query: string, headers = AUDITOR) => call('GET', `/v1/audit/events?${query}`, headers).then((r) => ok<Page>(r));

  beforeAll(async () => {
    for (const [name, value] of Object.entries(KEYS)) vi.stubEnv(name, value);
    databaseUrl = await createTestDatabase();
    app = await startTestApp({
      databaseUrl,
      env: {
        AGENTSPEC_DEFINITIONS: 'test/fixtures/e2e-authorization',
        AGENTSPEC_AUTH_FAILURE_LIMIT: 'off',
        AGENTSPEC_AUDIT_SEAL_INTERVAL: '200ms',
      },
    });
    sql = await connect(databaseUrl);

    for (let i = 0; i < 3; i++) await ok(await call('POST', '/v1/agents/support/invoke', ALICE, { input: `hello ${i}` }));
    sessionId = (await ok<{ session_id: string }>(await call('POST', '/v1/agents/support/sessions', ALICE, {}))).session_id;
    await ok(await call('POST', `/v1/agents/support/sessions/${sessionId}/continue`, ALICE, { input: 'one' }));
    await ok(await call('POST', `/v1/agents/support/sessions/${sessionId}/continue`, ALICE, { input: 'two' }));
    expect((await call('DELETE', `/v1/agents/support/sessions/${sessionId}`, ALICE)).status).toBe(204);
    runId = (await ok<{ run_id: string }>(await call('POST', '/v1/pipelines/support-flow/run', ROOT, { input: 'x' }))).run_id;
    expect((await call('POST', '/v1/agents/support/invoke', CAROL, { input: 'not mine' })).status).toBe(403);
    expect((await call('GET', '/v1/agents', { 'X-API-Key': 'e2e-not-a-key-0123456789abcdef' })).status).toBe(401);
    // Refusals are recorded after the answer.
    await eventually(async () => (await page('kind=auth_refusal')).events.length >= 2, { what: 'the two refusals in the audit' });
  });
  afterAll(async () => {
    await sql?.end();
    await app?.close();
    vi.unstubAllEnvs();
  });

  it('lists every kind of activity newest first, without message text', async () => {
    const { events, next_cursor } = await page('limit=500');
    expect(next_cursor).toBeNull();
    const kinds = events.map((event) => event.kind);
    expect(kinds.filter((kind) => kind === 'invocation')).toHaveLength(3);
    expect(kinds.filter((kind) => kind === 'session_turn')).toHaveLength(2);
    for (const kind of ['session_created', 'session_deleted', 'pipeline_run', 'auth_refusal']) expect(kinds, kind).toContain(kind);
    const order = events.map((event) => [Date.parse(event.at), Number(event.id)]);
    expect(order).toEqual([...order].sort((a, b) => b[0] - a[0] || b[1] - a[1]));
    expect(JSON.stringify(events)).not.toMatch(/hello|not mine/);

    const run = events.find((event) => event.kind === 'pipeline_run')!;
    expect(run).toMatchObject({ pipeline: 'support-flow', run_id: runId, outcome: 'ok', detail: { status: 'completed' } });
    const refusal = events.find((event) => event.kind === 'auth_refusal' && event.detail.status === 403)!;
    expect(refusal).toMatchObject({ outcome: 'refused', detail: { reason: 'forbidden', method: 'POST' } });
  });

  it('filters by principal, agent, pipeline, kind, outcome and time range', async () => {
    const [invocation] = (await page('kind=invocation&limit=1')).events;
    const alice = invocation.principal!;
    const own = await page(`principal=${encodeURIComponent(alice)}&${ACTIVITY}&limit=500`);
    expect(own.events.map((event) => event.kind).sort()).toEqual(
      ['invocation', 'invocation', 'invocation', 'session_created', 'session_deleted', 'session_turn', 'session_turn'].sort(),
    );
    expect((await page('agent=support&kind=session_turn')).events.map((event) => event.session_id)).toEqual([sessionId, sessionId]);
    expect((await page('pipeline=support-flow')).events.map((event) => event.run_id)).toEqual([runId]);
    expect((await page('kind=session_created&kind=session_deleted')).events.map((event) => event.kind).sort()).toEqual([
      'session_created',
      'session_deleted',
    ]);
    const refused = await page('outcome=refused,blocked&limit=500');
    expect(refused.events.length).toBeGreaterThanOrEqual(2);
    expect(refused.events.every((event) => event.outcome === 'refused')).toBe(true);
    expect((await page(`until=${started.toISOString()}`)).events).toEqual([]);
    const at = invocation.at;
    const exact = await page(`since=${at}&until=${new Date(Date.parse(at) + 1).toISOString()}&kind=invocation`);
    expect(exact.events.map((event) => event.id)).toContain(invocation.id);
    expect((await page('agent=nobody')).events).toEqual([]);
  });

  it('pages with an opaque cursor: every event once, in order, then null', async () => {
    const all = (await page(`${ACTIVITY}&limit=500`)).events.map((event) => event.id);
    expect(all.length).toBe(8);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const next: Page = await page(`${ACTIVITY}&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(next.events.length).toBeLessThanOrEqual(2);
      seen.push(...next.events.map((event) => event.id));
      cursor = next.next_cursor;
      pages++;
    } while (cursor && pages < 20);
    expect(seen).toEqual(all);
    expect(pages).toBe(4);
  });

  it.each([
    ['kind=nonsense', 'kind'],
    ['outcome=ok,maybe', 'outcome'],
    ['limit=0', 'limit'],
    ['limit=501', 'limit'],
    ['limit=ten', 'limit'],
    ['since=yesterday', 'since'],
    ['until=2026-13-01T00:00:00Z', 'until'],
    ['since=2026-01-01T00:00:60Z', 'since'],
    ['since=0000-01-01T00:00:00Z', 'since'],
    ['until=2026-02-31', 'until'],
    ['until=2026-02-29T00:00:00Z', 'until'],
    ['since=2026-01-01T00:00:00.1234567Z', 'since'],
    ['cursor=not-a-cursor', 'cursor'],
    ['principal=a&principal=b', 'principal'],
    ['colour=blue', 'colour'],
  ])('refuses %s with invalid_request naming %s', async (query, field) => {
    const response = await call('GET', `/v1/audit/events?${query}`, AUDITOR);
    const body = (await response.json()) as { error: { code: string; message: string; details?: { field: string }[] } };
    expect(response.status).toBe(400);
    expect(body.error.code).toBe('invalid_request');
    expect(body.error.details?.map((detail) => detail.field)).toContain(field);
  });

  it.each(['export?format=jsonl&', 'export?format=csv&', 'events?'])(
    'refuses a timestamp JS or PostgreSQL cannot represent: /v1/audit/%s',
    async (route) => {
      for (const [query, field] of [
        ['since=2026-01-01T00:00:60Z', 'since'],
        ['until=0000-01-01T00:00:00Z', 'until'],
      ]) {
        const response = await call('GET', `/v1/audit/${route}${query}`, AUDITOR);
        expect(response.status, query).toBe(400);
        expect(((await response.json()) as { error: { details: { field: string }[] } }).error.details.map((d) => d.field)).toContain(field);
      }
    },
  );

  it('takes since/until to the microsecond: the inclusive and exclusive boundaries stay exact', async () => {
    const [event] = (await page('kind=invocation&limit=1')).events;
    const { rows } = await sql.query<{ at: string }>(
      `SELECT to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS at FROM audit_events WHERE id = $1`,
      [event.id],
    );
    const exact = rows[0].at;
    const next = `${exact.slice(0, -2)}${(Number(exact.slice(-2, -1)) + 1) % 10}Z`;
    const ids = async (query: string) => (await page(`kind=invocation&limit=500&${query}`)).events.map((e) => e.id);
    expect(await ids(`since=${exact}`)).toContain(event.id);
    expect(await ids(`until=${exact}`)).not.toContain(event.id);
    if (!next.endsWith('0Z')) {
      expect(await ids(`since=${next}`)).not.toContain(event.id);
      expect(await ids(`until=${next}`)).toContain(event.id);
    }
  });

  it('refuses a cursor with filters other than those it was made with', async () => {
    const first = await page(`${ACTIVITY}&limit=2`);
    expect(first.next_cursor).not.toBeNull();
    const cursor = first.next_cursor!;
    expect(
      (await page(`kind=session_deleted,pipeline_run,session_turn,session_created,invocation&limit=3&cursor=${cursor}`)).events.length,
    ).toBe(3);
    for (const query of [`kind=invocation&limit=2`, `limit=2`, `${ACTIVITY}&limit=2&agent=support`, `${ACTIVITY}&since=2026-01-01`]) {
      const response = await call('GET', `/v1/audit/events?${query}&cursor=${cursor}`, AUDITOR);
      const body = (await response.json()) as { error: { code: string; message: string; details: { field: string }[] } };
      expect(response.status, query).toBe(400);
      expect(body.error).toMatchObject({ code: 'invalid_request', details: [{ field: 'cursor' }] });
      expect(body.error.message).toContain('other filters');
    }
  });

  it.each(['jsonl', 'csv'])('export (%s): a database failure before the first byte is a 503 with the envelope', async (format) => {
    // Hold the table so the export's first query waits, then cut that query's connection.
    const blocker = await connect(databaseUrl);
    try {
      await blocker.query('BEGIN');
      await blocker.query('LOCK TABLE audit_events IN ACCESS EXCLUSIVE MODE');
      const answer = call('GET', `/v1/audit/export?format=${format}&kind=invocation`, AUDITOR);
      let pid: number | undefined;
      await eventually(
        async () => {
          // Not from the blocker: inside its transaction pg_stat_activity is a cached snapshot.
          const { rows } = await sql.query<{ pid: number }>(
            `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' AND wait_event_type = 'Lock'
               AND query LIKE '%ORDER BY e.at DESC, e.id DESC LIMIT%' AND query LIKE '%e.kind =%'`,
          );
          pid = rows[0]?.pid;
          return pid !== undefined;
        },
        { what: 'the export waiting for the table' },
      );
      await sql.query('SELECT pg_terminate_backend($1)', [pid]);
      const response = await answer;
      expect(response.status).toBe(503);
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      expect(response.headers.get('content-disposition')).toBeNull();
      expect(await response.json()).toEqual({ error: { code: 'unavailable', message: expect.any(String) } });
    } finally {
      await blocker.query('ROLLBACK').catch(() => undefined);
      await blocker.end();
    }
    // And it recovers: the pool may hand out the terminated connection once more (503) before it
    // has noticed the connection's end; an export then works again.
    await eventually(
      async () => {
        const again = await call('GET', `/v1/audit/export?format=${format}&kind=invocation`, AUDITOR);
        await again.arrayBuffer();
        return again.status === 200;
      },
      { what: 'the export to work again after the terminated connection' },
    );
  });

  it('exports JSON lines as a streamed attachment, the same events as the list', async () => {
    const response = await call('GET', `/v1/audit/export?format=jsonl&${ACTIVITY}`, ROOT);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
    expect(response.headers.get('content-disposition')).toMatch(/^attachment; filename="audit-\d{8}T\d{6}Z\.jsonl"$/);
    expect(response.headers.get('transfer-encoding')).toBe('chunked');
    const lines = (await response.text()).split('\n');
    expect(lines.pop()).toBe('');
    const exported = lines.map((line) => JSON.parse(line) as AuditEvent);
    const listed = (await page(`${ACTIVITY}&limit=500`)).events;
    expect(exported.map((event) => event.id)).toEqual(listed.map((event) => event.id));
    expect(exported.map(({ seq: _seq, ...event }) => event)).toEqual(listed.map(({ seq: _seq, ...event }) => event));
  });

  it('exports CSV: a header, then one row per event with detail as JSON text', async () => {
    const response = await call('GET', '/v1/audit/export?format=csv&kind=pipeline_run', AUDITOR);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(response.headers.get('content-disposition')).toMatch(/filename="audit-\d{8}T\d{6}Z\.csv"$/);
    const rows = (await response.text()).split('\r\n');
    expect(rows[0]).toBe('id,seq,at,kind,outcome,principal,agent,pipeline,session_id,run_id,correlation_id,detail');
    expect(rows).toHaveLength(3);
    expect(rows[2]).toBe('');
    expect(rows[1]).toContain(`,pipeline_run,ok,`);
    expect(rows[1]).toContain(`,support-flow,,${runId},`);
    expect(rows[1]).toMatch(/,"\{""[^\r\n]*\}"$/);
    const refused = await call('GET', '/v1/audit/export?format=xml', AUDITOR);
    expect(refused.status).toBe(400);
  });

  it('seals events into the chain, verifies it, and names the link edited in SQL', async () => {
    await eventually(async () => (await ok<{ pending: number }>(await call('GET', '/v1/audit/chain', AUDITOR))).pending === 0, {
      what: 'every event sealed by the background sealer',
    });
    const verified = await ok<Record<string, unknown>>(await call('POST', '/v1/audit/chain/verify', AUDITOR));
    const { events } = await page('limit=500');
    expect(events.every((event) => Number.isInteger(event.seq))).toBe(true);
    expect(verified).toMatchObject({
      pending: 0,
      sealed: verified.head_seq,
      head_hash: expect.stringMatching(/^[0-9a-f]{64}$/),
      orphaned_pending: 0,
      last_verification: { status: 'ok', checked: verified.head_seq, first_broken: null, at: expect.any(String), anchor_seq: 0 },
    });
    expect(await ok(await call('GET', '/v1/audit/chain', ROOT))).toMatchObject({ last_verification: verified.last_verification });

    const target = events.find((event) => event.kind === 'pipeline_run')!;
    await sql.query('BEGIN; SET LOCAL session_replication_role = replica');
    await sql.query(`UPDATE audit_events SET outcome = 'error' WHERE id = $1`, [target.id]);
    await sql.query('COMMIT');
    const broken = await ok<{ last_verification: Record<string, unknown> }>(await call('POST', '/v1/audit/chain/verify', ROOT));
    expect(broken.last_verification).toMatchObject({
      status: 'broken',
      checked: target.seq,
      first_broken: { seq: target.seq, id: target.id, reason: 'hash_mismatch' },
    });
  });

  it.each([
    ['GET', '/v1/audit/events'],
    ['GET', '/v1/audit/export?format=csv'],
    ['GET', '/v1/audit/chain'],
    ['POST', '/v1/audit/chain/verify'],
  ])('%s %s: 403 for a user, 401 without a credential', async (method, path) => {
    const forbidden = await call(method, path, ALICE);
    expect(forbidden.status).toBe(403);
    expect(await forbidden.json()).toEqual({ error: { code: 'forbidden', message: expect.any(String) } });
    const anonymous = await call(method, path, {});
    expect(anonymous.status).toBe(401);
    expect(((await anonymous.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
  });
});
