import { describe, expect, it } from 'vitest';
import { newToken, newUlid } from './ids.js';

describe('newUlid', () => {
  it('makes distinct, time-ordered ULIDs', () => {
    const ids = Array.from({ length: 5000 }, () => newUlid());
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.every((id) => /^[0-9A-HJKMNP-TV-Z]{26}$/.test(id))).toBe(true);
    const later = newUlid();
    expect(later.slice(0, 10) >= ids[0].slice(0, 10)).toBe(true);
  });

  it('spreads its random part over the whole alphabet', () => {
    const seen = new Set(Array.from({ length: 2000 }, () => newUlid().slice(10)).join(''));
    expect(seen.size).toBe(32);
  });
});

describe('newToken', () => {
  it('makes distinct base64url tokens of the asked size, across refills of the pool', () => {
    // 3,000 × 16 bytes is more than ten pools of 4,096: a refill that reused bytes would repeat tokens.
    const tokens = Array.from({ length: 3000 }, (_, i) => (i % 3 === 0 ? newUlid() && newToken() : newToken()));
    expect(new Set(tokens).size).toBe(tokens.length);
    expect(tokens.every((token) => /^[A-Za-z0-9_-]{22}$/.test(token))).toBe(true);
    expect(Buffer.from(newToken(32), 'base64url')).toHaveLength(32);
    expect(Buffer.from(newToken(4096), 'base64url')).toHaveLength(4096);
  });

  it('refuses sizes the pool cannot give', () => {
    for (const size of [0, -1, 1.5, 4097, Number.NaN]) expect(() => newToken(size)).toThrow(RangeError);
  });
});
