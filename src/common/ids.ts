import { randomBytes } from 'node:crypto';

/** Crockford's base32, as ULIDs spell it (https://github.com/ulid/spec). */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const RANDOM_CHARS = 16;
const POOL_SIZE = 4096;
let pool = randomBytes(POOL_SIZE);
let offset = 0;

/**
 * A new ULID (time-ordered, 80 random bits from the system's CSPRNG): 10 characters of
 * milliseconds, then 16 characters of 5 random bits each, drawn from a pooled crypto buffer
 * (asking the system per id costs about 100 µs). Spelled here rather than by the ulid
 * package's `ulid()`, which draws each character through a float and concatenates 26 strings:
 * ids are made twice per invoke (correlation id, audit row).
 */
export function newUlid(): string {
  const start = draw(RANDOM_CHARS);
  let time = Date.now();
  const chars = new Array<string>(26);
  for (let index = 9; index >= 0; index--) {
    chars[index] = ALPHABET[time % 32];
    time = Math.floor(time / 32);
  }
  for (let index = 10; index < 26; index++) chars[index] = ALPHABET[pool[start + index - 10] & 31];
  return chars.join('');
}

/**
 * `bytes` random bytes from the same pooled CSPRNG buffer, base64url: an unguessable token
 * for the process's own use (a session turn's lease), made once per request.
 */
export function newToken(bytes = 16): string {
  if (!Number.isSafeInteger(bytes) || bytes < 1 || bytes > POOL_SIZE) throw new RangeError(`token size must be 1..${POOL_SIZE} bytes`);
  const start = draw(bytes);
  return pool.toString('base64url', start, start + bytes);
}

/** Reserves `count` unused bytes of the pool (refilled when short) and returns where they start; each byte is handed out once. */
function draw(count: number): number {
  if (offset + count > POOL_SIZE) {
    pool = randomBytes(POOL_SIZE);
    offset = 0;
  }
  const start = offset;
  offset += count;
  return start;
}
