import { lookup as dnsLookup } from 'node:dns/promises';
import type { LookupAddress, LookupOptions } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { canonicalAddress, classifyAddress, isIpLiteral, type AddressClass } from './address-classifier.js';

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Resolves a host name to every address it has; injectable so tests never touch real DNS. */
export type HostResolver = (hostname: string) => Promise<ResolvedAddress[]>;

export const systemHostResolver: HostResolver = async (hostname) => {
  const found = await dnsLookup(hostname, { all: true, verbatim: true });
  return found.map((entry) => ({ address: entry.address, family: entry.family === 6 ? 6 : 4 }));
};

export class AddressRefusedError extends Error {
  readonly code = 'ERR_ADDRESS_REFUSED';

  constructor(
    readonly host: string,
    readonly address: string,
    readonly addressClass: AddressClass,
  ) {
    super(
      host === address
        ? `refused to connect to ${address} (${addressClass} address)`
        : `refused to connect to ${host}: it resolves to ${address} (${addressClass} address)`,
    );
    this.name = 'AddressRefusedError';
  }
}

export function normalizeHost(host: string): string {
  let result = host.trim().toLowerCase();
  if (result.startsWith('[') && result.endsWith(']')) result = result.slice(1, -1);
  if (result.endsWith('.')) result = result.slice(0, -1);
  return result;
}

/**
 * Which destinations http tools may reach. Public addresses always; anything else only for
 * allow-listed hosts. Entries are host names (`api.internal`), `*.suffix` wildcards, or IP
 * addresses (which also match when a name resolves to them).
 */
export class AddressPolicy {
  private readonly names = new Set<string>();
  private readonly suffixes: string[] = [];
  private readonly addresses = new Set<string>();

  constructor(allowHosts: readonly string[] = []) {
    for (const raw of allowHosts) {
      const entry = normalizeHost(raw);
      if (!entry) continue;
      if (entry.startsWith('*.')) this.suffixes.push(entry.slice(1));
      else if (isIpLiteral(entry)) this.addresses.add(canonicalAddress(entry) ?? entry);
      else this.names.add(entry);
    }
  }

  isHostAllowed(host: string): boolean {
    const name = normalizeHost(host);
    if (this.names.has(name)) return true;
    if (this.suffixes.some((suffix) => name.endsWith(suffix))) return true;
    const canonical = canonicalAddress(name);
    return canonical !== undefined && this.addresses.has(canonical);
  }

  /** Throws AddressRefusedError when `host` may not be reached at `address`. */
  assertReachable(host: string, address: string): void {
    if (this.isHostAllowed(host) || this.isHostAllowed(address)) return;
    const addressClass = classifyAddress(address);
    if (addressClass !== 'public') throw new AddressRefusedError(host, address, addressClass);
  }
}

/**
 * A `lookup` for net/http that checks every resolved address before the socket connects.
 * Because the socket connects to exactly the addresses returned here, a DNS answer that
 * changes between a check and the connection (rebinding) cannot slip past.
 */
export function createGuardedLookup(policy: AddressPolicy, resolve: HostResolver): LookupFunction {
  return (hostname: string, options: LookupOptions, callback) => {
    const pick = async (): Promise<ResolvedAddress[]> => {
      const found = await resolve(hostname);
      const wanted = options.family === 4 || options.family === 6 ? options.family : undefined;
      const usable = wanted ? found.filter((entry) => entry.family === wanted) : found;
      if (usable.length === 0) {
        const error: NodeJS.ErrnoException = new Error(`no address found for ${hostname}`);
        error.code = 'ENOTFOUND';
        throw error;
      }
      // All of them, not just the first: the socket may fall back to any of them.
      for (const entry of usable) policy.assertReachable(hostname, entry.address);
      return usable;
    };
    pick().then(
      (usable) => {
        if (options.all) {
          const addresses: LookupAddress[] = usable.map((entry) => ({ address: entry.address, family: entry.family }));
          callback(null, addresses);
        } else {
          callback(null, usable[0].address, usable[0].family);
        }
      },
      (error: NodeJS.ErrnoException) => callback(error, ''),
    );
  };
}
