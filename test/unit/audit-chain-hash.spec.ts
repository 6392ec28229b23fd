import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor, filterKey } from '../../src/audit/audit-cursor.js';
import { CSV_HEADER, csvLine, jsonLine } from '../../src/audit/audit-export.js';
import { canonicalize, type ChainedFields, ChainWalker, GENESIS_HASH, linkHash, type StoredLink } from '../../src/audit/chain-hash.js';
import { ADMIN_ACCESS, AUDITOR_ACCESS, mayReadAudit, userAccess } from '../../src/auth/access.js';
import type { AuditEventDto } from '../../src/audit/dto/audit.dto.js';

const fields = (seq: number, overrides: Partial<ChainedFields> = {}): ChainedFields => ({
  seq: String(seq),
  id: String(100 + seq),
  at_us: '1764535200123000',
  kind: 'invocation',
  outcome: 'ok',
  principal: 'key:abc',
  agent: 'support',
  pipeline: null,
  session_id: null,
  run_id: null,
  correlation_id: `c-${seq}`,
  detail: '{"status": "completed"}',
  ...overrides,
});

function chain(length: number): (StoredLink & { id: string })[] {
  const links: (StoredLink & { id: string })[] = [];
  let prev = GENESIS_HASH;
  for (let seq = 1; seq <= length; seq++) {
    const hash = linkHash(prev, fields(seq));
    links.push({ ...fields(seq), event_id: fields(seq).id, prev_hash: prev, hash });
    prev = hash;
  }
  return links;
}

describe('chain hash', () => {
  it('is SHA-256 of the previous hash bytes followed by the canonical JSON array', () => {
    const canonical = canonicalize(fields(1));
    expect(canonical).toBe(
      '["1","101","1764535200123000","invocation","ok","key:abc","support",null,null,null,"c-1","{\\"status\\": \\"completed\\"}"]',
    );
    const expected = createHash('sha256').update(Buffer.alloc(32)).update(canonical).digest('hex');
    expect(linkHash(GENESIS_HASH, fields(1))).toBe(expected);
  });

  it('hashes a link after any previous hash, with text beyond ASCII, as the streamed form does', () => {
    for (let i = 0; i < 20; i++) {
      const previous = createHash('sha256').update(`previous ${i}`).digest('hex');
      const link = fields(i, { principal: `oidc:https://idp.example|ünïcødé ${i}`, detail: `{"reason": "💥 ${i}", "x": "\ud800"}` });
      const streamed = createHash('sha256').update(Buffer.from(previous, 'hex')).update(canonicalize(link), 'utf8').digest('hex');
      expect(linkHash(previous, link)).toBe(streamed);
    }
  });

  it('tells null from the text "null" and an empty string, and moves with every field', () => {
    const base = linkHash(GENESIS_HASH, fields(1));
    expect(linkHash(GENESIS_HASH, fields(1, { agent: 'null' }))).not.toBe(base);
    expect(linkHash(GENESIS_HASH, fields(1, { pipeline: '' }))).not.toBe(base);
    for (const key of Object.keys(fields(1)) as (keyof ChainedFields)[]) {
      expect(linkHash(GENESIS_HASH, fields(1, { [key]: `${fields(1)[key]}x` })), key).not.toBe(base);
    }
  });

  it('walks an intact chain and checks that it ends at the head', () => {
    const links = chain(5);
    const walker = new ChainWalker(0n, GENESIS_HASH);
    expect(links.every((link) => walker.check(link))).toBe(true);
    expect(walker.finish(5n, links[4].hash, links[4].event_id)).toBeUndefined();
    expect(walker.checked).toBe(5);
  });

  it('names the first broken link: edited, re-linked, missing, its event gone, or a chain shorter than its head', () => {
    const walk = (links: StoredLink[], head = chain(5)[4]) => {
      const walker = new ChainWalker(0n, GENESIS_HASH);
      for (const link of links) if (!walker.check(link)) break;
      return walker.finish(5n, head.hash, links.at(-1)?.event_id);
    };
    const links = chain(5);
    expect(walk(links.map((link) => (link.seq === '3' ? { ...link, outcome: 'error' } : link)))).toEqual({
      seq: 3,
      id: '103',
      reason: 'hash_mismatch',
    });
    const rehashed = { ...links[2], outcome: 'error', hash: linkHash(links[2].prev_hash, { ...fields(3), outcome: 'error' }) };
    expect(walk([links[0], links[1], rehashed, links[3], links[4]])).toEqual({ seq: 4, id: '104', reason: 'prev_mismatch' });
    expect(walk([links[0], links[2], links[3], links[4]])).toEqual({ seq: 2, id: '103', reason: 'gap' });
    expect(walk(links.slice(0, 4))).toEqual({ seq: 5, id: '104', reason: 'gap' });
    expect(walk(links.map((link) => (link.seq === '2' ? { ...link, id: null } : link)))).toEqual({
      seq: 2,
      id: '102',
      reason: 'missing_event',
    });
    expect(walk(links, { ...links[4], hash: GENESIS_HASH })).toEqual({ seq: 5, id: '105', reason: 'head_mismatch' });
  });

  it('starts after a retention anchor', () => {
    const links = chain(6);
    const walker = new ChainWalker(3n, links[2].hash);
    expect(links.slice(3).every((link) => walker.check(link))).toBe(true);
    expect(walker.finish(6n, links[5].hash, '106')).toBeUndefined();
  });
});

