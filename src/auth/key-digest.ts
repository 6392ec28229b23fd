import { createHash } from 'node:crypto';

/** The SHA-256 of a presented or configured key: the only form in which any key is kept. */
export function keyDigest(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}
