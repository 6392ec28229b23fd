import { isIPv4, isIPv6 } from 'node:net';

/**
 * What kind of destination an IP address is. Everything but `public` is refused by the http
 * tool's SSRF guard unless the host is allow-listed.
 */
export type AddressClass =
  | 'public'
  | 'loopback'
  | 'private'
  | 'link-local'
  | 'unspecified'
  | 'carrier-nat'
  | 'multicast'
  | 'reserved'
  | 'invalid';

interface Ipv4Range {
  base: number;
  prefix: number;
  kind: AddressClass;
}

function v4(text: string, prefix: number, kind: AddressClass): Ipv4Range {
  return { base: ipv4ToNumber(text), prefix, kind };
}

// IANA IPv4 special-purpose registry (RFC 6890 and updates), most specific first.
const IPV4_RANGES: readonly Ipv4Range[] = [
  v4('0.0.0.0', 8, 'unspecified'),
  v4('10.0.0.0', 8, 'private'),
  v4('100.64.0.0', 10, 'carrier-nat'),
  v4('127.0.0.0', 8, 'loopback'),
  v4('169.254.0.0', 16, 'link-local'),
  v4('172.16.0.0', 12, 'private'),
  v4('192.0.0.0', 24, 'reserved'),
  v4('192.0.2.0', 24, 'reserved'),
  v4('192.88.99.0', 24, 'reserved'),
  v4('192.168.0.0', 16, 'private'),
  v4('198.18.0.0', 15, 'reserved'),
  v4('198.51.100.0', 24, 'reserved'),
  v4('203.0.113.0', 24, 'reserved'),
  v4('224.0.0.0', 4, 'multicast'),
  v4('240.0.0.0', 4, 'reserved'),
];

function ipv4ToNumber(text: string): number {
  return text.split('.').reduce((acc, part) => acc * 256 + Number(part), 0);
}

function classifyIpv4Number(value: number): AddressClass {
  for (const range of IPV4_RANGES) {
    const size = 2 ** (32 - range.prefix);
    if (Math.floor(value / size) === Math.floor(range.base / size)) return range.kind;
  }
  return 'public';
}

/** Parses a valid IPv6 text (zone id already removed) into its 16 bytes. */
function ipv6ToBytes(text: string): Uint8Array {
  const bytes = new Uint8Array(16);
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const groupsOf = (part: string | undefined): number[] => {
    if (!part) return [];
    const groups: number[] = [];
    for (const piece of part.split(':')) {
      if (piece.includes('.')) {
        const n = ipv4ToNumber(piece);
        groups.push(Math.floor(n / 65536), n % 65536);
      } else {
        groups.push(parseInt(piece, 16));
      }
    }
    return groups;
  };
  const front = groupsOf(head);
  const back = groupsOf(tail);
  const groups = [...front, ...new Array<number>(8 - front.length - back.length).fill(0), ...back];
  groups.forEach((group, i) => {
    bytes[i * 2] = group >> 8;
    bytes[i * 2 + 1] = group & 0xff;
  });
  return bytes;
}

function startsWith(bytes: Uint8Array, prefix: readonly number[], bits: number): boolean {
  for (let bit = 0; bit < bits; bit += 8) {
    const index = bit / 8;
    const take = Math.min(8, bits - bit);
    const mask = (0xff << (8 - take)) & 0xff;
    if ((bytes[index] & mask) !== ((prefix[index] ?? 0) & mask)) return false;
  }
  return true;
}

function embeddedIpv4(bytes: Uint8Array, offset: number): number {
  return ((bytes[offset] * 256 + bytes[offset + 1]) * 256 + bytes[offset + 2]) * 256 + bytes[offset + 3];
}

function classifyIpv6Bytes(bytes: Uint8Array): AddressClass {
  const zeroUpTo = (n: number) => bytes.subarray(0, n).every((b) => b === 0);
  if (zeroUpTo(16)) return 'unspecified';
  if (zeroUpTo(15) && bytes[15] === 1) return 'loopback';
  // ::ffff:a.b.c.d (IPv4-mapped) and ::ffff:0:a.b.c.d (IPv4-translated) reach the IPv4 host.
  if (zeroUpTo(10) && bytes[10] === 0xff && bytes[11] === 0xff) return classifyIpv4Number(embeddedIpv4(bytes, 12));
  if (zeroUpTo(8) && bytes[8] === 0xff && bytes[9] === 0xff && bytes[10] === 0 && bytes[11] === 0) {
    return classifyIpv4Number(embeddedIpv4(bytes, 12));
  }
  // ::a.b.c.d, the deprecated IPv4-compatible form (RFC 4291 §2.5.5.1).
  if (zeroUpTo(12)) return 'reserved';
  // NAT64 well-known prefix 64:ff9b::/96 translates to the embedded IPv4 address (RFC 6052).
  if (startsWith(bytes, [0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0], 96)) {
    return classifyIpv4Number(embeddedIpv4(bytes, 12));
  }
  if (startsWith(bytes, [0x00, 0x64, 0xff, 0x9b, 0x00, 0x01], 48)) return 'private';
  // 6to4 (RFC 3056) carries the IPv4 address of the relay in bytes 2..5.
  if (startsWith(bytes, [0x20, 0x02], 16)) return classifyIpv4Number(embeddedIpv4(bytes, 2));
  if (startsWith(bytes, [0x01, 0x00, 0, 0, 0, 0, 0, 0], 64)) return 'reserved';
  if (startsWith(bytes, [0x20, 0x01, 0x0d, 0xb8], 32)) return 'reserved';
  if (startsWith(bytes, [0x20, 0x01, 0x00, 0x00], 32)) return 'reserved';
  if (startsWith(bytes, [0xfc], 7)) return 'private';
  if (startsWith(bytes, [0xfe, 0x80], 10)) return 'link-local';
  if (startsWith(bytes, [0xfe, 0xc0], 10)) return 'private';
  if (startsWith(bytes, [0xff], 8)) return 'multicast';
  // Only 2000::/3 is allocated for global unicast; the rest of the space is not a destination.
  if (startsWith(bytes, [0x20], 3)) return 'public';
  return 'reserved';
}

function stripDecorations(address: string): string {
  const unbracketed = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  const zone = unbracketed.indexOf('%');
  return zone === -1 ? unbracketed : unbracketed.slice(0, zone);
}

/** Classifies an IPv4 or IPv6 address given as text (brackets and zone ids tolerated). */
export function classifyAddress(address: string): AddressClass {
  const plain = stripDecorations(address);
  if (isIPv4(plain)) return classifyIpv4Number(ipv4ToNumber(plain));
  if (isIPv6(plain)) return classifyIpv6Bytes(ipv6ToBytes(plain.toLowerCase()));
  return 'invalid';
}

/** One spelling per address, so that `::FFFF:7f00:1` and `::ffff:127.0.0.1` compare equal. */
export function canonicalAddress(address: string): string | undefined {
  const plain = stripDecorations(address);
  if (isIPv4(plain)) return plain;
  if (!isIPv6(plain)) return undefined;
  return Buffer.from(ipv6ToBytes(plain.toLowerCase())).toString('hex');
}

export function isIpLiteral(host: string): boolean {
  const plain = stripDecorations(host);
  return isIPv4(plain) || isIPv6(plain);
}
