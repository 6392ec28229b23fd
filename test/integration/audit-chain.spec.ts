import type pg from 'pg';
import type { DataSource } from 'typeorm';
import { afterEach, describe, expect, it } from 'vitest';
import { EXIT_MIGRATIONS_PENDING, runAuditCli } from '../../scripts/audit.js';
import { AUDIT_CHAIN_LOCK_KEY, AUDIT_VERIFY_LOCK_KEY, AuditChainRepository } from '../../src/audit/audit-chain.repository.js';
import { AuditMaintenance } from '../../src/audit/audit-maintenance.js';
import { type ChainedFields, EVENT_COLUMNS, GENESIS_HASH, linkHash } from '../../src/audit/chain-hash.js';
import { createLogger } from '../../src/common/logging/logger.js';
import { connect, createMigratedDatabase, createTestDatabase, openDataSource } from '../support/database.js';
import { eventually } from '../support/eventually.js';

const DAY = 86_400_000;

/**
 * The hash chain on PostgreSQL (docs/audit.md): sealing from several replicas at once, what
 * verification finds after edits made in SQL, and retention that keeps the chain verifiable.
 */
describe('audit hash chain', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    while (cleanup.length > 0) await cleanup.pop()!();
  });

  async function database(): Promise<{ url: string; dataSource: DataSource; sql: pg.Client; chain: AuditChainRepository }> {
    const { url, dataSource } = await createMigratedDatabase(4);
    const sql = await connect(url);
    cleanup.push(
      () => dataSource.destroy(),
      () => sql.end(),
    );
    return { url, dataSource, sql, chain: new AuditChainRepository(dataSource) };
  }

  /** `count` refused requests, so `count` audit events, `daysAgo` old. */
  async function refusals(sql: pg.Client, count: number, daysAgo = 0, label = 'r'): Promise<void> {
    await sql.query(
      `INSERT INTO auth_refusals (at, status, code, reason, method, correlation_id)
       SELECT now() - $2 * interval '1 day', 401, 'unauthorized', 'invalid_credentials', 'GET', $3 || '-' || n
       FROM generate_series(1, $1) AS n`,
      [count, daysAgo, label],
    );
  }

  const seqsOf = async (sql: pg.Client): Promise<number[]> =>
    (await sql.query<{ seq: string }>('SELECT seq FROM audit_chain_links ORDER BY seq')).rows.map((row) => Number(row.seq));
  /** The id of the event at `seq`. */
  const eventAt = async (sql: pg.Client, seq: number): Promise<string> =>
    (await sql.query<{ id: string }>('SELECT event_id::text AS id FROM audit_chain_links WHERE seq = $1', [seq])).rows[0].id;
  /** Runs SQL as an administrator who bypasses the triggers that refuse changes. */
  const bypassing = async (sql: pg.Client, statement: string, parameters: unknown[] = []): Promise<void> => {
    await sql.query('BEGIN');
    await sql.query('SET LOCAL session_replication_role = replica');
    await sql.query(statement, parameters);
    await sql.query('COMMIT');
  };

  it('stays one gapless chain when two replicas seal while events commit from both', async () => {
    const { url, sql, chain } = await database();
    const replica = await openDataSource(url, 4);
    cleanup.push(() => replica.destroy());
    const chains = [chain, new AuditChainRepository(replica)];
    const writers = [sql, await connect(url)];
    cleanup.push(() => writers[1].end());

    let writing = true;
    const sealers = chains.map(async (sealer) => {
      let rounds = 0;
      while (writing) {
        await sealer.seal(50, 2);
        rounds++;
      }
      return rounds;
    });
    // 40 transactions of 25 events from each writer, interleaved with both sealers' batches.
    await Promise.all(
      writers.map(async (writer, w) => {
        for (let round = 0; round < 40; round++) await refusals(writer, 25, 0, `w${w}-${round}`);
      }),
    );
    writing = false;
    expect(Math.min(...(await Promise.all(sealers)))).toBeGreaterThan(0);
    await chain.seal();

    const seqs = await seqsOf(sql);
    expect(seqs).toHaveLength(2_000);
    expect(seqs).toEqual(Array.from({ length: 2_000 }, (_, i) => i + 1));
    const verification = await chain.verify();
    expect(verification).toMatchObject({ status: 'ok', checked: 2_000, first_broken: null });
    expect(await chain.state()).toMatchObject({ headSeq: 2_000n, anchorSeq: 0n, pending: 0 });
  });

  it('seals a row whose transaction commits after higher ids were sealed, at the end of the chain', async () => {
    const { url, sql, chain } = await database();
    const late = await connect(url);
    cleanup.push(() => late.end());
    await late.query('BEGIN');
    await refusals(late, 1, 0, 'late');
    await refusals(sql, 3, 0, 'early');
    expect(await chain.seal()).toBe(3);
    await late.query('COMMIT');
    expect(await chain.seal()).toBe(1);

    const { rows } = await sql.query<{ id: string; seq: string; correlation_id: string }>(
      'SELECT e.id, l.seq, e.correlation_id FROM audit_events e JOIN audit_chain_links l ON l.event_id = e.id ORDER BY l.seq',
    );
    expect(rows.map((row) => row.correlation_id)).toEqual(['early-1', 'early-2', 'early-3', 'late-1']);
    // The late row has the lowest id but the last position: seq is the seal order.
    expect(Number(rows[3].id)).toBeLessThan(Number(rows[0].id));
    expect((await chain.verify()).status).toBe('ok');
  });

  it('names the first broken link of a row edited in SQL, with its seq and id', async () => {
    const { sql, chain } = await database();
    await refusals(sql, 30);
    await chain.seal();
    const id = await eventAt(sql, 17);
    // A trigger refuses edits; an administrator who bypasses triggers is still caught.
    await bypassing(sql, `UPDATE audit_events SET detail = detail || '{"status": 200}' WHERE id = $1`, [id]);

    const verification = await chain.verify();
    expect(verification).toMatchObject({
      status: 'broken',
      checked: 17,
      first_broken: { seq: 17, id, reason: 'hash_mismatch' },
    });
    expect((await chain.state()).lastVerification).toMatchObject({ status: 'broken', first_broken: { seq: 17, reason: 'hash_mismatch' } });
  });

  it('finds an event edited and its link re-hashed (the next link no longer follows), a deleted link (gap), a deleted event, and a truncated tail', async () => {
    const { sql, chain } = await database();
    await refusals(sql, 20);
    await chain.seal();

    // Edit event 9 and give its link the hash the new content deserves: link 10 no longer follows.
    const [ninth] = (
      await sql.query<Omit<ChainedFields, 'seq'> & { prev_hash: string }>(
        `SELECT ${EVENT_COLUMNS}, encode(l.prev_hash, 'hex') AS prev_hash
         FROM audit_chain_links l JOIN audit_events e ON e.id = l.event_id WHERE l.seq = 9`,
      )
    ).rows;
    const forged = linkHash(ninth.prev_hash, { ...ninth, seq: '9', principal: 'forged' });
    await bypassing(sql, `UPDATE audit_events SET principal = 'forged' WHERE id = $1`, [ninth.id]);
    await bypassing(sql, `UPDATE audit_chain_links SET hash = decode($1, 'hex') WHERE seq = 9`, [forged]);
    expect((await chain.verify()).first_broken).toEqual({ seq: 10, id: await eventAt(sql, 10), reason: 'prev_mismatch' });

    await sql.query('DELETE FROM audit_chain_links WHERE seq IN (4, 5)');
    expect((await chain.verify()).first_broken).toEqual({ seq: 4, id: await eventAt(sql, 6), reason: 'gap' });

    const { sql: other, chain: otherChain } = await database();
    await refusals(other, 5);
    await otherChain.seal();
    const third = await eventAt(other, 3);
    await other.query('DELETE FROM audit_events WHERE id = $1', [third]);
    expect((await otherChain.verify()).first_broken).toEqual({ seq: 3, id: third, reason: 'missing_event' });

    const { sql: truncated, chain: truncatedChain } = await database();
    await refusals(truncated, 5);
    await truncatedChain.seal();
    const fourth = await eventAt(truncated, 4);
    await truncated.query('DELETE FROM audit_chain_links WHERE seq = 5');
    expect((await truncatedChain.verify()).first_broken).toEqual({ seq: 5, id: fourth, reason: 'gap' });
  });

  it('purges expired events in batches, moving the anchor, and the chain still verifies', async () => {
    const { sql, chain } = await database();
    await refusals(sql, 250, 40, 'old');
    await refusals(sql, 10, 0, 'new');
    await refusals(sql, 5, 40, 'old-after-new');
    await chain.seal();

    const result = await chain.purge(new Date(Date.now() - 30 * DAY), 100);
    // Only the prefix of the chain: the old events sealed after a recent one stay, for now.
    expect(result).toEqual({ purged: 250, fromSeq: 1, toSeq: 250 });
    expect(await chain.state()).toMatchObject({ anchorSeq: 250n, headSeq: 265n });
    const anchor = await sql.query<{ hash: string }>(`SELECT encode(anchor_hash, 'hex') AS hash FROM audit_chain`);
    expect(anchor.rows[0].hash).not.toBe(GENESIS_HASH);
    expect((await seqsOf(sql))[0]).toBe(251);
    // The purged links' events are gone too; the others stay.
    const kept = await sql.query<{ label: string; events: number }>(
      `SELECT split_part(correlation_id, '-', 1) AS label, count(*)::int AS events FROM audit_events GROUP BY 1 ORDER BY 1`,
    );
    expect(kept.rows).toEqual([
      { label: 'new', events: 10 },
      { label: 'old', events: 5 },
    ]);
    const verified = await chain.verify();
    expect(verified).toMatchObject({ status: 'ok', checked: 15, first_broken: null, anchor_seq: 250 });
    // The oldest event left is the first link after the anchor: one of the 10 new ones.
    expect(Date.now() - Date.parse(verified.oldest_at!)).toBeLessThan(DAY);

    await refusals(sql, 3);
    await chain.seal();
    expect(await chain.verify()).toMatchObject({ status: 'ok', checked: 18 });
  });

  it('never purges a broken link: the purge stops before it', async () => {
    const { sql, chain } = await database();
    await refusals(sql, 10, 40);
    await chain.seal();
    await bypassing(sql, `UPDATE audit_events SET principal = 'forged' WHERE id = $1`, [await eventAt(sql, 6)]);

    const result = await chain.purge(new Date(), 4);
    expect(result).toMatchObject({ purged: 5, broken: { seq: 6, reason: 'hash_mismatch' } });
    expect((await seqsOf(sql))[0]).toBe(6);
    expect((await chain.verify()).first_broken).toMatchObject({ seq: 6, reason: 'hash_mismatch' });
  });

  const cli =
    (url: string) =>
    async (...args: string[]) => {
      let stdout = '';
      let stderr = '';
      const code = await runAuditCli(args, {
        env: { DATABASE_URL: url },
        stdout: (text) => (stdout += text),
        stderr: (text) => (stderr += text),
      });
      return { code, stdout, stderr };
    };

  it('npm run audit -- verify: exit 0 and a summary when intact, exit 3 naming the first broken link', async () => {
    const { url, sql } = await database();
    await refusals(sql, 12);
    const run = cli(url);

    const intact = await run('verify');
    expect(intact.code, intact.stderr).toBe(0);
    expect(intact.stdout).toMatch(
      /^ok: 12 links verified, head [0-9a-f]{64}; 0 events pending\nanchor {3}seq 0 \(nothing purged\); oldest event \S+ \(0\.0d old\); retention unset\n$/,
    );

    const id = await eventAt(sql, 8);
    await bypassing(sql, `UPDATE audit_events SET at = at - interval '1 hour' WHERE id = $1`, [id]);
    const broken = await run('verify');
    expect(broken.code).toBe(3);
    expect(broken.stdout).toMatch(new RegExp(`^BROKEN after 8 links: first broken link at seq 8 \\(event ${id}\\): hash_mismatch\nanchor {3}seq 0 `));

    const json = await run('verify', '--json');
    expect(JSON.parse(json.stdout)).toMatchObject({ status: 'broken', checked: 8, first_broken: { seq: 8, id, reason: 'hash_mismatch' } });
    expect(await run('purge')).toMatchObject({ code: 2, stderr: 'AGENTSPEC_AUDIT_RETENTION is not set: nothing to purge.\n' });
    expect((await run('frobnicate')).code).toBe(2);
  });

  it('npm run audit -- verify --expect: catches a chain rewritten from an edit to the head, which alone verifies', async () => {
    const { url, sql } = await database();
    await refusals(sql, 12);
    const run = cli(url);
    const status = JSON.parse((await run('status', '--json')).stdout) as { head_seq: number; head_hash: string; pending: number };
    expect(status).toMatchObject({ head_seq: null, pending: 12 });
    await run('seal');
    const sealed = JSON.parse((await run('status', '--json')).stdout) as { head_seq: number; head_hash: string };
    expect(sealed.head_seq).toBe(12);
    const recorded = `${sealed.head_seq}:${sealed.head_hash}`;
    expect(await run('verify', '--expect', recorded)).toMatchObject({
      code: 0,
      stdout: expect.stringContaining('expected hash at seq 12: matches'),
    });

    // Edit event 8, then recompute every later link and the head, as an attacker with full write access would.
    await bypassing(sql, `UPDATE audit_events SET principal = 'forged' WHERE id = $1`, [await eventAt(sql, 8)]);
    const links = (
      await sql.query<Omit<ChainedFields, 'seq'> & { seq: string; prev_hash: string }>(
        `SELECT l.seq::text AS seq, encode(l.prev_hash, 'hex') AS prev_hash, ${EVENT_COLUMNS}
         FROM audit_chain_links l JOIN audit_events e ON e.id = l.event_id WHERE l.seq >= 8 ORDER BY l.seq`,
      )
    ).rows;
    let prev = links[0].prev_hash;
    for (const link of links) {
      const hash = linkHash(prev, link);
      await bypassing(sql, `UPDATE audit_chain_links SET prev_hash = decode($2, 'hex'), hash = decode($3, 'hex') WHERE seq = $1`, [
        link.seq,
        prev,
        hash,
      ]);
      prev = hash;
    }
    await sql.query(`UPDATE audit_chain SET head_hash = decode($1, 'hex')`, [prev]);

    expect((await run('verify')).code).toBe(0);
    const caught = await run('verify', '--expect', recorded);
    expect(caught.code).toBe(3);
    expect(caught.stdout).toContain(`EXPECTED hash at seq 12 differs: the chain holds ${prev}`);
    expect((await run('verify', '--expect', '12:nothex')).code).toBe(2);
  });

  it('runs the sealer and the retention purge of AGENTSPEC_AUDIT_RETENTION on a timer, logging what it purged', async () => {
    const { dataSource, sql, chain } = await database();
    await refusals(sql, 30, 40, 'old');
    await refusals(sql, 2, 0, 'new');
    const lines: Record<string, unknown>[] = [];
    const logger = createLogger('info', { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
    const maintenance = new AuditMaintenance(
      new AuditChainRepository(dataSource),
      { sealIntervalMs: 100, retentionMs: 30 * DAY, purgeInitialDelayMs: 300, purgeIntervalMs: 200, purgeBatchSize: 7 },
      logger,
    );
    maintenance.onModuleInit();
    try {
      await eventually(async () => (await chain.state()).anchorSeq === 30n, { what: 'the 30 old events purged', timeoutMs: 10_000 });
    } finally {
      await maintenance.onModuleDestroy();
    }
    expect(await chain.state()).toMatchObject({ headSeq: 32n, anchorSeq: 30n, pending: 0 });
    expect((await chain.verify()).status).toBe('ok');
    expect(lines).toContainEqual(expect.objectContaining({ msg: 'audit retention enabled', retention_ms: 30 * DAY }));
    // One purge, or several when one ran while the sealer was still at work.
    const purges = lines.filter((line) => line.msg === 'purged expired audit events');
    expect(purges.reduce((sum, line) => sum + Number(line.purged), 0)).toBe(30);
    // Every purge logs its seq range: together they cover 1..30 without a hole.
    expect(purges.every((line) => line.level === 30 || line.level === 'info')).toBe(true);
    const ranges = purges.map((line) => [Number(line.from_seq), Number(line.to_seq)]).sort((a, b) => a[0] - b[0]);
    expect(ranges[0][0]).toBe(1);
    expect(ranges[ranges.length - 1][1]).toBe(30);
    for (let i = 1; i < ranges.length; i++) expect(ranges[i][0]).toBe(ranges[i - 1][1] + 1);
  });

  it('purge retries the chain lock held by a busy sealer instead of skipping its turn', async () => {
    const { url, sql, chain } = await database();
    await refusals(sql, 5, 40);
    await chain.seal();
    const holder = await connect(url);
    cleanup.push(() => holder.end());
    await holder.query('BEGIN');
    await holder.query('SELECT pg_advisory_xact_lock($1)', [AUDIT_CHAIN_LOCK_KEY]);
    const release = setTimeout(() => void holder.query('COMMIT'), 250);
    cleanup.push(async () => clearTimeout(release));

    const result = await chain.purge(new Date(Date.now() - DAY), 100, undefined, { attempts: 5, delayMs: 100 });
    expect(result).toEqual({ purged: 5, fromSeq: 1, toSeq: 5 });

    // And gives up, without error, when the lock stays taken through every try.
    await refusals(sql, 2, 40);
    await chain.seal();
    await holder.query('BEGIN');
    await holder.query('SELECT pg_advisory_xact_lock($1)', [AUDIT_CHAIN_LOCK_KEY]);
    try {
      expect(await chain.purge(new Date(Date.now() - DAY), 100, undefined, { attempts: 2, delayMs: 10 })).toEqual({ purged: 0 });
    } finally {
      await holder.query('COMMIT');
    }
  });

  it('runs one verification at a time: a second waits, holding no connection, and answers the running one\'s outcome', async () => {
    const { url, sql, chain } = await database();
    await refusals(sql, 20);
    await chain.seal();
    const other = await connect(url);
    cleanup.push(() => other.end());
    // Another replica's verification, running.
    await other.query('SELECT pg_advisory_lock($1)', [AUDIT_VERIFY_LOCK_KEY]);

    let settled = false;
    const waiting = chain.verify(50).finally(() => (settled = true));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(settled).toBe(false);
    const walking = await sql.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND query LIKE '%audit_chain_links%' AND state = 'active' AND pid <> pg_backend_pid()`,
    );
    expect(walking.rows[0].n).toBe(0);

    // The other replica finishes: it stores its outcome, then releases the lock.
    const stored = { at: new Date().toISOString(), status: 'ok', checked: 999, first_broken: null, anchor_seq: 0, oldest_at: null };
    await other.query('UPDATE audit_chain SET last_verification = $1::jsonb', [JSON.stringify(stored)]);
    await other.query('SELECT pg_advisory_unlock($1)', [AUDIT_VERIFY_LOCK_KEY]);
    expect(await waiting).toMatchObject({ status: 'ok', checked: 999 });

    // With none running, a verification walks the chain itself.
    expect(await chain.verify(50)).toMatchObject({ status: 'ok', checked: 20, anchor_seq: 0 });
  });

  it('reports queued events whose row was deleted before sealing, in status and verify (exit 3)', async () => {
    const { url, sql, chain } = await database();
    await refusals(sql, 3);
    await chain.seal();
    await refusals(sql, 2, 0, 'doomed');
    await bypassing(sql, `DELETE FROM audit_events WHERE correlation_id LIKE 'doomed-%'`);
    expect(await chain.seal()).toBe(0);
    expect(await chain.state()).toMatchObject({ pending: 2, orphanedPending: 2 });

    const run = cli(url);
    const status = await run('status', '--json');
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ pending: 2, orphaned_pending: 2 });
    const verify = await run('verify');
    expect(verify.code).toBe(3);
    expect(verify.stdout).toMatch(/^ok: 3 links verified/);
    expect(verify.stdout).toContain('BROKEN evidence: 2 queued event(s) no longer exist');
  });

  it('verify reports the anchor and the oldest event against the retention, and warns of a purge without one', async () => {
    const { url, sql, chain } = await database();
    await refusals(sql, 6, 40);
    await chain.seal();
    await chain.purge(new Date(Date.now() - DAY), 3);
    const json = await cli(url)('verify', '--json');
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ status: 'ok', checked: 0, anchor_seq: 6, retention_ms: null });
    expect(json.stderr).toContain('warning: events up to seq 6 were purged but AGENTSPEC_AUDIT_RETENTION is not set here');

    await refusals(sql, 2, 10);
    await chain.seal();
    let stdout = '';
    const code = await runAuditCli(['verify'], { env: { DATABASE_URL: url, AGENTSPEC_AUDIT_RETENTION: '30d' }, stdout: (text) => (stdout += text), stderr: () => undefined });
    expect(code).toBe(0);
    expect(stdout).toMatch(/anchor {3}seq 6; oldest event \S+ \(10\.0d old\); retention 30\.0d\n/);
  });

  it('npm run audit -- verify and status never migrate: with migrations pending they stop with exit code 4', async () => {
    const url = await createTestDatabase();
    const run = cli(url);
    for (const command of ['verify', 'status']) {
      const result = await run(command);
      expect(result.code, result.stderr).toBe(EXIT_MIGRATIONS_PENDING);
      expect(result.stderr).toMatch(new RegExp(`pending migration\\(s\\) .*; ${command} does not change the schema`));
    }
    const sql = await connect(url);
    cleanup.push(() => sql.end());
    const tables = await sql.query(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'`);
    expect(tables.rows).toEqual([]);
  });
});
