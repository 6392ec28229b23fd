import { hash } from 'node:crypto';

/** The SHA-256 of a presented or configured key: the only form in which any key is kept. */
export function keyDigest(key: string): Buffer {
  // One-shot: no Hash object per presented key.
  return hash('sha256', key, 'buffer');
}
