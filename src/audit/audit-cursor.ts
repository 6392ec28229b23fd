import { createHash } from 'node:crypto';
import type { AuditFilter, AuditPosition } from './audit-events.repository.js';

const CURSOR = /^(-?[0-9]{1,17})\.([0-9]{1,19})\.([A-Za-z0-9_-]{11})$/;
const MAX_ID = 9_223_372_036_854_775_807n;

/**
 * A short digest of the filter a list was made with, normalized (value order and repeats in
 * `kind`/`outcome` do not matter): a cursor carries it so that it is refused with other filters.
 */
export function filterKey(filter: AuditFilter): string {
  const normalized = [
    filter.principal ?? null,
    filter.agent ?? null,
    filter.pipeline ?? null,
    filter.kinds?.length ? [...new Set(filter.kinds)].sort() : null,
    filter.outcomes?.length ? [...new Set(filter.outcomes)].sort() : null,
    (filter.sinceUs ?? (filter.since && BigInt(filter.since.getTime()) * 1000n))?.toString() ?? null,
    (filter.untilUs ?? (filter.until && BigInt(filter.until.getTime()) * 1000n))?.toString() ?? null,
  ];
  return createHash('sha256').update(JSON.stringify(normalized)).digest().subarray(0, 8).toString('base64url');
}

/**
 * The `next_cursor` of a page: the (at, id) of its last event and the key of the filter,
 * base64url-encoded. Opaque to clients; kept exact to the microsecond so no event is skipped
 * or repeated across pages.
 */
export function encodeCursor(position: AuditPosition, key: string): string {
  return Buffer.from(`${position.atUs}.${position.id}.${key}`, 'utf8').toString('base64url');
}

export type DecodedCursor = { position: AuditPosition; key: string };

/** The position and filter key a cursor names, or undefined when it is not one this API made. */
export function decodeCursor(cursor: string): DecodedCursor | undefined {
  if (!/^[A-Za-z0-9_-]{1,96}$/.test(cursor)) return undefined;
  const match = CURSOR.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match || BigInt(match[2]) > MAX_ID) return undefined;
  return { position: { atUs: match[1], id: match[2] }, key: match[3] };
}
