import { Injectable } from '@nestjs/common';
import { DataSource, type QueryRunner } from 'typeorm';
import { queryRows } from '../database/query-rows.js';
import { type BrokenLink, type ChainedFields, ChainWalker, EVENT_COLUMNS, LINK_COLUMNS, linkHash, type StoredLink } from './chain-hash.js';

/**
 * Transaction-scoped advisory lock taken by whoever appends to or purges the chain: one
 * sealer or purge at a time across replicas and the CLI; the others skip their turn rather
 * than queue. The `audit_chain` row lock underneath serializes them even without it.
 */
export const AUDIT_CHAIN_LOCK_KEY = 4_717_011_010;

/**
 * Session-level advisory lock held by the one verification running across replicas and the
 * CLI; another waits for it to finish and answers its outcome.
 */
export const AUDIT_VERIFY_LOCK_KEY = 4_717_011_011;

export interface Verification {
  at: Date;
  status: 'ok' | 'broken';
  checked: number;
  first_broken: BrokenLink | null;
  /** The retention anchor the walk started from (0: nothing ever purged); null in verifications stored before it was recorded. */
  anchor_seq: number | null;
  /** RFC 3339 `at` of the first stored link's event (the oldest sealed event left); null when none is stored. */
  oldest_at: string | null;
}

export interface ChainState {
  headSeq: bigint;
  headHash: string;
  anchorSeq: bigint;
  pending: number;
  /** Queued events whose row no longer exists: deleted before they were sealed (docs/audit.md "Verification"). */
  orphanedPending: number;
  lastVerification: Verification | null;
}

export interface PurgeResult {
  purged: number;
  /** The purge stopped before this link because it is broken: evidence is never purged. */
  broken?: BrokenLink;
  /** The seq range purged, when anything was. */
  fromSeq?: number;
  toSeq?: number;
}

/** How often a purge tries the chain lock, and the first pause (doubled each time) between tries. */
export interface LockRetry {
  attempts: number;
  delayMs: number;
}

const PURGE_LOCK_RETRY: LockRetry = { attempts: 5, delayMs: 200 };
const VERIFY_PAGE = 5_000;
const VERIFY_POLL_MS = 1_000;

interface ChainRow {
  head_seq: string;
  head_hash: string;
  anchor_seq: string;
  anchor_hash: string;
}

/** Owns every statement on `audit_chain`, `audit_chain_links` and `audit_pending`, and the purge of `audit_events` (docs/audit.md). */
@Injectable()
export class AuditChainRepository {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * Appends committed pending events to the chain, lowest id first, `batchSize` per
   * transaction, at most `maxBatches` transactions.
   * @returns the number sealed, or undefined when another sealer or purge holds the chain
   */
  async seal(batchSize = 1_000, maxBatches = 100): Promise<number | undefined> {
    let sealed = 0;
    for (let batch = 0; batch < maxBatches; batch++) {
      const count = await this.inTransaction((runner) => this.sealBatch(runner, batchSize));
      if (count === undefined) return batch === 0 ? undefined : sealed;
      sealed += count;
      if (count < batchSize) break;
    }
    return sealed;
  }

  /**
   * The hash recorded at `seq`: its link's, or the anchor's when `seq` is the anchor; undefined
   * when that position was purged before the anchor or is past the head.
   */
  async hashAt(seq: bigint): Promise<string | undefined> {
    const [row] = await queryRows<{ hash: string | null }>(
      this.dataSource,
      `SELECT coalesce((SELECT encode(l.hash, 'hex') FROM audit_chain_links l WHERE l.seq = $1),
                       (SELECT encode(c.anchor_hash, 'hex') FROM audit_chain c WHERE c.id = 1 AND c.anchor_seq = $1 AND $1 > 0)) AS hash`,
      [seq.toString()],
    );
    return row?.hash ?? undefined;
  }

