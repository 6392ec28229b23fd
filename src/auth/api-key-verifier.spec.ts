import { describe, expect, it } from 'vitest';
import { ADMIN_ACCESS, AUDITOR_ACCESS } from './access.js';
import { ApiKeyVerifier } from './api-key-verifier.js';
import { UserDirectory } from './principal-directory.js';
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

describe('ApiKeyVerifier with user blocks', () => {
  const keys: Record<string, string> = { ALICE_KEY: 'alice-key-0123456789', AUDIT_KEY: 'audit-key-0123456789' };
  let directory = UserDirectory.build(
    [
      { name: 'alice', key_env: 'ALICE_KEY', agents: ['support'], role: 'user' },
      { name: 'audit', key_env: 'AUDIT_KEY', agents: [], role: 'auditor' },
    ],
    { readKey: (variable) => keys[variable] },
  );
  const verifier = new ApiKeyVerifier(['service-key-123'], undefined, { userDirectory: () => directory });

  it("accepts a user block's key as that user's principal, with the block's access", () => {
    const alice = verifier.verify('alice-key-0123456789');
    expect(alice).toMatchObject({ kind: 'user_key', id: 'user:alice', name: 'alice', roles: ['user'] });
    expect(alice?.access.role).toBe('user');
    expect([...(alice?.access.agents ?? [])]).toEqual(['support']);
    expect(verifier.verify('audit-key-0123456789')?.access).toBe(AUDITOR_ACCESS);
    expect(verifier.verify('service-key-123')?.kind).toBe('api_key');
    expect(verifier.verify('alice-key-012345678')).toBeUndefined();
  });

  it('follows the directory the runtime serves now (a reload replaces it)', () => {
    directory = UserDirectory.build([{ name: 'bob', key_env: 'ALICE_KEY', agents: [], role: 'admin' }], {
      readKey: (variable) => keys[variable],
    });
    expect(verifier.verify('alice-key-0123456789')).toMatchObject({ id: 'user:bob', access: ADMIN_ACCESS });
    expect(verifier.verify('audit-key-0123456789')).toBeUndefined();
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
