import type { Request } from 'express';
import { describe, expect, it } from 'vitest';
import { addressBucket, clientAddress } from './client-address.js';

const requestFrom = (ip: string | undefined, remoteAddress?: string) => ({ ip, socket: { remoteAddress } }) as unknown as Request;

describe('clientAddress', () => {
  it('takes what Express resolved, writing IPv4-mapped IPv6 as IPv4', () => {
    expect(clientAddress(requestFrom('203.0.113.9'))).toBe('203.0.113.9');
    expect(clientAddress(requestFrom('::ffff:127.0.0.1'))).toBe('127.0.0.1');
    expect(clientAddress(requestFrom('2001:db8::1'))).toBe('2001:db8::1');
  });

  it('falls back to the socket, and names nothing that is not an address', () => {
    expect(clientAddress(requestFrom(undefined, '::1'))).toBe('::1');
    expect(clientAddress(requestFrom(undefined))).toBeUndefined();
    expect(clientAddress(requestFrom('not-an-ip'))).toBeUndefined();
  });
});

describe('addressBucket', () => {
  it('keeps IPv4 addresses apart', () => {
    expect(addressBucket('203.0.113.9')).toBe('203.0.113.9');
    expect(addressBucket('203.0.113.10')).not.toBe(addressBucket('203.0.113.9'));
    expect(addressBucket(undefined)).toBe('unknown');
  });

  it.each([
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:db8:1:2::ffff', '2001:db8:1:2::/64'],
    ['2001:DB8:0001:0002:aaaa::', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['64:ff9b::192.0.2.33', '64:ff9b:0:0::/64'],
  ])('counts %s in %s', (address, bucket) => expect(addressBucket(address)).toBe(bucket));
});
