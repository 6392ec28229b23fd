import { Inject, Injectable, Optional } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { Logger } from 'pino';
import { DataSource } from 'typeorm';
import { RateLimitedError } from '../../common/errors/domain-errors.js';
import { LOGGER } from '../../common/logging/logging.module.js';
import { requestContext } from '../../common/request-context/request-context.js';
import { APP_CONFIG } from '../../config/config.module.js';
import type { AppConfig } from '../../config/configuration.js';
import type { RateLimit } from '../../config/parsers.js';
import type { Principal } from '../principal.js';
import { markRefusal } from '../refusals/refusal.js';
import { addressBucket, clientAddress } from './client-address.js';
import { type LimitState, Limiter } from './limiter.js';

/**
 * The routes AGENTSPEC_RATE_LIMIT applies to, by method and route pattern: everything that runs
 * a model (invoke, stream, a session turn) or starts work (a session, a pipeline run).
 */
const LIMITED_ROUTES = new Set([
  'POST /v1/agents/:name/invoke',
  'POST /v1/agents/:name/stream',
  'POST /v1/agents/:name/sessions',
  'POST /v1/agents/:name/sessions/:id/continue',
  'POST /v1/agents/:name/sessions/:id',
  'POST /v1/pipelines/:name/run',
]);

export function isLimitedRoute(method: string, routePattern: string | undefined): boolean {
  return routePattern !== undefined && LIMITED_ROUTES.has(`${method} ${routePattern}`);
}

/** `rate:burst` as a window of `burst` requests lasting `burst / rate` seconds (to the millisecond). */
export function windowMs(limit: RateLimit): number {
  return Math.max(1, Math.round((limit.burst / limit.ratePerSecond) * 1000));
}

/** Whole seconds a caller waits, never 0 while refused. */
export function secondsUntil(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}

/** AGENTSPEC_RATE_LIMIT: per principal, or per client address for anonymous callers. */
@Injectable()
export class RequestRateLimiter {
  private readonly limiter?: Limiter;

  constructor(@Inject(APP_CONFIG) config: AppConfig, @Inject(LOGGER) logger: Logger, @Optional() dataSource?: DataSource) {
    if (!config.rateLimit) return;
    this.limiter = new Limiter({
      name: 'request',
      points: config.rateLimit.burst,
      windowMs: windowMs(config.rateLimit),
      store: config.rateLimitStore,
      dataSource,
      logger,
    });
  }

  /** False without AGENTSPEC_RATE_LIMIT: nothing to count. */
  get enabled(): boolean {
    return this.limiter !== undefined;
  }

  /**
   * Counts the request when its route is limited and answers the RateLimit-* headers (draft-ietf-
   * httpapi-ratelimit-headers); over the limit, a RateLimitedError with the wait.
   */
  async check(request: Request & { user?: Principal }, response: Response): Promise<void> {
    if (!this.limiter || !isLimitedRoute(request.method, (request.route as { path?: string } | undefined)?.path)) return;
    const principal = request.user;
    const key =
      principal && principal.kind !== 'anonymous' ? `principal:${principal.id}` : `address:${addressBucket(clientAddress(request))}`;
    const state = await this.limiter.consume(key, requestContext.of(request));
    setRateLimitHeaders(response, state);
    if (!state.allowed) {
      markRefusal(response, 'rate_limited');
      throw new RateLimitedError(secondsUntil(state.msBeforeReset));
    }
  }
}

function setRateLimitHeaders(response: Response, state: LimitState): void {
  response.setHeader('RateLimit-Limit', String(state.limit));
  response.setHeader('RateLimit-Remaining', String(state.remaining));
  response.setHeader('RateLimit-Reset', String(Math.ceil(state.msBeforeReset / 1000)));
}

/**
 * Repeated invalid credentials from one client address (AGENTSPEC_AUTH_FAILURE_LIMIT): past the
 * limit the address is refused with 429 for AGENTSPEC_AUTH_FAILURE_BLOCK, whatever it sends,
 * a valid key included.
 */
@Injectable()
export class AuthFailureThrottle {
  private readonly limiter?: Limiter;

  constructor(@Inject(APP_CONFIG) config: AppConfig, @Inject(LOGGER) logger: Logger, @Optional() dataSource?: DataSource) {
    const limit = config.authFailureLimit;
    if (!limit) return;
    this.limiter = new Limiter({
      name: 'auth_failure',
      points: limit.failures,
      windowMs: limit.windowMs,
      blockMs: limit.blockMs,
      store: config.rateLimitStore,
      dataSource,
      logger,
    });
  }

  /** False with AGENTSPEC_AUTH_FAILURE_LIMIT off: nothing is counted or refused. */
  get enabled(): boolean {
    return this.limiter !== undefined;
  }

  /** Refuses a request from a blocked address before its credentials are looked at. */
  async refuseIfBlocked(request: Request, response: Response): Promise<void> {
    if (!this.limiter) return;
    const ms = await this.limiter.blockedForMs(addressKey(request), requestContext.of(request));
    if (ms > 0) throw throttled(response, ms);
  }

  /** Counts one invalid credential; the one over the limit starts the block and is refused with it. */
  async recordFailure(request: Request, response: Response): Promise<void> {
    if (!this.limiter) return;
    const state = await this.limiter.consume(addressKey(request), requestContext.of(request));
    if (!state.allowed) throw throttled(response, state.msBeforeReset);
  }
}

function addressKey(request: Request): string {
  return `address:${addressBucket(clientAddress(request))}`;
}

function throttled(response: Response, ms: number): RateLimitedError {
  markRefusal(response, 'auth_throttled');
  const seconds = secondsUntil(ms);
  return new RateLimitedError(seconds, `Too many failed authentications from this address. Try again in ${seconds} s.`);
}
