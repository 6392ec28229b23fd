import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generateManagedKey, hashManagedKey, isManagedKeyFormat, managedKeyPrincipal } from './managed-key.js';

describe('managed keys', () => {
  it('generates ask_ + 256 random bits in base64url, its SHA-256 hex digest and a 12-character prefix', () => {
    const generated = generateManagedKey();

    expect(generated.key).toMatch(/^ask_[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(generated.key.slice(4), 'base64url')).toHaveLength(32);
    expect(generated.hash).toBe(createHash('sha256').update(generated.key).digest('hex'));
    expect(generated.prefix).toBe(generated.key.slice(0, 12));
    expect(isManagedKeyFormat(generated.key)).toBe(true);
  });

  it('never generates the same key twice', () => {
    const keys = new Set(Array.from({ length: 1_000 }, () => generateManagedKey().key));
    expect(keys.size).toBe(1_000);
  });

  it.each([
    ['a service key', 'service-key-0123456789abcdef'],
    ['one character short', `ask_${'a'.repeat(42)}`],
    ['one character long', `ask_${'a'.repeat(44)}`],
    ['another marker', `asx_${'a'.repeat(43)}`],
    ['a character outside base64url', `ask_${'a'.repeat(42)}+`],
  ])('does not take %s for a managed key', (_label, key) => {
    expect(isManagedKeyFormat(key)).toBe(false);
  });

  it('maps a key to its principal: mkey:<id>, its name, its role, access from role and agents', () => {
    const key = { id: 'mk_01JD3Q8Z4N5V6W7X8Y9Z0A1B2C', name: 'ci', hash: hashManagedKey('ask_x'), prefix: 'ask_xxxxxxxx', expiresAt: null };

    expect(managedKeyPrincipal({ ...key, role: 'user', agents: ['chat'] })).toEqual({
      kind: 'managed_key',
      id: 'mkey:mk_01JD3Q8Z4N5V6W7X8Y9Z0A1B2C',
      name: 'ci',
      roles: ['user'],
      access: { role: 'user', agents: new Set(['chat']) },
    });
    expect(managedKeyPrincipal({ ...key, role: 'admin', agents: [] }).access.role).toBe('admin');
    expect(managedKeyPrincipal({ ...key, role: 'auditor', agents: [] }).access).toMatchObject({ role: 'auditor', agents: new Set() });
  });
});
