/** Parsers for configuration values. Each throws a ConfigValueError with words for people. */

import { isIP } from 'node:net';

export class ConfigValueError extends Error {}

const DURATION_UNITS: Record<string, number> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/** `500ms`, `30s`, `5m`, `2h`, `90d`, or `0`. Returns milliseconds. */
export function parseDuration(raw: string): number {
  const text = raw.trim();
  if (text === '0') return 0;
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(text);
  if (!match) {
    throw new ConfigValueError(`"${raw}" is not a duration (use e.g. 500ms, 30s, 5m, 2h, 90d)`);
  }
  const ms = Number(match[1]) * DURATION_UNITS[match[2]];
  if (!Number.isFinite(ms) || ms > Number.MAX_SAFE_INTEGER) {
    throw new ConfigValueError(`"${raw}" is too long`);
  }
  return Math.round(ms);
}

const SIZE_UNITS: Record<string, number> = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 };

/** `1mb`, `512kb`, `1048576`. Returns bytes. */
export function parseByteSize(raw: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?$/i.exec(raw.trim());
  if (!match) throw new ConfigValueError(`"${raw}" is not a size (use e.g. 512kb, 1mb)`);
  const bytes = Math.floor(Number(match[1]) * SIZE_UNITS[(match[2] ?? 'b').toLowerCase()]);
  if (bytes < 1) throw new ConfigValueError(`"${raw}" must be at least 1 byte`);
  return bytes;
}

export function parseInteger(raw: string, min: number, max: number): number {
  if (!/^-?\d+$/.test(raw.trim())) throw new ConfigValueError(`"${raw}" is not an integer`);
  const value = Number(raw);
  if (value < min || value > max) {
    throw new ConfigValueError(`${value} is outside ${min}..${max}`);
  }
  return value;
}

export function parseBoolean(raw: string): boolean {
  const text = raw.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(text)) return true;
  if (['false', '0', 'no', 'off'].includes(text)) return false;
  throw new ConfigValueError(`"${raw}" is not a boolean (use true or false)`);
}

export function parseUrl(raw: string, protocols: readonly string[]): URL {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new ConfigValueError('is not a valid URL');
  }
  if (!protocols.includes(url.protocol)) {
    throw new ConfigValueError(`must use ${protocols.map((p) => p.replace(':', '')).join(' or ')}`);
  }
  return url;
}

export interface RateLimit {
  ratePerSecond: number;
  burst: number;
}

/** `rate:burst`, e.g. `10:20`. */
export function parseRateLimit(raw: string): RateLimit {
  const match = /^(\d+(?:\.\d+)?):(\d+)$/.exec(raw.trim());
  if (!match) throw new ConfigValueError(`"${raw}" is not "rate:burst" (e.g. 10:20)`);
  const ratePerSecond = Number(match[1]);
  const burst = Number(match[2]);
  if (ratePerSecond <= 0) throw new ConfigValueError('the rate must be above 0');
  if (burst < 1) throw new ConfigValueError('the burst must be at least 1');
  return { ratePerSecond, burst };
}

/** Comma-separated, trimmed, empty entries dropped. */
export function parseList(raw: string): string[] {
  return raw
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
}

export interface AuthFailureLimit {
  /** Invalid credentials accepted per window and client address; the next one starts a block. */
  failures: number;
  windowMs: number;
  /** How long a client address is refused once over the limit. */
  blockMs: number;
}

/** `failures/window`, e.g. `20/1m`; `0` or `off` turns the throttle off. */
export function parseFailureLimit(raw: string): Omit<AuthFailureLimit, 'blockMs'> | undefined {
  const text = raw.trim().toLowerCase();
  if (text === '0' || text === 'off') return undefined;
  const match = /^(\d+)\/(.+)$/.exec(text);
  if (!match) throw new ConfigValueError(`"${raw}" is not "failures/window" (e.g. 20/1m), 0 or off`);
  const failures = parseInteger(match[1], 1, 1_000_000);
  const windowMs = parseDuration(match[2]);
  if (windowMs < 1_000) throw new ConfigValueError('the window must be at least 1s');
  return { failures, windowMs };
}

/** Express's `trust proxy` setting (https://expressjs.com/en/guide/behind-proxies.html). */
export type TrustProxy = boolean | number | string[];

const PROXY_PRESETS = new Set(['loopback', 'linklocal', 'uniquelocal']);

/**
 * `false` (the socket's address is the client), `true` (trust every hop: only behind a proxy
 * that overwrites X-Forwarded-For), a hop count, or the trusted proxies: addresses, CIDR
 * ranges and the names loopback, linklocal, uniquelocal, comma-separated.
 */
export function parseTrustProxy(raw: string): TrustProxy {
  const text = raw.trim().toLowerCase();
  if (['false', 'no', 'off'].includes(text)) return false;
  if (['true', 'yes', 'on'].includes(text)) return true;
  if (/^\d+$/.test(text)) {
    const hops = parseInteger(text, 0, 100);
    return hops === 0 ? false : hops;
  }
  const entries = parseList(text);
  for (const entry of entries) {
    if (!PROXY_PRESETS.has(entry) && !isAddressOrRange(entry)) {
      throw new ConfigValueError(
        `"${entry}" is not true, false, a hop count, an IP address, a CIDR range, loopback, linklocal or uniquelocal`,
      );
    }
  }
  if (entries.length === 0) throw new ConfigValueError('names no proxy');
  return entries;
}

function isAddressOrRange(entry: string): boolean {
  const [address, prefix, ...rest] = entry.split('/');
  const version = isIP(address);
  if (version === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (version === 4 ? 32 : 128);
}
