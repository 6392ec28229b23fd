import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { SessionsRepository, type CompletedTurn } from '../../src/sessions/sessions.repository.js';
import { FakeClock } from '../factories/fake-clock.js';
import { planNodes, type PlanNode } from '../support/query-plans.js';
import { connect, createMigratedDatabase, openDataSource } from '../support/database.js';

const MINUTE = 60_000;
const IDLE = 30 * MINUTE;
const WINDOW = 6;

const newAgent = () => `agent-${randomUUID().slice(0, 8)}`;

function completedTurn(label: string): CompletedTurn {
  return {
    user: { content: `question ${label}` },
    assistant: { content: `answer ${label}`, usage: { input_tokens: 1, output_tokens: 2, total_tokens: 3 } },
    principal: 'key:0123abcd',
    correlationId: `req-${label}`,
  };
}

/** The statements the repository sends as named prepared statements (the turn path), as sent. */
function recordPrepared(dataSource: DataSource): { name: string; text: string; values: unknown[] }[] {
  const seen: { name: string; text: string; values: unknown[] }[] = [];
  const pool = (dataSource.driver as unknown as { master: pg.Pool }).master;
  const query = pool.query.bind(pool) as (config: pg.QueryConfig) => Promise<pg.QueryResult>;
  vi.spyOn(pool, 'query').mockImplementation(((config: pg.QueryConfig) => {
    seen.push({ name: config.name ?? '', text: config.text, values: config.values ?? [] });
    return query(config);
  }) as never);
  return seen;
}

