import { isIP } from 'node:net';
import type { Request } from 'express';

/**
 * The caller's address as Express resolves it under AGENTSPEC_TRUST_PROXY (`request.ip`: the
 * socket's peer unless proxies are trusted), with IPv4-mapped IPv6 written as IPv4.
 */
export function clientAddress(request: Request): string | undefined {
  const raw = request.ip ?? request.socket?.remoteAddress;
  if (!raw) return undefined;
  const address = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(raw)?.[1] ?? raw;
  return isIP(address) ? address : undefined;
}

/**
 * The bucket an address is counted in: an IPv4 address on its own, an IPv6 address by its /64,
 * the block a single subscriber is usually given (RFC 6177), so that rotating through it gains
 * nothing.
 */
export function addressBucket(address: string | undefined): string {
  if (address === undefined) return 'unknown';
  return isIP(address) === 6 ? ipv6Prefix64(address) : address;
}

function ipv6Prefix64(address: string): string {
  const plain = address.split('%')[0].toLowerCase();
  const [head, tail] = plain.includes('::') ? plain.split('::') : [plain, undefined];
  const groups = (part: string | undefined) => (part ? part.split(':') : []);
  const width = (list: string[]) => list.reduce((sum, group) => sum + (group.includes('.') ? 2 : 1), 0);
  const before = groups(head);
  const after = groups(tail);
  const zeros = tail === undefined ? 0 : 8 - width(before) - width(after);
  const full = [...before, ...Array<string>(zeros).fill('0'), ...after];
  return `${full
    .slice(0, 4)
    .map((group) => Number.parseInt(group, 16).toString(16))
    .join(':')}::/64`;
}
