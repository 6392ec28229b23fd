import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import type { DataSource, QueryRunner } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { isDatabaseUnavailable } from '../../src/common/errors/database-errors.js';
import { toErrorResponse } from '../../src/common/errors/error-table.js';
import {
  SESSION_PURGE_LOCK_KEY,
  SessionLeaseLostError,
  SessionsRepository,
  type CompletedTurn,
} from '../../src/sessions/sessions.repository.js';
import { connect, createMigratedDatabase, openDataSource } from '../support/database.js';
import { FakeClock } from '../factories/fake-clock.js';
import { planNodes, type PlanNode } from '../support/query-plans.js';
import { TcpProxy } from '../support/tcp-proxy.js';

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
const IDLE = 30 * MINUTE;

const newAgent = () => `agent-${randomUUID().slice(0, 8)}`;

function completedTurn(label: string): CompletedTurn {
  return {
    user: { content: `question ${label}` },
    assistant: {
      content: `answer ${label}`,
      usage: { input_tokens: 3, output_tokens: 5, total_tokens: 8 },
      toolCalls: [{ name: 'lookup', arguments: { q: label }, output: `found ${label}`, duration_ms: 4 }],
    },
    principal: 'key:0123abcd',
    correlationId: `req-${label}`,
  };
}

/** Records the SQL and parameters of every statement the repository sends. */
function recordStatements(dataSource: DataSource): { sql: string; parameters: unknown[] }[] {
  const seen: { sql: string; parameters: unknown[] }[] = [];
  const original = dataSource.createQueryRunner.bind(dataSource);
  vi.spyOn(dataSource, 'createQueryRunner').mockImplementation((mode) => {
    const runner = original(mode);
    const query = runner.query.bind(runner);
    runner.query = ((sql: string, parameters?: unknown[], structured?: boolean) => {
      seen.push({ sql, parameters: parameters ?? [] });
      return query(sql, parameters, structured as true);
    }) as QueryRunner['query'];
    return runner;
  });
  return seen;
}