describe('session turn path and counters on PostgreSQL (issue 16)', () => {
  const open: DataSource[] = [];
  const clients: pg.Client[] = [];
  let url: string;
  let primary: DataSource;
  let sql: pg.Client;

  beforeAll(async () => {
    ({ url, dataSource: primary } = await createMigratedDatabase());
    open.push(primary);
    sql = await connect(url);
    clients.push(sql);
  });

  afterAll(async () => {
    await Promise.all(clients.map((client) => client.end()));
    await Promise.all(open.map((dataSource) => dataSource.destroy()));
  });

  describe('claim with the memory window', () => {
    it('reads the window with the claim: the newest messages, oldest first, in the same statement', async () => {
      const repository = new SessionsRepository(primary);
      const agent = newAgent();
      const session = await repository.create({ agent, principal: 'anonymous', correlationId: 'req' });
      const statements = recordPrepared(primary);
      for (let i = 1; i <= 4; i++) {
        const claim = await repository.claimTurn(agent, session.id, null, { leaseMs: 60_000, idleTimeoutMs: IDLE, memoryMessages: WINDOW });
        if (claim.status !== 'claimed') throw new Error(claim.status);
        const expected = Array.from({ length: i - 1 }, (_, k) => [
          { role: 'user', content: `question ${k + 1}` },
          { role: 'assistant', content: `answer ${k + 1}` },
        ])
          .flat()
          .slice(-WINDOW);
        expect(claim.memory).toEqual(expected);
        await repository.appendTurn(session.id, claim.lease.token, completedTurn(String(i)));
      }
      // Two statements per turn: the claim (with the window) and the store (with the release).
      expect(statements).toHaveLength(8);
      expect(new Set(statements.map((statement) => statement.name)).size).toBe(2);
      expect(
        await repository.claimTurn(agent, session.id, null, { leaseMs: 60_000, idleTimeoutMs: IDLE, memoryMessages: 0 }),
      ).toMatchObject({
        status: 'claimed',
        memory: [],
      });
    });

    it('includes a turn stored while the claim waited to take over its expired lease', async () => {
      const clock = new FakeClock();
      const repository = new SessionsRepository(primary, clock.now);
      const agent = newAgent();
      const options = { leaseMs: 1_000, idleTimeoutMs: 0, memoryMessages: WINDOW };
      const session = await repository.create({ agent, principal: 'anonymous', correlationId: 'req' });
      const slow = await repository.claimTurn(agent, session.id, null, options);
      if (slow.status !== 'claimed') throw new Error(slow.status);
      clock.advance(2_000);

      // The slow turn's store, still holding the token of its expired lease, held open: the
      // takeover below sees a free session in its snapshot, then waits for the row.
      const holder = await connect(url);
      clients.push(holder);
      await holder.query('BEGIN');
      await holder.query(
        `WITH bumped AS (
           UPDATE sessions SET turns = turns + 1, last_active_at = $3, lease_token = NULL, lease_expires_at = NULL
           WHERE id = $1 AND lease_token = $2 RETURNING id, turns)
         INSERT INTO session_messages (session_id, turn, role, content, principal, correlation_id)
         SELECT bumped.id, bumped.turns, m.role, m.content, 'p', 'c'
         FROM bumped CROSS JOIN (VALUES (1, 'user', 'late question'), (2, 'assistant', 'late answer')) AS m (n, role, content)
         ORDER BY m.n`,
        [session.id, slow.lease.token, clock.current],
      );
      const takeover = repository.claimTurn(agent, session.id, null, options);
      let waiting = false;
      for (let waited = 0; waited < 5_000 && !waiting; waited += 20) {
        const { rows } = await sql.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
        );
        waiting = rows[0].n > 0;
        if (!waiting) await sleep(20);
      }
      expect(waiting).toBe(true);
      await holder.query('COMMIT');

      expect(await takeover).toMatchObject({
        status: 'claimed',
        lease: { turn: 2 },
        memory: [
          { role: 'user', content: 'late question' },
          { role: 'assistant', content: 'late answer' },
        ],
      });
    });

    it('reads the window of a 10,000-message history through its index, under custom and generic plans', async () => {
      const repository = new SessionsRepository(primary);
      const agent = newAgent();
      const session = await repository.create({ agent, principal: 'anonymous', correlationId: 'req' });
      await sql.query(
        `INSERT INTO session_messages (session_id, turn, role, content, principal, correlation_id)
         SELECT $1, (g + 1) / 2, CASE WHEN g % 2 = 1 THEN 'user' ELSE 'assistant' END, 'message ' || g, 'anonymous', 'bulk'
         FROM generate_series(1, 10000) g ORDER BY g`,
        [session.id],
      );
      await sql.query('UPDATE sessions SET turns = 5000 WHERE id = $1', [session.id]);
      await sql.query('ANALYZE sessions, session_messages');

      const source = await openDataSource(url, 2);
      open.push(source);
      const statements = recordPrepared(source);
      const claim = await new SessionsRepository(source).claimTurn(agent, session.id, null, {
        leaseMs: 60_000,
        idleTimeoutMs: IDLE,
        memoryMessages: 50,
      });
      expect(claim.status === 'claimed' && claim.memory?.length).toBe(50);
      expect(claim.status === 'claimed' && claim.memory?.[49]).toEqual({ role: 'assistant', content: 'message 10000' });
      await sql.query('UPDATE sessions SET lease_token = NULL, lease_expires_at = NULL WHERE id = $1', [session.id]);

      const { text, values } = statements[0];
      const literal = (value: unknown) =>
        value == null
          ? 'NULL'
          : sql.escapeLiteral(typeof value === 'string' ? value : value instanceof Date ? value.toISOString() : JSON.stringify(value));
      for (const mode of ['force_custom_plan', 'force_generic_plan']) {
        await sql.query('BEGIN');
        try {
          await sql.query(`SET LOCAL plan_cache_mode = ${mode}`);
          await sql.query(`PREPARE claim_plan AS ${text}`);
          const explained = await sql.query(`EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE claim_plan(${values.map(literal).join(', ')})`);
          const nodes = planNodes((explained.rows[0]['QUERY PLAN'] as { Plan: PlanNode }[])[0].Plan);
          const messageScans = nodes.filter((node) => node['Relation Name'] === 'session_messages');
          expect(messageScans).toHaveLength(1);
          expect(messageScans[0]).toMatchObject({ 'Node Type': 'Index Scan', 'Index Name': 'ix_session_messages_session_id_turn_id' });
          expect(messageScans[0]['Actual Rows']).toBe(50);
        } finally {
          await sql.query('ROLLBACK');
          await sql.query('DEALLOCATE ALL');
        }
      }
    });

    it('two replicas racing on shared sessions: one turn at a time, every window current, nothing acknowledged lost', async () => {
      const replicas = [new SessionsRepository(primary), new SessionsRepository(await openDataSource(url, 5))];
      open.push((replicas[1] as unknown as { dataSource: DataSource }).dataSource);
      const agent = newAgent();
      const sessions = await Promise.all(
        Array.from({ length: 4 }, () => replicas[0].create({ agent, principal: 'anonymous', correlationId: 'req' })),
      );
      const acknowledged = new Map<string, number[]>(sessions.map((session) => [session.id, []]));
      let busy = 0;
      await Promise.all(
        Array.from({ length: 16 }, async (_, worker) => {
          const repository = replicas[worker % 2];
          for (let attempt = 0; attempt < 15; attempt++) {
            const session = sessions[(worker + attempt) % sessions.length];
            const claim = await repository.claimTurn(agent, session.id, null, {
              leaseMs: 30_000,
              idleTimeoutMs: IDLE,
              memoryMessages: WINDOW,
            });
            if (claim.status === 'busy') {
              busy++;
              continue;
            }
            if (claim.status !== 'claimed') throw new Error(claim.status);
            const previous = claim.lease.turn - 1;
            // The window ends with the previous turn's answer: never a stale snapshot.
            if (previous > 0) expect(claim.memory?.at(-1)?.content).toMatch(new RegExp(`^answer ${session.id}-${previous}-`));
            else expect(claim.memory).toEqual([]);
            await sleep(Math.random() * 5);
            const stored = await repository.appendTurn(
              session.id,
              claim.lease.token,
              completedTurn(`${session.id}-${claim.lease.turn}-${worker}`),
            );
            acknowledged.get(session.id)!.push(stored);
          }
        }),
      );
      expect(busy).toBeGreaterThan(0);
      for (const session of sessions) {
        const turns = acknowledged.get(session.id)!.sort((a, b) => a - b);
        expect(turns).toEqual(Array.from({ length: turns.length }, (_, i) => i + 1));
        const { rows } = await sql.query<{ turn: number; role: string; correlation_id: string }>(
          'SELECT turn, role, correlation_id FROM session_messages WHERE session_id = $1 ORDER BY turn, id',
          [session.id],
        );
        expect(rows.map((row) => [row.turn, row.role])).toEqual(
          turns.flatMap((turn) => [
            [turn, 'user'],
            [turn, 'assistant'],
          ]),
        );
        expect(rows.every((row) => row.correlation_id.startsWith(`req-${session.id}-${row.turn}-`))).toBe(true);
      }
    });
  });

  describe('session counts (list total and gauge)', () => {
    /** The exact count the counters stand for, counted row by row. */
    async function exactLive(client: pg.Client, agent: string, owner: string | null, at: Date, idleMs: number): Promise<number> {
      const { rows } = await client.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM sessions
         WHERE agent = $1 AND ($2::text IS NULL OR principal = $2) AND status = 'active'
           AND ($4::bigint <= 0 OR last_active_at >= $3::timestamptz - $4::bigint * interval '1 millisecond')`,
        [agent, owner, at, idleMs],
      );
      return rows[0].n;
    }

    it('keeps total exact under concurrent creates, turns, deletes and expiry, on two replicas, at every cut-off', async () => {
      const { url: databaseUrl, dataSource } = await createMigratedDatabase();
      open.push(dataSource);
      const other = await openDataSource(databaseUrl, 5);
      open.push(other);
      const db = await connect(databaseUrl);
      clients.push(db);
      const agent = newAgent();
      const principals = ['user:alice', 'user:bob', 'user:carol'];
      const start = new Date('2030-01-01T00:00:00.000Z').getTime();
      // Each worker has its own clock, spread over 40 minutes with second offsets, so that
      // sessions land in many minutes and move between them.
      await Promise.all(
        Array.from({ length: 12 }, async (_, worker) => {
          const clock = new FakeClock(new Date(start + worker * 17_000));
          const repository = new SessionsRepository(worker % 2 === 0 ? dataSource : other, clock.now);
          const mine: string[] = [];
          for (let step = 0; step < 25; step++) {
            clock.advance(Math.floor(Math.random() * 90_000));
            const roll = Math.random();
            if (roll < 0.45 || mine.length === 0) {
              const session = await repository.create({ agent, principal: principals[(worker + step) % 3], correlationId: 'req' });
              mine.push(session.id);
            } else if (roll < 0.8) {
              const id = mine[Math.floor(Math.random() * mine.length)];
              const claim = await repository.claimTurn(agent, id, null, { leaseMs: 30_000, idleTimeoutMs: 0, memoryMessages: 2 });
              if (claim.status === 'claimed') await repository.appendTurn(id, claim.lease.token, completedTurn(`${worker}-${step}`));
            } else {
              const id = mine.splice(Math.floor(Math.random() * mine.length), 1)[0];
              await repository.softDelete(agent, id, null);
            }
          }
        }),
      );

      const { rows } = await db.query<{ low: Date; high: Date }>(
        `SELECT min(last_active_at) AS low, max(last_active_at) AS high FROM sessions WHERE agent = $1`,
        [agent],
      );
      const checks: { at: Date; idle: number }[] = [{ at: rows[0].high, idle: 0 }];
      // Cut-offs at whole minutes, a millisecond around them, and at every session's own instant.
      const { rows: instants } = await db.query<{ at: Date }>('SELECT last_active_at AS at FROM sessions WHERE agent = $1', [agent]);
      for (const { at } of instants.slice(0, 15)) {
        for (const shift of [-1, 0, 1]) checks.push({ at: new Date(at.getTime() + IDLE + shift), idle: IDLE });
      }
      for (let t = rows[0].low.getTime(); t <= rows[0].high.getTime() + IDLE; t += MINUTE) {
        checks.push({ at: new Date(t + IDLE), idle: IDLE }, { at: new Date(t + IDLE - 1), idle: IDLE });
      }
      const check = async () => {
        for (const { at, idle } of checks) {
          const repository = new SessionsRepository(dataSource, () => at);
          for (const owner of [null, ...principals]) {
            const page = await repository.list(agent, owner, { limit: 1, offset: 0 }, idle);
            expect({ owner, at, total: page.total }).toEqual({ owner, at, total: await exactLive(db, agent, owner, at, idle) });
          }
          expect((await repository.countActiveByAgent(idle)).get(agent) ?? 0).toBe(await exactLive(db, agent, null, at, idle));
        }
      };
      await check();

      // Folding old minutes changes no count that is read.
      const latest = new Date(rows[0].high.getTime() + 5 * MINUTE);
      const folded = await new SessionsRepository(dataSource, () => latest).compactCounts(10 * MINUTE);
      expect(folded).toBeGreaterThan(0);
      const { rows: after } = await db.query<{ minutes: number }>(
        `SELECT count(DISTINCT minute)::int AS minutes FROM session_counts WHERE agent = $1 AND minute < $2`,
        [agent, Math.floor((latest.getTime() - 10 * MINUTE) / MINUTE)],
      );
      expect(after[0].minutes).toBe(1);
      checks.splice(0, checks.length, { at: latest, idle: 0 }, { at: latest, idle: 10 * MINUTE - 1 }, { at: latest, idle: 3 * MINUTE });
      await check();
    });

    it('follows the purge and direct writes: counters live in the same transaction as the rows', async () => {
      const { url: databaseUrl, dataSource } = await createMigratedDatabase();
      open.push(dataSource);
      const clock = new FakeClock();
      const repository = new SessionsRepository(dataSource, clock.now);
      const agent = newAgent();
      for (let i = 0; i < 5; i++) await repository.create({ agent, principal: 'user:alice', correlationId: 'req' });
      clock.advance(91 * 24 * 60 * MINUTE);
      const kept = await repository.create({ agent, principal: 'user:alice', correlationId: 'req' });
      expect((await repository.list(agent, 'user:alice', { limit: 1, offset: 0 }, 0)).total).toBe(6);
      expect(await repository.purgeExpired(90 * 24 * 60 * MINUTE, 2)).toBe(5);
      expect((await repository.list(agent, 'user:alice', { limit: 10, offset: 0 }, 0)).total).toBe(1);
      expect((await repository.list(agent, null, { limit: 10, offset: 0 }, 0)).sessions.map((s) => s.id)).toEqual([kept.id]);

      // A rolled-back create leaves no count behind.
      const db = await connect(databaseUrl);
      clients.push(db);
      await db.query('BEGIN');
      await db.query(`INSERT INTO sessions (id, agent, principal, correlation_id) VALUES ('sess_rolled_back', $1, 'user:alice', 'x')`, [
        agent,
      ]);
      await db.query('ROLLBACK');
      expect((await repository.list(agent, 'user:alice', { limit: 1, offset: 0 }, 0)).total).toBe(1);
    });
  });
});