  async state(): Promise<ChainState> {
    const [row] = await queryRows<ChainRow & { pending: string; orphaned: string; last_verification: StoredVerification | null }>(
      this.dataSource,
      `SELECT c.head_seq::text AS head_seq, encode(c.head_hash, 'hex') AS head_hash, c.anchor_seq::text AS anchor_seq,
              encode(c.anchor_hash, 'hex') AS anchor_hash, c.last_verification,
              (SELECT count(*) FROM audit_pending)::text AS pending,
              (SELECT count(*) FROM audit_pending p WHERE NOT EXISTS (SELECT 1 FROM audit_events e WHERE e.id = p.event_id))::text AS orphaned
       FROM audit_chain c WHERE c.id = 1`,
      [],
    );
    return {
      headSeq: BigInt(row.head_seq),
      headHash: row.head_hash,
      anchorSeq: BigInt(row.anchor_seq),
      pending: Number(row.pending),
      orphanedPending: Number(row.orphaned),
      lastVerification: row.last_verification && fromStored(row.last_verification),
    };
  }

  /**
   * Walks the chain from the anchor to the head, a page at a time (memory stays flat), and
   * records the outcome as the last verification. One verification runs at a time across
   * replicas (AUDIT_VERIFY_LOCK_KEY): a call that finds one running waits, holding no
   * connection, and answers that one's outcome once it is stored.
   */
  async verify(pollMs = VERIFY_POLL_MS): Promise<Verification> {
    const requested = new Date();
    for (;;) {
      const runner = this.dataSource.createQueryRunner();
      let locked = false;
      try {
        const [row] = await queryRows<{ locked: boolean }>(runner, 'SELECT pg_try_advisory_lock($1) AS locked', [AUDIT_VERIFY_LOCK_KEY]);
        locked = row?.locked === true;
        if (locked) {
          const verification = await this.walk(runner);
          await runner.query('UPDATE audit_chain SET last_verification = $1::jsonb WHERE id = 1', [JSON.stringify(toStored(verification))]);
          return verification;
        }
      } finally {
        if (locked) await runner.query('SELECT pg_advisory_unlock($1)', [AUDIT_VERIFY_LOCK_KEY]).catch(() => undefined);
        await runner.release();
      }
      await sleep(pollMs);
      const [stored] = await queryRows<{ last_verification: StoredVerification | null }>(
        this.dataSource,
        'SELECT last_verification FROM audit_chain WHERE id = 1',
        [],
      );
      const last = stored?.last_verification && fromStored(stored.last_verification);
      if (last && last.at >= requested) return last;
    }
  }

  /**
   * No snapshot is needed: the head is read first and a link up to it never changes once
   * written (triggers refuse it), so each page is its own statement. Only a purge moves things,
   * from the start: a break at or before the anchor as it is now was purged while the walk ran,
   * and the walk starts again from the new anchor.
   */
  private async walk(runner: QueryRunner): Promise<Verification> {
    const [chain] = await queryRows<ChainRow>(
      runner,
      `SELECT head_seq::text AS head_seq, encode(head_hash, 'hex') AS head_hash, anchor_seq::text AS anchor_seq,
              encode(anchor_hash, 'hex') AS anchor_hash
       FROM audit_chain WHERE id = 1`,
      [],
    );
    let anchor = { seq: chain.anchor_seq, hash: chain.anchor_hash };
    let walker = new ChainWalker(BigInt(anchor.seq), anchor.hash);
    let after = anchor.seq;
    let lastId: string | undefined;
    for (;;) {
      const links = await queryRows<StoredLink>(
        runner,
        `SELECT ${LINK_COLUMNS} FROM ${linksWithEvents('l.seq > $1 AND l.seq <= $2 ORDER BY l.seq LIMIT $3')} ORDER BY l.seq`,
        [after, chain.head_seq, VERIFY_PAGE],
      );
      for (const link of links) {
        if (!walker.check(link)) break;
        lastId = link.event_id;
      }
      if (walker.broken) {
        const [now] = await queryRows<ChainRow>(
          runner,
          `SELECT anchor_seq::text AS anchor_seq, encode(anchor_hash, 'hex') AS anchor_hash FROM audit_chain WHERE id = 1`,
          [],
        );
        if (BigInt(now.anchor_seq) < BigInt(walker.broken.seq)) break;
        anchor = { seq: now.anchor_seq, hash: now.anchor_hash };
        walker = new ChainWalker(BigInt(anchor.seq), anchor.hash);
        after = anchor.seq;
        continue;
      }
      if (links.length < VERIFY_PAGE) break;
      after = links[links.length - 1].seq;
    }
    const broken = walker.finish(BigInt(chain.head_seq), chain.head_hash, lastId);
    const [oldest] = await queryRows<{ at: Date | null }>(
      runner,
      `SELECT e.at FROM audit_chain_links l JOIN audit_events e ON e.id = l.event_id WHERE l.seq > $1 ORDER BY l.seq LIMIT 1`,
      [anchor.seq],
    );
    return {
      at: new Date(),
      status: broken ? 'broken' : 'ok',
      checked: walker.checked,
      first_broken: broken ?? null,
      anchor_seq: Number(anchor.seq),
      oldest_at: oldest?.at ? oldest.at.toISOString() : null,
    };
  }

