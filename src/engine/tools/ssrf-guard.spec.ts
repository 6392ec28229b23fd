import type { LookupAddress } from 'node:dns';
import { describe, expect, it } from 'vitest';
import { AddressPolicy, AddressRefusedError, createGuardedLookup, type HostResolver } from './ssrf-guard.js';

type Answer = { error: NodeJS.ErrnoException | null; address: string | LookupAddress[]; family?: number };

function lookupWith(policy: AddressPolicy, resolve: HostResolver, hostname: string, options: { all?: boolean; family?: number }) {
  const lookup = createGuardedLookup(policy, resolve);
  return new Promise<Answer>((done) => lookup(hostname, options, (error, address, family) => done({ error, address, family })));
}

const fixed =
  (...addresses: string[]): HostResolver =>
  async () =>
    addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));

describe('createGuardedLookup', () => {
  it('refuses when any resolved address is not public, even after a public one', async () => {
    const answer = await lookupWith(new AddressPolicy(), fixed('203.0.114.7', '127.0.0.1'), 'mixed.test', { all: true });
    expect(answer.error).toBeInstanceOf(AddressRefusedError);
    expect(answer.error?.message).toBe('refused to connect to mixed.test: it resolves to 127.0.0.1 (loopback address)');
  });

  it('answers every address when asked for all of them', async () => {
    const answer = await lookupWith(new AddressPolicy(), fixed('203.0.114.7', '2606:4700::1'), 'public.test', { all: true });
    expect(answer.error).toBeNull();
    expect(answer.address).toEqual([
      { address: '203.0.114.7', family: 4 },
      { address: '2606:4700::1', family: 6 },
    ]);
  });

  it('answers one address of the requested family otherwise', async () => {
    const answer = await lookupWith(new AddressPolicy(), fixed('203.0.114.7', '2606:4700::1'), 'public.test', { family: 6 });
    expect(answer).toEqual({ error: null, address: '2606:4700::1', family: 6 });
  });

  it('only checks the addresses of the requested family', async () => {
    const answer = await lookupWith(new AddressPolicy(), fixed('127.0.0.1', '2606:4700::1'), 'dual.test', { family: 6 });
    expect(answer.error).toBeNull();
  });

  it('fails with ENOTFOUND when no address of the family exists', async () => {
    const answer = await lookupWith(new AddressPolicy(), fixed('203.0.114.7'), 'v4only.test', { family: 6 });
    expect(answer.error?.code).toBe('ENOTFOUND');
  });

  it('passes resolver failures on', async () => {
    const failing: HostResolver = async () => {
      throw Object.assign(new Error('try again'), { code: 'EAI_AGAIN' });
    };
    const answer = await lookupWith(new AddressPolicy(), failing, 'flaky.test', {});
    expect(answer.error?.code).toBe('EAI_AGAIN');
  });

  it('lets allow-listed hosts resolve to private addresses', async () => {
    const answer = await lookupWith(new AddressPolicy(['db.internal']), fixed('10.1.2.3'), 'db.internal', {});
    expect(answer).toEqual({ error: null, address: '10.1.2.3', family: 4 });
  });
});

describe('AddressPolicy', () => {
  const policy = new AddressPolicy([' Api.Example.test. ', '*.corp.test', '10.9.8.7', '::1', '']);

  it.each([
    ['api.example.test', true],
    ['API.EXAMPLE.TEST.', true],
    ['other.example.test', false],
    ['x.corp.test', true],
    ['a.b.corp.test', true],
    ['corp.test', false],
    ['xcorp.test', false],
    ['10.9.8.7', true],
    ['10.9.8.8', false],
    ['[::1]', true],
    ['0:0:0:0:0:0:0:1', true],
  ])('host %s allowed: %s', (host, allowed) => {
    expect(policy.isHostAllowed(host)).toBe(allowed);
  });

  it('refuses non-public addresses of other hosts and admits public ones', () => {
    expect(() => policy.assertReachable('other.test', '192.168.0.10')).toThrow(AddressRefusedError);
    expect(() => policy.assertReachable('other.test', '203.0.114.7')).not.toThrow();
    expect(() => policy.assertReachable('other.test', '10.9.8.7')).not.toThrow();
  });
});
