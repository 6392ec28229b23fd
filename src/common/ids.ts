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
  if (offset + RANDOM_CHARS > POOL_SIZE) {
    pool = randomBytes(POOL_SIZE);
    offset = 0;
  }
  let time = Date.now();
  const chars = new Array<string>(26);
  for (let index = 9; index >= 0; index--) {
    chars[index] = ALPHABET[time % 32];
    time = Math.floor(time / 32);
  }
  for (let index = 10; index < 26; index++) chars[index] = ALPHABET[pool[offset++] & 31];
  return chars.join('');
}