  /**
   * Deletes sealed events older than `cutoff` from the start of the chain, `batchSize` per
   * transaction, moving the anchor (seq and hash of the last deleted link) so that the chain
   * still verifies. Only a contiguous prefix is deleted: it stops at the first event not old
   * enough, and before a broken link, whose evidence is kept.
   */
  async purge(cutoff: Date, batchSize: number, signal?: AbortSignal, retry: LockRetry = PURGE_LOCK_RETRY): Promise<PurgeResult> {
    if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
    const result: PurgeResult = { purged: 0 };
    while (!signal?.aborted) {
      const step = await this.purgeBatchWithRetry(cutoff, batchSize, retry, signal);
      if (step === undefined) break;
      if (step.purged > 0) {
        result.purged += step.purged;
        result.fromSeq ??= step.fromSeq;
        result.toSeq = step.toSeq;
      }
      if (step.broken) return { ...result, broken: step.broken };
      if (step.purged < batchSize) break;
    }
    return result;
  }

  /**
   * A busy sealer holds the chain lock for one short transaction at a time: a few tries with a
   * growing pause get a turn between two of them, where skipping the turn could starve retention.
   */
  private async purgeBatchWithRetry(cutoff: Date, batchSize: number, retry: LockRetry, signal?: AbortSignal): Promise<PurgeResult | undefined> {
    for (let attempt = 0; attempt < retry.attempts && !signal?.aborted; attempt++) {
      if (attempt > 0) await sleep(retry.delayMs * 2 ** (attempt - 1));
      const step = await this.inTransaction((runner) => this.purgeBatch(runner, cutoff, batchSize));
      if (step !== undefined) return step;
    }
    return undefined;
  }

  private async sealBatch(runner: QueryRunner, batchSize: number): Promise<number | undefined> {
    if (!(await this.tryLock(runner))) return undefined;
    const [chain] = await queryRows<ChainRow>(
      runner,
      `SELECT head_seq::text AS head_seq, encode(head_hash, 'hex') AS head_hash FROM audit_chain WHERE id = 1 FOR UPDATE`,
      [],
    );
    // Read committed: only events of committed transactions are visible, so an event whose
    // transaction commits later is sealed by a later batch, after events with higher ids
    // (docs/audit.md "Ordering"). seq is the seal order, never derived from id.
    const rows = await queryRows<Omit<ChainedFields, 'seq'>>(
      runner,
      `SELECT ${EVENT_COLUMNS} FROM audit_pending p JOIN audit_events e ON e.id = p.event_id ORDER BY p.event_id LIMIT $1`,
      [batchSize],
    );
    if (rows.length === 0) return 0;
    let seq = BigInt(chain.head_seq);
    let prev = chain.head_hash;
    const ids: string[] = [];
    const seqs: string[] = [];
    const prevs: string[] = [];
    const hashes: string[] = [];
    for (const row of rows) {
      seq += 1n;
      const hash = linkHash(prev, { ...row, seq: seq.toString() });
      ids.push(row.id);
      seqs.push(seq.toString());
      prevs.push(prev);
      hashes.push(hash);
      prev = hash;
    }
    const dequeued = await queryRows<{ event_id: string }>(
      runner,
      'DELETE FROM audit_pending WHERE event_id = ANY($1::bigint[]) RETURNING event_id',
      [ids],
    );
    if (dequeued.length !== rows.length) throw new Error(`sealing raced: ${dequeued.length} of ${rows.length} events dequeued`);
    await runner.query(
      `INSERT INTO audit_chain_links (seq, event_id, prev_hash, hash)
       SELECT u.seq, u.event_id, decode(u.prev_hash, 'hex'), decode(u.hash, 'hex')
       FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[]) AS u (seq, event_id, prev_hash, hash)`,
      [seqs, ids, prevs, hashes],
    );
    await runner.query(`UPDATE audit_chain SET head_seq = $1, head_hash = decode($2, 'hex') WHERE id = 1`, [seq.toString(), prev]);
    return rows.length;
  }

