import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { Principal } from '../principal.js';
import { RequestRateLimiter } from '../throttling/rate-limits.js';

/**
 * AGENTSPEC_RATE_LIMIT on the routes that run models or start work. A global guard registered
 * after the AuthenticationGuard (Nest runs global guards in registration order), so the
 * principal is known; before validation, so a refused request costs nothing more.
 */
@Injectable()
export class RateLimitGuard implements CanActivate {
  constructor(private readonly limiter: RequestRateLimiter) {}

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    // Without a limit configured, no promise per request.
    if (!this.limiter.enabled) return true;
    const http = context.switchToHttp();
    return this.limiter.check(http.getRequest<Request & { user?: Principal }>(), http.getResponse<Response>()).then(() => true);
  }
}
