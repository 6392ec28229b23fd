import { newUlid } from '../ids.js';

export const CORRELATION_HEADER = 'X-Correlation-ID';
const ACCEPTED = /^[A-Za-z0-9._:-]{1,128}$/;

/** Reuses a caller's id when it is safe to echo and log, else makes a new ULID (docs/api.md §1.4). */
export function correlationIdFrom(header: string | string[] | undefined): string {
  const value = Array.isArray(header) ? header[0] : header;
  return value !== undefined && ACCEPTED.test(value) ? value : newUlid();
}