describe('audit cursor', () => {
  it('round-trips a position and refuses anything it did not make', () => {
    const key = filterKey({});
    const cursor = encodeCursor({ atUs: '1764535200123000', id: '42' }, key);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(cursor)).toEqual({ position: { atUs: '1764535200123000', id: '42' }, key });
    for (const bad of ['', 'not a cursor', Buffer.from('1.2.3').toString('base64url'), Buffer.from('x.1').toString('base64url')]) {
      expect(decodeCursor(bad), bad).toBeUndefined();
    }
    expect(decodeCursor(Buffer.from('1764535200123000.42').toString('base64url')), 'a cursor without a filter key').toBeUndefined();
    expect(decodeCursor(encodeCursor({ atUs: '1', id: '9223372036854775808' }, key))).toBeUndefined();
  });

  it('keys a filter by what it selects: value order and repeats do not matter, every field does', () => {
    const base = { kinds: ['budget', 'guardrail'] as const, outcomes: ['ok'] as const, sinceUs: 1_000_000n };
    expect(filterKey({ ...base, kinds: ['guardrail', 'budget', 'guardrail'] })).toBe(filterKey(base));
    expect(filterKey({ ...base, since: new Date(1_000) })).toBe(filterKey(base));
    const variants = [
      {},
      { ...base, kinds: ['budget'] as const },
      { ...base, outcomes: ['error'] as const },
      { ...base, sinceUs: 1_000_001n },
      { ...base, untilUs: 1_000_000n },
      { ...base, principal: 'key:a' },
      { ...base, agent: 'a' },
      { ...base, pipeline: 'a' },
      { ...base, principal: '' },
    ];
    const keys = new Set([filterKey(base), ...variants.map((filter) => filterKey(filter))]);
    expect(keys.size).toBe(variants.length + 1);
  });
});

describe('audit export lines', () => {
  const event: AuditEventDto = {
    id: '7',
    seq: null,
    at: '2026-11-30T20:00:00.000Z',
    kind: 'auth_refusal',
    outcome: 'refused',
    principal: 'key:"quoted", comma',
    agent: null,
    pipeline: null,
    session_id: null,
    run_id: null,
    correlation_id: 'line\nbreak',
    detail: { status: 401 },
  };

  it('writes RFC 4180 CSV: quoted when needed, quotes doubled, detail as JSON text, null as empty', () => {
    expect(CSV_HEADER).toBe('id,seq,at,kind,outcome,principal,agent,pipeline,session_id,run_id,correlation_id,detail\r\n');
    expect(csvLine(event)).toBe(
      '7,,2026-11-30T20:00:00.000Z,auth_refusal,refused,"key:""quoted"", comma",,,,,"line\nbreak","{""status"":401}"\r\n',
    );
  });

  it('writes one JSON object per line', () => {
    expect(jsonLine(event).split('\n')).toHaveLength(2);
    expect(JSON.parse(jsonLine(event))).toEqual(event);
  });
});

describe('mayReadAudit', () => {
  it('admits administrators and auditors only', () => {
    expect(mayReadAudit(ADMIN_ACCESS)).toBe(true);
    expect(mayReadAudit(AUDITOR_ACCESS)).toBe(true);
    expect(mayReadAudit(userAccess(['support']))).toBe(false);
  });
});
