import { type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import type { Request } from 'express';
import { UnauthorizedError } from '../../common/errors/domain-errors.js';
import { requestContext } from '../../common/request-context/request-context.js';
import { APP_CONFIG } from '../../config/config.module.js';
import { type AppConfig, isDevelopmentMode } from '../../config/configuration.js';
import { IS_PUBLIC, type PublicScope } from '../decorators/public.decorator.js';
import { ANONYMOUS_PRINCIPAL, type Principal } from '../principal.js';
import { API_KEY_STRATEGY } from '../strategies/api-key.strategy.js';
import { BEARER_STRATEGY } from '../strategies/bearer.strategy.js';

/**
 * The global guard: every route needs a credential unless marked @Public() or the server runs
 * in development mode. The principal lands on `request.user` and in the request context.
 */
@Injectable()
export class AuthenticationGuard extends AuthGuard([API_KEY_STRATEGY, BEARER_STRATEGY]) {
  private readonly developmentMode: boolean;

  constructor(
    private readonly reflector: Reflector,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    super();
    this.developmentMode = isDevelopmentMode(config);
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
    return (await super.canActivate(context)) as boolean;
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