describe('SessionsRepository on PostgreSQL', () => {
  const open: DataSource[] = [];
  const clients: pg.Client[] = [];
  let url: string;
  let primary: DataSource;
  let sql: pg.Client;

  async function dataSourceFor(databaseUrl: string, poolSize = 10): Promise<DataSource> {
    const dataSource = await openDataSource(databaseUrl, poolSize);
    open.push(dataSource);
    return dataSource;
  }

  async function clientFor(databaseUrl: string): Promise<pg.Client> {
    const client = await connect(databaseUrl);
    clients.push(client);
    return client;
  }

  /** A migrated database of its own, for tests that act on every session in it. */
  async function freshDatabase(): Promise<{ url: string; dataSource: DataSource; sql: pg.Client }> {
    const { url: databaseUrl, dataSource } = await createMigratedDatabase();
    open.push(dataSource);
    return { url: databaseUrl, dataSource, sql: await clientFor(databaseUrl) };
  }

  async function storedTurns(client: pg.Client, id: string) {
    const { rows } = await client.query<{ turn: number; role: string; correlation_id: string }>(
      'SELECT turn, role, correlation_id FROM session_messages WHERE session_id = $1 ORDER BY id',
      [id],
    );
    return rows;
  }

  beforeAll(async () => {
    ({ url, dataSource: primary } = await createMigratedDatabase());
    open.push(primary);
    sql = await clientFor(url);
  });

  afterAll(async () => {
    await Promise.all(clients.map((client) => client.end()));
    await Promise.all(open.map((dataSource) => dataSource.destroy()));
  });

  describe('create, find, list, delete', () => {
    it('creates a session with a URL-safe random id, echoes its metadata and records who created it', async () => {
      const clock = new FakeClock();
      const repository = new SessionsRepository(primary, clock.now);
      const agent = newAgent();

      const session = await repository.create({
        agent,
        metadata: { customer: 'acme' },
        principal: 'oidc:https://id.example#alice',
        correlationId: 'req-create',
      });
      const other = await repository.create({ agent, principal: 'anonymous', correlationId: 'req-other' });

      expect(session).toEqual({
        id: expect.stringMatching(/^sess_[A-Za-z0-9_-]{24}$/),
        agent,
        metadata: { customer: 'acme' },
        turns: 0,
        createdAt: clock.current,
        lastActiveAt: clock.current,
      });
      expect(other.id).not.toBe(session.id);
      expect(other.metadata).toEqual({});
      const { rows } = await sql.query('SELECT principal, correlation_id, status, lease_token FROM sessions WHERE id = $1', [session.id]);
      expect(rows).toEqual([
        { principal: 'oidc:https://id.example#alice', correlation_id: 'req-create', status: 'active', lease_token: null },
      ]);
    });

    it('finds a live session only for its own agent, and not once deleted', async () => {
      const repository = new SessionsRepository(primary);
      const agent = newAgent();
      const session = await repository.create({ agent, principal: 'anonymous', correlationId: 'req-1' });

      expect(await repository.findLive(agent, session.id, IDLE)).toEqual(session);
      expect(await repository.findLive('another-agent', session.id, IDLE)).toBeUndefined();
      expect(await repository.findLive(agent, 'sess_unknown', IDLE)).toBeUndefined();

      expect(await repository.softDelete('another-agent', session.id, null)).toBe(false);
      expect(await repository.softDelete(agent, session.id, null)).toBe(true);
      expect(await repository.softDelete(agent, session.id, null)).toBe(false);
      expect(await repository.findLive(agent, session.id, IDLE)).toBeUndefined();
      expect(await repository.claimTurn(agent, session.id, null, { leaseMs: 10_000, idleTimeoutMs: IDLE })).toEqual({
        status: 'not_found',
      });
      const { rows } = await sql.query('SELECT status, deleted_at FROM sessions WHERE id = $1', [session.id]);
      expect(rows).toEqual([{ status: 'deleted', deleted_at: expect.any(Date) }]);
    });

    it('lists live sessions newest first with limit, offset and the total, leaving out deleted and expired ones', async () => {
      const clock = new FakeClock();
      const repository = new SessionsRepository(primary, clock.now);
      const agent = newAgent();
      const create = async () => {
        const session = await repository.create({ agent, principal: 'anonymous', correlationId: randomUUID() });
        clock.advance(1_000);
        return session;
      };
      const expired = await create();
      clock.advance(IDLE);
      const [s2, s3, s4, s5] = [await create(), await create(), await create(), await create()];
      await repository.softDelete(agent, s3.id, null);
      await new SessionsRepository(primary, clock.now).create({ agent: newAgent(), principal: 'anonymous', correlationId: 'x' });

      const ids = async (limit: number, offset: number) => {
        const page = await repository.list(agent, null, { limit, offset }, IDLE);
        return { ids: page.sessions.map((session) => session.id), total: page.total };
      };
      expect(await ids(2, 0)).toEqual({ ids: [s5.id, s4.id], total: 3 });
      expect(await ids(2, 2)).toEqual({ ids: [s2.id], total: 3 });
      expect(await ids(20, 3)).toEqual({ ids: [], total: 3 });
      expect(await ids(100, 0)).toEqual({ ids: [s5.id, s4.id, s2.id], total: 3 });
      // With no idle timeout the old session is live again.
      const everything = await repository.list(agent, null, { limit: 100, offset: 0 }, 0);
      expect(everything.sessions.map((session) => session.id)).toEqual([s5.id, s4.id, s2.id, expired.id]);
      expect(everything.total).toBe(4);
      expect(everything.sessions[0]).toEqual(s5);
    });

    it('breaks ties between sessions created at the same instant by id, descending', async () => {
      const clock = new FakeClock();
      const repository = new SessionsRepository(primary, clock.now);
      const agent = newAgent();
      const created = await Promise.all([1, 2, 3, 4].map(() => repository.create({ agent, principal: 'anonymous', correlationId: 'tie' })));
      const page = await repository.list(agent, null, { limit: 10, offset: 0 }, IDLE);
      expect(page.sessions.map((session) => session.id)).toEqual(
        created.map((session) => session.id).sort((a, b) => (a < b ? 1 : a > b ? -1 : 0)),
      );
    });

    it('rejects a page outside the allowed range before querying', async () => {
      const repository = new SessionsRepository(primary);
      await expect(repository.list('a', null, { limit: 0, offset: 0 }, IDLE)).rejects.toThrow(RangeError);
      await expect(repository.list('a', null, { limit: 10, offset: -1 }, IDLE)).rejects.toThrow(RangeError);
    });
  });

  describe('turns and leases', () => {
    it('claims, stores and numbers turns from 1, with the audit columns of every message', async () => {
      const clock = new FakeClock();
      const repository = new SessionsRepository(primary, clock.now);
      const agent = newAgent();
      const session = await repository.create({ agent, principal: 'anonymous', correlationId: 'req-0', metadata: { tier: 'gold' } });

      const first = await repository.claimTurn(agent, session.id, null, { leaseMs: 60_000, idleTimeoutMs: IDLE });
      expect(first).toEqual({
        status: 'claimed',
        lease: {
          sessionId: session.id,
          token: expect.any(String),
          turn: 1,
          expiresAt: new Date(clock.current.getTime() + 60_000),
          // The claim reads the metadata, for `session.metadata` in the agent's expressions.
          metadata: { tier: 'gold' },
        },
      });
      if (first.status !== 'claimed') return;
      expect(await repository.claimTurn(agent, session.id, null, { leaseMs: 60_000, idleTimeoutMs: IDLE })).toEqual({ status: 'busy' });
      clock.advance(5_000);
      expect(await repository.appendTurn(session.id, first.lease.token, completedTurn('1'))).toBe(1);

      const second = await repository.claimTurn(agent, session.id, null, { leaseMs: 60_000, idleTimeoutMs: IDLE });
      expect(second.status === 'claimed' && second.lease.turn).toBe(2);
      if (second.status !== 'claimed') return;
      expect(await repository.appendTurn(session.id, second.lease.token, completedTurn('2'))).toBe(2);

      const history = await repository.history(agent, session.id, null);
      expect(history).toMatchObject({ id: session.id, turns: 2, lastActiveAt: clock.current });
      expect(history?.messages).toEqual([
        { turn: 1, role: 'user', content: 'question 1', createdAt: clock.current },
        {
          turn: 1,
          role: 'assistant',
          content: 'answer 1',
          createdAt: clock.current,
          usage: { input_tokens: 3, output_tokens: 5, total_tokens: 8 },
          toolCalls: [{ name: 'lookup', arguments: { q: '1' }, output: 'found 1', duration_ms: 4 }],
        },
        { turn: 2, role: 'user', content: 'question 2', createdAt: clock.current },
        expect.objectContaining({ turn: 2, role: 'assistant', content: 'answer 2' }),
      ]);
      const { rows } = await sql.query(
        'SELECT turn, role, principal, correlation_id FROM session_messages WHERE session_id = $1 ORDER BY id',
        [session.id],
      );
      expect(rows).toEqual([
        { turn: 1, role: 'user', principal: 'key:0123abcd', correlation_id: 'req-1' },
        { turn: 1, role: 'assistant', principal: 'key:0123abcd', correlation_id: 'req-1' },
        { turn: 2, role: 'user', principal: 'key:0123abcd', correlation_id: 'req-2' },
        { turn: 2, role: 'assistant', principal: 'key:0123abcd', correlation_id: 'req-2' },
      ]);
      const lease = await sql.query('SELECT lease_token, lease_expires_at FROM sessions WHERE id = $1', [session.id]);
      expect(lease.rows).toEqual([{ lease_token: null, lease_expires_at: null }]);
    });

    it('tells a missing, foreign or expired session (not_found) apart from a busy one', async () => {
      const clock = new FakeClock();
      const repository = new SessionsRepository(primary, clock.now);
      const agent = newAgent();
      const session = await repository.create({ agent, principal: 'anonymous', correlationId: 'req' });
      const options = { leaseMs: 60_000, idleTimeoutMs: IDLE };

      expect(await repository.claimTurn(agent, 'sess_missing', null, options)).toEqual({ status: 'not_found' });
      expect(await repository.claimTurn('someone-else', session.id, null, options)).toEqual({ status: 'not_found' });
      clock.advance(IDLE + 1);
      expect(await repository.claimTurn(agent, session.id, null, options)).toEqual({ status: 'not_found' });
      expect((await repository.claimTurn(agent, session.id, null, { ...options, idleTimeoutMs: 0 })).status).toBe('claimed');
    });

    it('releases a failed turn without storing anything, so the next turn gets the same number', async () => {
      const repository = new SessionsRepository(primary);
      const agent = newAgent();
      const session = await repository.create({ agent, principal: 'anonymous', correlationId: 'req' });
      const claim = await repository.claimTurn(agent, session.id, null, { leaseMs: 60_000, idleTimeoutMs: IDLE });
      if (claim.status !== 'claimed') throw new Error(`expected a claim, got ${claim.status}`);

      expect(await repository.releaseTurn(session.id, 'not-the-token')).toBe(false);
      expect(await repository.releaseTurn(session.id, claim.lease.token)).toBe(true);
      expect(await repository.releaseTurn(session.id, claim.lease.token)).toBe(false);
      await expect(repository.appendTurn(session.id, claim.lease.token, completedTurn('x'))).rejects.toThrow(SessionLeaseLostError);

      const next = await repository.claimTurn(agent, session.id, null, { leaseMs: 60_000, idleTimeoutMs: IDLE });
      expect(next.status === 'claimed' && next.lease.turn).toBe(1);
      expect(await storedTurns(sql, session.id)).toEqual([]);
      expect((await repository.findLive(agent, session.id, IDLE))?.turns).toBe(0);
    });

    it('lets an expired lease be taken over; the old holder can then neither renew nor store', async () => {
      const clock = new FakeClock();
      const repository = new SessionsRepository(primary, clock.now);
      const agent = newAgent();
      const session = await repository.create({ agent, principal: 'anonymous', correlationId: 'req' });
      const options = { leaseMs: 10_000, idleTimeoutMs: IDLE };

      const crashed = await repository.claimTurn(agent, session.id, null, options);
      if (crashed.status !== 'claimed') throw new Error(`expected a claim, got ${crashed.status}`);
      clock.advance(9_999);
      expect(await repository.claimTurn(agent, session.id, null, options)).toEqual({ status: 'busy' });
      clock.advance(1);
      const takeover = await repository.claimTurn(agent, session.id, null, options);
      if (takeover.status !== 'claimed') throw new Error(`expected a takeover, got ${takeover.status}`);
      expect(takeover.lease.turn).toBe(1);
      expect(takeover.lease.token).not.toBe(crashed.lease.token);

      expect(await repository.renewLease(session.id, crashed.lease.token, 10_000)).toBe(false);
      const lost = repository.appendTurn(session.id, crashed.lease.token, completedTurn('stale'));
      await expect(lost).rejects.toThrow(SessionLeaseLostError);
      // A domain error without an HTTP status; the error table answers it 409.
      await expect(lost).rejects.toMatchObject({ code: 'session_busy' });
      expect(toErrorResponse(await lost.catch((error: unknown) => error)).status).toBe(409);
      expect(await storedTurns(sql, session.id)).toEqual([]);

      expect(await repository.appendTurn(session.id, takeover.lease.token, completedTurn('fresh'))).toBe(1);
      expect(await storedTurns(sql, session.id)).toEqual([
        { turn: 1, role: 'user', correlation_id: 'req-fresh' },
        { turn: 1, role: 'assistant', correlation_id: 'req-fresh' },
      ]);
    });

    it('keeps a renewed lease past its first expiry', async () => {
      const clock = new FakeClock();
      const repository = new SessionsRepository(primary, clock.now);
      const agent = newAgent();
      const session = await repository.create({ agent, principal: 'anonymous', correlationId: 'req' });
      const options = { leaseMs: 1_000, idleTimeoutMs: IDLE };
      const claim = await repository.claimTurn(agent, session.id, null, options);
      if (claim.status !== 'claimed') throw new Error(`expected a claim, got ${claim.status}`);

      clock.advance(800);
      expect(await repository.renewLease(session.id, claim.lease.token, 1_000)).toBe(true);
      clock.advance(800);
      expect(await repository.claimTurn(agent, session.id, null, options)).toEqual({ status: 'busy' });
      clock.advance(201);
      expect((await repository.claimTurn(agent, session.id, null, options)).status).toBe('claimed');
    });

    it('does not store a turn whose session was deleted while it ran', async () => {
      const repository = new SessionsRepository(primary);
      const agent = newAgent();
      const session = await repository.create({ agent, principal: 'anonymous', correlationId: 'req' });
      const claim = await repository.claimTurn(agent, session.id, null, { leaseMs: 60_000, idleTimeoutMs: IDLE });
      if (claim.status !== 'claimed') throw new Error(`expected a claim, got ${claim.status}`);
      await repository.softDelete(agent, session.id, null);

      await expect(repository.appendTurn(session.id, claim.lease.token, completedTurn('late'))).rejects.toThrow(SessionLeaseLostError);
      expect(await storedTurns(sql, session.id)).toEqual([]);
    });
  });

  describe('concurrency', () => {
    /** One "continue": claim, a model call of random length, then store. */
    async function continueOnce(repository: SessionsRepository, agent: string, id: string, label: string) {
      const claim = await repository.claimTurn(agent, id, null, { leaseMs: 30_000, idleTimeoutMs: IDLE });
      if (claim.status !== 'claimed') return { status: claim.status, label };
      await sleep(Math.random() * 20);
      const turn = await repository.appendTurn(id, claim.lease.token, completedTurn(label));
      return { status: 'claimed' as const, label, claimedTurn: claim.lease.turn, turn };
    }

    async function expectContiguousTurns(id: string, results: Awaited<ReturnType<typeof continueOnce>>[]) {
      const succeeded = results.filter((result) => result.status === 'claimed');
      const n = succeeded.length;
      const expectedTurns = Array.from({ length: n }, (_, i) => i + 1);
      expect(results.every((result) => result.status === 'claimed' || result.status === 'busy')).toBe(true);
      expect(n).toBeGreaterThan(0);
      expect(results.length - n).toBeGreaterThan(0);
      for (const result of succeeded) expect(result.turn).toBe(result.claimedTurn);
      expect(succeeded.map((result) => result.turn).sort((a, b) => a - b)).toEqual(expectedTurns);

      const rows = await storedTurns(sql, id);
      expect(rows).toHaveLength(2 * n);
      expect(rows.map((row) => [row.turn, row.role])).toEqual(
        expectedTurns.flatMap((turn) => [
          [turn, 'user'],
          [turn, 'assistant'],
        ]),
      );
      // The two rows of a turn come from the request that claimed it.
      for (const result of succeeded) {
        expect(rows.filter((row) => row.turn === result.turn).map((row) => row.correlation_id)).toEqual([
          `req-${result.label}`,
          `req-${result.label}`,
        ]);
      }
      const session = await sql.query('SELECT turns, lease_token FROM sessions WHERE id = $1', [id]);
      expect(session.rows).toEqual([{ turns: n, lease_token: null }]);
    }

    it('20 concurrent turns on one session: each is stored or busy, and stored turns are 1..n', async () => {
      const repository = new SessionsRepository(primary);
      const agent = newAgent();
      const session = await repository.create({ agent, principal: 'anonymous', correlationId: 'req' });

      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => continueOnce(repository, agent, session.id, String(i))));
      await expectContiguousTurns(session.id, results);
    });

    it('two replicas on one database share sessions and take turns on the same one', async () => {
      const replicaA = new SessionsRepository(primary);
      const replicaB = new SessionsRepository(await dataSourceFor(url));
      const agent = newAgent();
      const session = await replicaA.create({ agent, principal: 'anonymous', correlationId: 'req' });
      expect(await replicaB.findLive(agent, session.id, IDLE)).toEqual(session);

      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          continueOnce(i % 2 === 0 ? replicaA : replicaB, agent, session.id, `${i % 2 === 0 ? 'a' : 'b'}${i}`),
        ),
      );
      await expectContiguousTurns(session.id, results);
      expect((await replicaA.findLive(agent, session.id, IDLE))?.turns).toBe(results.filter((r) => r.status === 'claimed').length);
    });
  });

  describe('memory window', () => {
    it('returns exactly the newest N messages, oldest first', async () => {
      const repository = new SessionsRepository(primary);
      const agent = newAgent();
      const session = await repository.create({ agent, principal: 'anonymous', correlationId: 'req' });
      for (let i = 1; i <= 7; i++) {
        const claim = await repository.claimTurn(agent, session.id, null, { leaseMs: 60_000, idleTimeoutMs: IDLE });
        if (claim.status !== 'claimed') throw new Error(`expected a claim, got ${claim.status}`);
        await repository.appendTurn(session.id, claim.lease.token, completedTurn(String(i)));
      }

      expect(await repository.memoryWindow(session.id, 5)).toEqual([
        { role: 'assistant', content: 'answer 5' },
        { role: 'user', content: 'question 6' },
        { role: 'assistant', content: 'answer 6' },
        { role: 'user', content: 'question 7' },
        { role: 'assistant', content: 'answer 7' },
      ]);
      expect(await repository.memoryWindow(session.id, 100)).toHaveLength(14);
      expect((await repository.memoryWindow(session.id, 100))[0]).toEqual({ role: 'user', content: 'question 1' });
      expect(await repository.memoryWindow(session.id, 0)).toEqual([]);
    });

    it('reads the window through its index with a LIMIT, touching only N of 5,000 rows', async () => {
      const agent = newAgent();
      const target = await new SessionsRepository(primary).create({ agent, principal: 'anonymous', correlationId: 'req' });
      await sql.query(
        `INSERT INTO sessions (id, agent, principal, correlation_id, turns)
         SELECT 'sess_bulk_' || $1 || '_' || s, $1, 'anonymous', 'bulk', 100 FROM generate_series(1, 100) s`,
        [agent],
      );
      await sql.query(
        `INSERT INTO session_messages (session_id, turn, role, content, principal, correlation_id)
         SELECT 'sess_bulk_' || $1 || '_' || s, (g + 1) / 2, CASE WHEN g % 2 = 1 THEN 'user' ELSE 'assistant' END,
                'bulk ' || g, 'anonymous', 'bulk'
         FROM generate_series(1, 100) s, generate_series(1, 200) g`,
        [agent],
      );
      await sql.query(
        `INSERT INTO session_messages (session_id, turn, role, content, principal, correlation_id)
         SELECT $1, (g + 1) / 2, CASE WHEN g % 2 = 1 THEN 'user' ELSE 'assistant' END, 'message ' || g, 'anonymous', 'bulk'
         FROM generate_series(1, 5000) g ORDER BY g`,
        [target.id],
      );
      await sql.query('UPDATE sessions SET turns = 2500 WHERE id = $1', [target.id]);
      await sql.query('ANALYZE sessions, session_messages');

      const recordingSource = await dataSourceFor(url, 2);
      const statements = recordStatements(recordingSource);
      const window = await new SessionsRepository(recordingSource).memoryWindow(target.id, 50);
      expect(window).toHaveLength(50);
      expect(window[0]).toEqual({ role: 'user', content: 'message 4951' });
      expect(window[49]).toEqual({ role: 'assistant', content: 'message 5000' });
      expect(statements).toHaveLength(1);

      const { sql: windowSql, parameters } = statements[0];
      const explained = await sql.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${windowSql}`, parameters);
      const root = (explained.rows[0]['QUERY PLAN'] as { Plan: PlanNode }[])[0].Plan;
      const nodes = planNodes(root);

      expect(root['Node Type']).toBe('Limit');
      expect(nodes.some((node) => node['Node Type'] === 'Seq Scan')).toBe(false);
      expect(nodes.some((node) => node['Node Type'] === 'Sort')).toBe(false);
      const scan = root.Plans?.[0];
      expect(scan).toMatchObject({ 'Node Type': 'Index Scan', 'Index Name': 'ix_session_messages_session_id_turn_id' });
      expect(scan?.['Actual Rows']).toBe(50);
    });
  });

  describe('expiry and retention (injected clock)', () => {
    it('expires a session idle longer than the timeout; a stored turn keeps it alive; 0 never expires', async () => {
      const clock = new FakeClock();
      const repository = new SessionsRepository(primary, clock.now);
      const agent = newAgent();
      const idle = await repository.create({ agent, principal: 'anonymous', correlationId: 'req' });
      const busy = await repository.create({ agent, principal: 'anonymous', correlationId: 'req' });

      clock.advance(20 * MINUTE);
      const claim = await repository.claimTurn(agent, busy.id, null, { leaseMs: 60_000, idleTimeoutMs: IDLE });
      if (claim.status !== 'claimed') throw new Error(`expected a claim, got ${claim.status}`);
      await repository.appendTurn(busy.id, claim.lease.token, completedTurn('1'));

      clock.advance(10 * MINUTE);
      expect(await repository.findLive(agent, idle.id, IDLE)).toMatchObject({ id: idle.id });
      expect((await repository.countActiveByAgent(IDLE)).get(agent)).toBe(2);

      clock.advance(1);
      expect(await repository.findLive(agent, idle.id, IDLE)).toBeUndefined();
      expect(await repository.history(agent, idle.id, null, IDLE)).toBeUndefined();
      expect(await repository.history(agent, idle.id, null)).toMatchObject({ id: idle.id, messages: [] });
      expect(await repository.findLive(agent, busy.id, IDLE)).toMatchObject({ id: busy.id, turns: 1 });
      const page = await repository.list(agent, null, { limit: 10, offset: 0 }, IDLE);
      expect({ ids: page.sessions.map((session) => session.id), total: page.total }).toEqual({ ids: [busy.id], total: 1 });
      expect((await repository.countActiveByAgent(IDLE)).get(agent)).toBe(1);

      clock.advance(365 * DAY);
      expect(await repository.findLive(agent, idle.id, 0)).toMatchObject({ id: idle.id });
      expect((await repository.countActiveByAgent(0)).get(agent)).toBe(2);
      expect((await repository.countActiveByAgent(IDLE)).has(agent)).toBe(false);
    });

    it('counts live sessions per agent, leaving out deleted and expired ones', async () => {
      const clock = new FakeClock();
      const repository = new SessionsRepository(primary, clock.now);
      const [a, b] = [newAgent(), newAgent()];
      const expired = await repository.create({ agent: a, principal: 'anonymous', correlationId: 'req' });
      clock.advance(IDLE + 1);
      await repository.create({ agent: a, principal: 'anonymous', correlationId: 'req' });
      await repository.create({ agent: a, principal: 'anonymous', correlationId: 'req' });
      const deleted = await repository.create({ agent: a, principal: 'anonymous', correlationId: 'req' });
      await repository.softDelete(a, deleted.id, null);
      await repository.create({ agent: b, principal: 'anonymous', correlationId: 'req' });

      const counts = await repository.countActiveByAgent(IDLE);
      expect([counts.get(a), counts.get(b)]).toEqual([2, 1]);
      expect((await repository.countActiveByAgent(0)).get(a)).toBe(3);
      expect(await repository.findLive(a, expired.id, 0)).toBeDefined();
    });

    it('purges sessions and their messages past the retention, in batches, sparing recent ones and running turns', async () => {
      const { dataSource, sql: db } = await freshDatabase();
      const clock = new FakeClock();
      const repository = new SessionsRepository(dataSource, clock.now);
      const agent = newAgent();
      const withTurn = async () => {
        const session = await repository.create({ agent, principal: 'anonymous', correlationId: 'req' });
        const claim = await repository.claimTurn(agent, session.id, null, { leaseMs: 60_000, idleTimeoutMs: 0 });
        if (claim.status !== 'claimed') throw new Error(`expected a claim, got ${claim.status}`);
        await repository.appendTurn(session.id, claim.lease.token, completedTurn('old'));
        return session;
      };
      const old = [await withTurn(), await withTurn(), await withTurn(), await withTurn()];
      const deleted = await repository.create({ agent, principal: 'anonymous', correlationId: 'req' });
      await repository.softDelete(agent, deleted.id, null);
      const running = await repository.create({ agent, principal: 'anonymous', correlationId: 'req' });
      clock.advance(91 * DAY);
      const recent = await withTurn();
      const runningClaim = await repository.claimTurn(agent, running.id, null, { leaseMs: 60_000, idleTimeoutMs: 0 });
      expect(runningClaim.status).toBe('claimed');

      const statements = recordStatements(dataSource);
      expect(await repository.purgeExpired(90 * DAY, 2)).toBe(5);
      expect(statements.filter((statement) => statement.sql.trimStart().startsWith('DELETE'))).toHaveLength(3);

      const sessions = await db.query<{ id: string }>('SELECT id FROM sessions ORDER BY id');
      expect(sessions.rows.map((row) => row.id)).toEqual([recent.id, running.id].sort());
      const messages = await db.query<{ session_id: string; n: number }>(
        'SELECT session_id, count(*)::int AS n FROM session_messages GROUP BY session_id',
      );
      expect(messages.rows).toEqual([{ session_id: recent.id, n: 2 }]);
      expect(old.map((session) => session.id)).not.toContain(recent.id);

      clock.advance(60_000);
      expect(await repository.purgeExpired(90 * DAY, 2)).toBe(1);
      expect(await repository.purgeExpired(90 * DAY, 2)).toBe(0);
      const left = await db.query<{ id: string }>('SELECT id FROM sessions');
      expect(left.rows).toEqual([{ id: recent.id }]);
    });

    it('skips the purge while another replica holds the purge lock, and purges once it is free', async () => {
      const { url: databaseUrl, dataSource, sql: db } = await freshDatabase();
      const clock = new FakeClock();
      const replicaA = new SessionsRepository(dataSource, clock.now);
      const replicaB = new SessionsRepository(await dataSourceFor(databaseUrl), clock.now);
      const agent = newAgent();
      for (let i = 0; i < 6; i++) await replicaA.create({ agent, principal: 'anonymous', correlationId: 'req' });
      clock.advance(2 * DAY);

      const holders = async () => {
        const { rows } = await db.query(
          `SELECT count(*)::int AS n FROM pg_locks
           WHERE locktype = 'advisory' AND objsubid = 1 AND ((classid::bigint << 32) | objid::bigint) = $1`,
          [SESSION_PURGE_LOCK_KEY],
        );
        return rows[0].n as number;
      };
      const holder = await clientFor(databaseUrl);
      await holder.query('SELECT pg_advisory_lock($1)', [SESSION_PURGE_LOCK_KEY]);
      expect(await holders()).toBe(1);
      const started = Date.now();
      expect(await replicaA.purgeExpired(DAY, 100)).toBe(0);
      expect(Date.now() - started).toBeLessThan(2_000);
      expect((await db.query('SELECT count(*)::int AS n FROM sessions')).rows[0].n).toBe(6);
      await holder.query('SELECT pg_advisory_unlock($1)', [SESSION_PURGE_LOCK_KEY]);

      const [a, b] = await Promise.all([replicaA.purgeExpired(DAY, 2), replicaB.purgeExpired(DAY, 2)]);
      expect(a + b).toBe(6);
      expect((await db.query('SELECT count(*)::int AS n FROM sessions')).rows[0].n).toBe(0);
      // Both replicas gave the lock back.
      expect(await holders()).toBe(0);
    });
  });

  describe('database outage', () => {
    let proxy: TcpProxy | undefined;
    afterAll(async () => {
      await proxy?.cut();
    });

    it('fails fast with an error recognised as "unavailable", stores nothing, and works again after restore', async () => {
      const { url: databaseUrl, sql: db } = await freshDatabase();
      proxy = TcpProxy.forUrl(databaseUrl);
      await proxy.start();
      const repository = new SessionsRepository(await dataSourceFor(proxy.rewrite(databaseUrl), 3));
      const agent = newAgent();
      const session = await repository.create({ agent, principal: 'anonymous', correlationId: 'req' });
      const claim = await repository.claimTurn(agent, session.id, null, { leaseMs: 60_000, idleTimeoutMs: IDLE });
      if (claim.status !== 'claimed') throw new Error(`expected a claim, got ${claim.status}`);

      await proxy.cut();
      for (const call of [
        () => repository.findLive(agent, session.id, IDLE),
        () => repository.appendTurn(session.id, claim.lease.token, completedTurn('lost')),
        () => repository.list(agent, null, { limit: 20, offset: 0 }, IDLE),
      ]) {
        const started = Date.now();
        const error = await call().then(
          () => undefined,
          (failure: unknown) => failure,
        );
        expect(error).toBeInstanceOf(Error);
        expect(isDatabaseUnavailable(error)).toBe(true);
        expect(Date.now() - started).toBeLessThan(5_000);
      }
      expect(await storedTurns(db, session.id)).toEqual([]);

      await proxy.restore();
      expect(await repository.findLive(agent, session.id, IDLE)).toMatchObject({ id: session.id, turns: 0 });
      expect(await repository.appendTurn(session.id, claim.lease.token, completedTurn('after'))).toBe(1);
      expect(await storedTurns(db, session.id)).toHaveLength(2);
    });
  });

  describe('owners (docs/security.md "Authorization")', () => {
    it("shows, continues and deletes a principal's own sessions only, unless given null (everyone's)", async () => {
      const repository = new SessionsRepository(primary);
      const agent = newAgent();
      const mine = await repository.create({ agent, principal: 'user:alice', correlationId: 'req-a1' });
      const mineToo = await repository.create({ agent, principal: 'user:alice', correlationId: 'req-a2' });
      const theirs = await repository.create({ agent, principal: 'user:bob', correlationId: 'req-b1' });
      const page = { limit: 10, offset: 0 };

      const own = await repository.list(agent, 'user:alice', page, IDLE);
      expect(own.sessions.map((s) => s.id).sort()).toEqual([mine.id, mineToo.id].sort());
      expect(own.total).toBe(2);
      expect(await repository.list(agent, 'user:alice', { limit: 1, offset: 1 }, IDLE)).toMatchObject({ total: 2 });
      expect((await repository.list(agent, 'user:carol', page, IDLE)).total).toBe(0);
      expect((await repository.list(agent, null, page, IDLE)).total).toBe(3);

      expect(await repository.history(agent, theirs.id, 'user:alice', IDLE)).toBeUndefined();
      expect(await repository.history(agent, theirs.id, 'user:bob', IDLE)).toMatchObject({ id: theirs.id });
      expect(await repository.history(agent, theirs.id, null, IDLE)).toMatchObject({ id: theirs.id });

      const options = { leaseMs: 60_000, idleTimeoutMs: IDLE };
      expect(await repository.claimTurn(agent, theirs.id, 'user:alice', options)).toEqual({ status: 'not_found' });
      const claim = await repository.claimTurn(agent, theirs.id, 'user:bob', options);
      expect(claim.status).toBe('claimed');
      // Someone else's busy session is still "not found", not "busy": its existence is not revealed.
      expect(await repository.claimTurn(agent, theirs.id, 'user:alice', options)).toEqual({ status: 'not_found' });
      expect(await repository.claimTurn(agent, theirs.id, null, options)).toEqual({ status: 'busy' });

      expect(await repository.softDelete(agent, theirs.id, 'user:alice')).toBe(false);
      expect(await repository.history(agent, theirs.id, null, IDLE)).toMatchObject({ id: theirs.id });
      expect(await repository.softDelete(agent, mine.id, 'user:alice')).toBe(true);
      expect(await repository.softDelete(agent, theirs.id, null)).toBe(true);
      expect((await repository.list(agent, null, page, IDLE)).sessions.map((s) => s.id)).toEqual([mineToo.id]);
    });

    it('serves an owner-filtered page from the (agent, principal, created_at) index', async () => {
      const { dataSource, sql: client } = await freshDatabase();
      const repository = new SessionsRepository(dataSource);
      await client.query(
        `INSERT INTO sessions (id, agent, principal, correlation_id)
         SELECT 'sess_' || lpad(i::text, 24, '0'), 'busy-agent', 'user:' || (i % 50), 'seed' FROM generate_series(1, 5000) AS i`,
      );
      await client.query('ANALYZE sessions');
      const seen = recordStatements(dataSource);
      await repository.list('busy-agent', 'user:7', { limit: 20, offset: 0 }, IDLE);
      const [{ sql: statement, parameters }] = seen.filter((s) => s.sql.includes('LEFT JOIN LATERAL'));
      const { rows } = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${statement}`, parameters);
      const plan = rows.map((row) => row['QUERY PLAN']).join('\n');
      expect(plan).toContain('ix_sessions_agent_principal_created_at');
      vi.restoreAllMocks();
    });
  });
});
