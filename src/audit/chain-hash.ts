import { hash } from 'node:crypto';

/** The hash before the first link: 32 zero bytes, hex. */
export const GENESIS_HASH = '0'.repeat(64);

/**
 * The audited fields of one event, each as the text PostgreSQL gives for it independently of
 * session settings (docs/audit.md "Hash chain"): `at_us` is the epoch in microseconds and
 * `detail` the jsonb's canonical text form.
 */
export interface ChainedFields {
  seq: string;
  id: string;
  at_us: string;
  kind: string;
  outcome: string;
  principal: string | null;
  agent: string | null;
  pipeline: string | null;
  session_id: string | null;
  run_id: string | null;
  correlation_id: string | null;
  detail: string;
}

/** The SQL select list that yields the event's part of ChainedFields (all but seq) from `audit_events e`. */
export const EVENT_COLUMNS =
  'e.id::text AS id, (extract(epoch FROM e.at) * 1000000)::bigint::text AS at_us, e.kind, e.outcome, ' +
  'e.principal, e.agent, e.pipeline, e.session_id, e.run_id, e.correlation_id, e.detail::text AS detail';

/** Links `l` with their events `e` (event columns null when the event is gone). */
export const LINK_COLUMNS = `l.seq::text AS seq, l.event_id::text AS event_id, encode(l.prev_hash, 'hex') AS prev_hash, encode(l.hash, 'hex') AS hash, ${EVENT_COLUMNS}`;

/** One unambiguous serialization: a JSON array of strings and nulls in a fixed order. */
export function canonicalize(fields: ChainedFields): string {
  return JSON.stringify([
    fields.seq,
    fields.id,
    fields.at_us,
    fields.kind,
    fields.outcome,
    fields.principal,
    fields.agent,
    fields.pipeline,
    fields.session_id,
    fields.run_id,
    fields.correlation_id,
    fields.detail,
  ]);
}

/** hash = SHA-256(prev_hash bytes ‖ UTF-8 canonical serialization), hex. */
export function linkHash(prevHashHex: string, fields: ChainedFields): string {
  // One-shot over one buffer: a Hash object (a stream) per link cost more than the hashing.
  return hash('sha256', Buffer.concat([Buffer.from(prevHashHex, 'hex'), Buffer.from(canonicalize(fields), 'utf8')]), 'hex');
}

export type BrokenReason = 'gap' | 'missing_event' | 'prev_mismatch' | 'hash_mismatch' | 'head_mismatch';

/** A link as stored, with its event's fields; `id` is null when the event row is gone. */
export interface StoredLink extends Omit<ChainedFields, 'id'> {
  id: string | null;
  event_id: string;
  prev_hash: string;
  hash: string;
}

export interface BrokenLink {
  seq: number;
  id: string;
  reason: BrokenReason;
}

/**
 * Checks links in seq order, one at a time, keeping only the previous hash: memory stays flat
 * however long the chain. Starts after the anchor (the last purged link, or the genesis).
 */
export class ChainWalker {
  private expectedSeq: bigint;
  private prevHash: string;
  checked = 0;
  broken?: BrokenLink;

  constructor(anchorSeq: bigint, anchorHash: string) {
    this.expectedSeq = anchorSeq + 1n;
    this.prevHash = anchorHash;
  }

  /** False once a link is broken; the walk should stop there. */
  check(link: StoredLink): boolean {
    if (this.broken) return false;
    this.checked++;
    const seq = BigInt(link.seq);
    let reason: BrokenReason | undefined;
    if (seq !== this.expectedSeq) reason = 'gap';
    else if (link.id === null) reason = 'missing_event';
    else if (link.prev_hash !== this.prevHash) reason = 'prev_mismatch';
    else if (linkHash(link.prev_hash, { ...link, id: link.id }) !== link.hash) reason = 'hash_mismatch';
    if (reason) {
      this.broken = { seq: Number(reason === 'gap' ? this.expectedSeq : seq), id: link.event_id, reason };
      return false;
    }
    this.expectedSeq = seq + 1n;
    this.prevHash = link.hash;
    return true;
  }

  /** After the last link: the chain must end at the recorded head. */
  finish(headSeq: bigint, headHash: string, lastId: string | undefined): BrokenLink | undefined {
    if (this.broken) return this.broken;
    const lastSeq = this.expectedSeq - 1n;
    if (lastSeq < headSeq) this.broken = { seq: Number(this.expectedSeq), id: lastId ?? '', reason: 'gap' };
    else if (lastSeq !== headSeq || this.prevHash !== headHash)
      this.broken = { seq: Number(headSeq), id: lastId ?? '', reason: 'head_mismatch' };
    return this.broken;
  }
}
