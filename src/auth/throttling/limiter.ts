import type { Logger } from 'pino';
import { RateLimiterMemory, RateLimiterPostgres, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { DataSource } from 'typeorm';
import { logFields, type RequestContext } from '../../common/request-context/request-context.js';

/** The table the `postgres` store counts in; created by migration 1764470300000, never at run time. */
export const RATE_LIMIT_TABLE = 'rate_limit_buckets';
/** How long one store operation may take before this replica counts in memory instead. */
const STORE_TIMEOUT_MS = 1_000;
/** At most one "store unavailable" warning per this interval and limiter. */
const OUTAGE_LOG_INTERVAL_MS = 30_000;

export interface LimiterOptions {
  /** Separates the counters of different limiters sharing the store. */
  name: string;
  /** Requests (or failures) allowed per window. */
  points: number;
  windowMs: number;
  /** Once over the limit, refuse for this long instead of until the window ends. */
  blockMs?: number;
  store: 'memory' | 'postgres';
  /** The app's DataSource; its pg pool serves the `postgres` store. */
  dataSource?: DataSource;
  logger: Logger;
}

/** What one counted request learns: the numbers behind the RateLimit-* headers. */
export interface LimitState {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Until the window (or block) ends. */
  msBeforeReset: number;
}

/**
 * Fixed-window counters from rate-limiter-flexible, per key: `points` per `windowMs`, the window
 * starting with a key's first request (docs/security.md "Rate limits" has the exact behaviour).
 * With the `postgres` store every replica counts in one table; when that store fails or is slow,
 * this replica counts in its own memory meanwhile (logged), so an outage neither lifts the limit
 * nor turns into errors.
 */
export class Limiter {
  private readonly local: RateLimiterMemory;
  private readonly shared?: RateLimiterPostgres;
  private lastOutageLog = 0;

  constructor(private readonly options: LimiterOptions) {
    const settings = {
      keyPrefix: options.name,
      points: options.points,
      duration: exactSeconds(options.windowMs),
      blockDuration: options.blockMs === undefined ? 0 : exactSeconds(options.blockMs),
    };
    this.local = new RateLimiterMemory(settings);
    if (options.store === 'postgres') {
      if (!options.dataSource) throw new Error('the postgres rate-limit store needs the DataSource');
      this.shared = new RateLimiterPostgres({
        ...settings,
        // rate-limiter-flexible reads `dataSource.driver.master` (the pg pool) at each query,
        // so the DataSource may connect after this is built.
        storeClient: options.dataSource,
        storeType: 'typeorm',
        tableName: RATE_LIMIT_TABLE,
        tableCreated: true,
      });
    }
  }

  get limit(): number {
    return this.options.points;
  }

  /** Counts one request for `key`; `request` names the request in a store outage's log line. */
  async consume(key: string, request?: RequestContext): Promise<LimitState> {
    try {
      return this.state(await this.run((limiter) => limiter.consume(key), request), true);
    } catch (error) {
      if (error instanceof RateLimiterRes) return this.state(error, false);
      throw error;
    }
  }

  /** Milliseconds until `key` may be counted again (0: not over its limit). */
  async blockedForMs(key: string, request?: RequestContext): Promise<number> {
    const current = await this.run((limiter) => limiter.get(key), request);
    if (!current || current.consumedPoints <= this.options.points) return 0;
    return Math.max(current.msBeforeNext, 1);
  }

  private async run<T>(operation: (limiter: RateLimiterAbstract) => Promise<T>, request: RequestContext | undefined): Promise<T> {
    if (!this.shared) return operation(this.local);
    try {
      return await withTimeout(operation(this.shared), STORE_TIMEOUT_MS);
    } catch (error) {
      if (error instanceof RateLimiterRes) throw error;
      this.logOutage(error, request);
      return operation(this.local);
    }
  }

  private state(result: RateLimiterRes, allowed: boolean): LimitState {
    return {
      allowed,
      limit: this.options.points,
      remaining: Math.max(0, Math.min(this.options.points, result.remainingPoints)),
      msBeforeReset: Math.max(0, result.msBeforeNext),
    };
  }

  private logOutage(error: unknown, request: RequestContext | undefined): void {
    const now = Date.now();
    if (now - this.lastOutageLog < OUTAGE_LOG_INTERVAL_MS) return;
    this.lastOutageLog = now;
    this.options.logger.warn(
      { ...logFields(request), limiter: this.options.name, err_message: error instanceof Error ? error.message : String(error) },
      'rate-limit store unavailable: counting in this replica until it answers',
    );
  }
}

/**
 * Seconds whose `* 1000` (what rate-limiter-flexible computes) is a whole number of
 * milliseconds: the Postgres store writes expiry times into a bigint column.
 */
export function exactSeconds(ms: number): number {
  for (let candidate = Math.max(1, Math.round(ms)); ; candidate++) {
    const seconds = candidate / 1000;
    if (Number.isInteger(seconds * 1000)) return seconds;
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the rate-limit store did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
