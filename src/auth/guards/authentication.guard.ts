import { type ExecutionContext, Inject, Injectable, Optional } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import type { Request, Response } from 'express';
import { UnauthorizedError } from '../../common/errors/domain-errors.js';
import { requestContext } from '../../common/request-context/request-context.js';
import { APP_CONFIG } from '../../config/config.module.js';
import { type AppConfig, assertCredentialsConfigured, isDevelopmentMode } from '../../config/configuration.js';
import { IS_PUBLIC, type PublicScope } from '../decorators/public.decorator.js';
import { ANONYMOUS_PRINCIPAL, type Principal } from '../principal.js';
import { PRINCIPAL_DIRECTORY, type PrincipalDirectory } from '../principal-directory.js';
import { presentsCredentials } from '../refusals/refusal.js';
import { AuthFailureThrottle } from '../throttling/rate-limits.js';
import { API_KEY_STRATEGY } from '../strategies/api-key.strategy.js';
import { BEARER_STRATEGY } from '../strategies/bearer.strategy.js';
import { OIDC_STRATEGY } from '../strategies/oidc.strategy.js';

/**
 * The global guard: every route needs a credential unless marked @Public() or the server runs
 * in development mode. The principal lands on `request.user` and in the request context.
 * Strategies run in order until one accepts; OIDC comes before the bearer key lookup so that a
 * JWT is decided by the issuer's keys alone.
 */
@Injectable()
export class AuthenticationGuard extends AuthGuard([API_KEY_STRATEGY, OIDC_STRATEGY, BEARER_STRATEGY]) {
  private readonly developmentMode: boolean;

  constructor(
    private readonly reflector: Reflector,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Optional() private readonly failures?: AuthFailureThrottle,
    @Optional() @Inject(PRINCIPAL_DIRECTORY) users?: PrincipalDirectory,
  ) {
    super();
    // Decided once, at start: user keys in the definitions end development mode like configured keys.
    this.developmentMode = isDevelopmentMode(config) && !users?.userDirectory().hasKeys;
    // Refuses to build (so to start) an unprotected production server; docs/security.md "Safe defaults".
    assertCredentialsConfigured(config, !this.developmentMode);
  }

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    const scope = this.reflector.getAllAndOverride<PublicScope | undefined>(IS_PUBLIC, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (scope === true || (scope === 'metrics' && !this.config.metricsRequireAuth)) return true;
    if (this.developmentMode) {
      remember(context.switchToHttp().getRequest<Request>(), ANONYMOUS_PRINCIPAL);
      return true;
    }
    const request = context.switchToHttp().getRequest<Request>();
    const response = context.switchToHttp().getResponse<Response>();
    // A blocked address is refused whatever it sends, so guessing gains nothing during the block.
    await this.failures?.refuseIfBlocked(request, response);
    try {
      return (await super.canActivate(context)) as boolean;
    } catch (error) {
      if (error instanceof UnauthorizedError && presentsCredentials(request)) await this.failures?.recordFailure(request, response);
      throw error;
    }
  }

  override handleRequest<TUser = Principal>(
    error: unknown,
    user: unknown,
    _info: unknown,
    context: ExecutionContext,
  ): TUser {
    // "Could not check" (a dependency down, a defect) is not "bad credentials": it keeps its own
    // answer; only a strategy that found no principal means 401.
    if (error) throw error instanceof Error ? error : new Error('a credential strategy failed without an Error');
    if (!user) throw new UnauthorizedError();
    remember(context.switchToHttp().getRequest<Request>(), user as Principal);
    return user as TUser;
  }
}

function remember(request: Request, principal: Principal): void {
  (request as Request & { user?: Principal }).user = principal;
  const current = requestContext.current();
  if (current) current.principal = principal;
}
