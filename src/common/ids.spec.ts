import { describe, expect, it } from 'vitest';
import { newUlid } from './ids.js';

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
