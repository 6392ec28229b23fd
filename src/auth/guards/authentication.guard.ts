import { type CanActivate, type ExecutionContext, Inject, Injectable, Optional } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request, Response } from 'express';
import passport, { type Strategy } from 'passport';
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

/** In this order; OIDC comes before the bearer key lookup so that a JWT is decided by the issuer's keys alone. */
const STRATEGIES = [API_KEY_STRATEGY, OIDC_STRATEGY, BEARER_STRATEGY] as const;

/**
 * The global guard: every route needs a credential unless marked @Public() or the server runs
 * in development mode. The principal lands on `request.user` and in the request context.
 *
 * The Passport strategies registered under STRATEGIES run in order until one accepts, each
 * through Passport's strategy protocol (success, fail, error) as `passport.authenticate` runs
 * them, but called here directly: the `AuthGuard` of @nestjs/passport wraps that middleware in
 * option merging and a per-request closure, and the middleware adds seven login helpers to
 * every request; together about a tenth of an invoke's instructions (issue 16).
 */
@Injectable()
export class AuthenticationGuard implements CanActivate {
  private readonly developmentMode: boolean;
  private readonly scopes = new WeakMap<object, Map<object, PublicScope | undefined>>();

  constructor(
    private readonly reflector: Reflector,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Optional() private readonly failures?: AuthFailureThrottle,
    @Optional() @Inject(PRINCIPAL_DIRECTORY) users?: PrincipalDirectory,
  ) {
    // Decided once, at start: user keys in the definitions end development mode like configured keys.
    this.developmentMode = isDevelopmentMode(config) && !users?.userDirectory().hasKeys;
    // Refuses to build (so to start) an unprotected production server; docs/security.md "Safe defaults".
    assertCredentialsConfigured(config, !this.developmentMode);
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const scope = this.publicScope(context);
    if (scope === true || (scope === 'metrics' && !this.config.metricsRequireAuth)) return true;
    if (this.developmentMode) {
      remember(context.switchToHttp().getRequest<Request>(), ANONYMOUS_PRINCIPAL);
      return true;
    }
    const request = context.switchToHttp().getRequest<Request>();
    const response = context.switchToHttp().getResponse<Response>();
    // A blocked address is refused whatever it sends, so guessing gains nothing during the block.
    if (this.failures?.enabled) await this.failures.refuseIfBlocked(request, response);
    try {
      const principal = await authenticate(request);
      if (!principal) throw new UnauthorizedError();
      remember(request, principal);
      return true;
    } catch (error) {
      if (error instanceof UnauthorizedError && presentsCredentials(request) && this.failures?.enabled) {
        await this.failures.recordFailure(request, response);
      }
      throw error;
    }
  }

  /** @Public() of the handler or its controller, read once per route. */
  private publicScope(context: ExecutionContext): PublicScope | undefined {
    const controller = context.getClass();
    const handler = context.getHandler();
    let scopes = this.scopes.get(controller);
    if (!scopes) this.scopes.set(controller, (scopes = new Map<object, PublicScope | undefined>()));
    if (!scopes.has(handler))
      scopes.set(handler, this.reflector.getAllAndOverride<PublicScope | undefined>(IS_PUBLIC, [handler, controller]));
    return scopes.get(handler);
  }
}

/**
 * The principal of the first strategy that accepts the request; undefined when every one fails.
 * "Could not check" (a dependency down, a defect) is not "bad credentials": a strategy's error
 * rejects with that error and keeps its own answer.
 */
async function authenticate(request: Request): Promise<Principal | undefined> {
  for (const name of STRATEGIES) {
    const strategy = registry._strategy(name);
    if (!strategy) throw new Error(`the Passport strategy "${name}" is not registered`);
    const principal = await runStrategy(strategy, request);
    if (principal) return principal;
  }
  return undefined;
}

/** Passport's own lookup of a strategy registered with `passport.use(name, …)` (the PassportStrategy mixin does). */
const registry = passport as unknown as { _strategy(name: string): Strategy | undefined };

/**
 * One strategy's verdict, as `passport.authenticate` obtains it: a copy of the strategy given
 * the actions it may call. `pass` and `redirect` mean nothing for an API and count as no principal.
 */
function runStrategy(strategy: Strategy, request: Request): Promise<Principal | undefined> {
  return new Promise((resolve, reject) => {
    const action = Object.create(strategy) as Strategy & StrategyActions;
    action.success = (user) => resolve((user as Principal | false) || undefined);
    action.fail = () => resolve(undefined);
    action.error = (error) => reject(error instanceof Error ? error : new Error('a credential strategy failed without an Error'));
    action.pass = () => resolve(undefined);
    action.redirect = () => resolve(undefined);
    try {
      (action as unknown as { authenticate(req: Request, options: object): void }).authenticate(request, {});
    } catch (error) {
      reject(error instanceof Error ? error : new Error('a credential strategy failed without an Error'));
    }
  });
}

interface StrategyActions {
  success(user: unknown, info?: unknown): void;
  fail(challenge?: unknown, status?: number): void;
  error(error: unknown): void;
  pass(): void;
  redirect(url: string, status?: number): void;
}

function remember(request: Request, principal: Principal): void {
  (request as Request & { user?: Principal }).user = principal;
  const context = requestContext.of(request);
  if (context) context.principal = principal;
}
