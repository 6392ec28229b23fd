import { describe, expect, it } from 'vitest';
import { ApiKeyVerifier } from './api-key-verifier.js';
import { bearerToken } from './strategies/bearer.strategy.js';

describe('ApiKeyVerifier', () => {
  const verifier = new ApiKeyVerifier(['first-key-123', 'second-key-456']);

  it('accepts each configured key with a stable id that does not contain the key', () => {
    const first = verifier.verify('first-key-123');
    const second = verifier.verify('second-key-456');
    expect(first).toMatchObject({ kind: 'api_key', id: expect.stringMatching(/^key:[0-9a-f]{16}$/) });
    expect(second?.id).not.toBe(first?.id);
    expect(verifier.verify('first-key-123')?.id).toBe(first?.id);
    expect(JSON.stringify(first)).not.toContain('first-key-123');
  });

  it('refuses other keys, prefixes and extensions', () => {
    expect(verifier.verify('first-key-12')).toBeUndefined();
    expect(verifier.verify('first-key-1234')).toBeUndefined();
    expect(verifier.verify('')).toBeUndefined();
    expect(new ApiKeyVerifier([]).verify('anything')).toBeUndefined();
  });
});

describe('bearerToken', () => {
  it.each([
    ['Bearer abc', 'abc'],
    ['bearer  abc', 'abc'],
    ['Basic abc', undefined],
    ['Bearer', undefined],
    ['Bearer a b', undefined],
    [undefined, undefined],
  ])('%j → %j', (header, token) => expect(bearerToken(header)).toBe(token));
});