  private async purgeBatch(runner: QueryRunner, cutoff: Date, batchSize: number): Promise<PurgeResult | undefined> {
    if (!(await this.tryLock(runner))) return undefined;
    const [chain] = await queryRows<ChainRow>(
      runner,
      `SELECT anchor_seq::text AS anchor_seq, encode(anchor_hash, 'hex') AS anchor_hash FROM audit_chain WHERE id = 1 FOR UPDATE`,
      [],
    );
    const links = await queryRows<StoredLink & { expired: boolean }>(
      runner,
      `SELECT ${LINK_COLUMNS}, e.at < $3::timestamptz AS expired
       FROM ${linksWithEvents('l.seq > $1 AND l.seq <= $1 + $2')} ORDER BY l.seq`,
      [chain.anchor_seq, batchSize, cutoff.toISOString()],
    );
    const walker = new ChainWalker(BigInt(chain.anchor_seq), chain.anchor_hash);
    let last: StoredLink | undefined;
    for (const link of links) {
      if (!walker.check(link) || !link.expired) break;
      last = link;
    }
    if (last) {
      await runner.query(
        'DELETE FROM audit_events WHERE id IN (SELECT l.event_id FROM audit_chain_links l WHERE l.seq > $1 AND l.seq <= $2)',
        [chain.anchor_seq, last.seq],
      );
      await runner.query('DELETE FROM audit_chain_links WHERE seq > $1 AND seq <= $2', [chain.anchor_seq, last.seq]);
      await runner.query(`UPDATE audit_chain SET anchor_seq = $1, anchor_hash = decode($2, 'hex') WHERE id = 1`, [last.seq, last.hash]);
    }
    const purged = last ? Number(BigInt(last.seq) - BigInt(chain.anchor_seq)) : 0;
    return {
      purged,
      ...(last ? { fromSeq: Number(chain.anchor_seq) + 1, toSeq: Number(last.seq) } : {}),
      ...(walker.broken ? { broken: walker.broken } : {}),
    };
  }

  private async tryLock(runner: QueryRunner): Promise<boolean> {
    const [row] = await queryRows<{ locked: boolean }>(runner, 'SELECT pg_try_advisory_xact_lock($1) AS locked', [AUDIT_CHAIN_LOCK_KEY]);
    return row?.locked === true;
  }

  private async inTransaction<T>(work: (runner: QueryRunner) => Promise<T>): Promise<T> {
    const runner = this.dataSource.createQueryRunner();
    try {
      await runner.startTransaction();
      try {
        const result = await work(runner);
        await runner.commitTransaction();
        return result;
      } catch (error) {
        if (runner.isTransactionActive) await runner.rollbackTransaction().catch(() => undefined);
        throw error;
      }
    } finally {
      await runner.release();
    }
  }
}

/**
 * Links chosen by `condition` (on `l`), each with its event `e` looked up by primary key, or
 * nulls when the event is gone. The LIMIT keeps the lookup a nested loop: a hash join would
 * read the whole event table for every page of a verification.
 */
function linksWithEvents(condition: string): string {
  return `(SELECT * FROM audit_chain_links l WHERE ${condition}) l
    LEFT JOIN LATERAL (SELECT * FROM audit_events x WHERE x.id = l.event_id LIMIT 1) e ON true`;
}

interface StoredVerification extends Omit<Verification, 'at' | 'anchor_seq' | 'oldest_at'> {
  at: string;
  anchor_seq?: number | null;
  oldest_at?: string | null;
}

function toStored(verification: Verification): StoredVerification {
  return { ...verification, at: verification.at.toISOString() };
}

function fromStored(stored: StoredVerification): Verification {
  return { ...stored, at: new Date(stored.at), anchor_seq: stored.anchor_seq ?? null, oldest_at: stored.oldest_at ?? null };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
