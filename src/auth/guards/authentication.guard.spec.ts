import 'reflect-metadata';
import { Reflector } from '@nestjs/core';
import { pino } from 'pino';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host.js';
import type { Request } from 'express';
import { beforeEach, describe, expect, it } from 'vitest';
import { UnauthorizedError, UnavailableError } from '../../common/errors/domain-errors.js';
import { requestContext, type RequestContext } from '../../common/request-context/request-context.js';
import { type AppConfig, loadConfig } from '../../config/configuration.js';
import { ADMIN_ACCESS } from '../access.js';
import { ApiKeyVerifier } from '../api-key-verifier.js';
import { Public } from '../decorators/public.decorator.js';
import { ANONYMOUS_PRINCIPAL, type Principal } from '../principal.js';
import { ApiKeyStrategy } from '../strategies/api-key.strategy.js';
import { OidcVerifier } from '../oidc/oidc-verifier.js';
import { BearerStrategy } from '../strategies/bearer.strategy.js';
import { OidcStrategy } from '../strategies/oidc.strategy.js';
import { AuthenticationGuard } from './authentication.guard.js';

const KEY = 'guard-key-0123456789abcdef';
const OTHER_KEY = 'guard-other-0123456789abcdef';

class Routes {
  @Public()
  health(): void {}

  @Public('metrics')
  metrics(): void {}

  agents(): void {}
}

@Public()
class PublicRoutes {
  docs(): void {}
}

type TestRequest = Request & { user?: Principal };

function request(headers: Record<string, string> = {}): TestRequest {
  const lower = Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
  return { headers: lower } as unknown as TestRequest;
}

function contextFor(req: TestRequest, handler: keyof Routes | 'docs' = 'agents') {
  const [owner, method] = handler === 'docs' ? [PublicRoutes, PublicRoutes.prototype.docs] : [Routes, Routes.prototype[handler]];
  return new ExecutionContextHost([req, {}, () => undefined], owner, method);
}

function configWith(env: Record<string, string> = {}): AppConfig {
  return loadConfig({ AGENTSPEC_API_KEYS: `${KEY},${OTHER_KEY}`, ...env });
}

/** Registers the real strategies (Passport keeps them process-wide, by name) over `verifier`. */
function useStrategies(verifier: ApiKeyVerifier): void {
  new ApiKeyStrategy(verifier);
  new BearerStrategy(verifier);
  new OidcStrategy(new OidcVerifier(undefined, pino({ level: 'silent' })));
}

/** Runs the guard on a request carrying its context, as the request middleware leaves it. */
async function activate(guard: AuthenticationGuard, req: TestRequest, handler?: Parameters<typeof contextFor>[1]) {
  const context: RequestContext = { correlationId: 'guard-spec' };
  requestContext.attach(req, context);
  const allowed = await guard.canActivate(contextFor(req, handler));
  return { allowed, context };
}

describe('AuthenticationGuard', () => {
  const verifier = new ApiKeyVerifier([KEY, OTHER_KEY]);
  const keyPrincipal = verifier.verify(KEY)!;
  let guard: AuthenticationGuard;

  beforeEach(() => {
    useStrategies(verifier);
    guard = new AuthenticationGuard(new Reflector(), configWith());
  });

  describe('public routes', () => {
    it('lets a @Public() handler through without credentials and names no caller', async () => {
      const req = request();
      const { allowed, context } = await activate(guard, req, 'health');

      expect(allowed).toBe(true);
      expect(req.user).toBeUndefined();
      expect(context.principal).toBeUndefined();
    });

    it('lets every handler of a @Public() controller through', async () => {
      expect((await activate(guard, request(), 'docs')).allowed).toBe(true);
    });

    it('does not check a wrong key sent to a public route', async () => {
      expect((await activate(guard, request({ 'X-API-Key': 'wrong-key-123456' }), 'health')).allowed).toBe(true);
    });
  });

  describe("@Public('metrics')", () => {
    it('is public while AGENTSPEC_METRICS_AUTH is off', async () => {
      expect((await activate(guard, request(), 'metrics')).allowed).toBe(true);
    });

    it('needs a key when AGENTSPEC_METRICS_AUTH=true', async () => {
      const strict = new AuthenticationGuard(new Reflector(), configWith({ AGENTSPEC_METRICS_AUTH: 'true' }));

      await expect(activate(strict, request(), 'metrics')).rejects.toBeInstanceOf(UnauthorizedError);
      const req = request({ 'X-API-Key': KEY });
      expect((await activate(strict, req, 'metrics')).allowed).toBe(true);
      expect(req.user).toEqual(keyPrincipal);
    });
  });

  describe('development mode (no credentials configured)', () => {
    it('accepts a request without credentials as the anonymous principal', async () => {
      const open = new AuthenticationGuard(new Reflector(), loadConfig({}));
      const req = request();

      const { allowed, context } = await activate(open, req);

      expect(allowed).toBe(true);
      expect(req.user).toBe(ANONYMOUS_PRINCIPAL);
      expect(context.principal).toBe(ANONYMOUS_PRINCIPAL);
    });
  });

  describe('protected routes', () => {
    it.each([
      ['X-API-Key', { 'X-API-Key': KEY }],
      ['Authorization: Bearer', { Authorization: `Bearer ${KEY}` }],
    ])('accepts a valid key sent as %s: principal on the request and in the request context', async (_label, headers) => {
      const req = request(headers);

      const { allowed, context } = await activate(guard, req);

      expect(allowed).toBe(true);
      expect(req.user).toEqual({
        kind: 'api_key',
        id: keyPrincipal.id,
        name: `API key ${keyPrincipal.id}`,
        roles: [],
        access: ADMIN_ACCESS,
      });
      expect(context.principal).toEqual(req.user);
    });

    it('tells two keys apart', async () => {
      const req = request({ Authorization: `Bearer ${OTHER_KEY}` });
      await activate(guard, req);

      expect(req.user?.id).toBe(verifier.verify(OTHER_KEY)!.id);
      expect(req.user?.id).not.toBe(keyPrincipal.id);
    });

    it.each([
      ['no credentials', {}],
      ['a wrong X-API-Key', { 'X-API-Key': 'wrong-key-123456' }],
      ['a wrong bearer token', { Authorization: 'Bearer wrong-key-123456' }],
      ['the key under another scheme', { Authorization: `Basic ${KEY}` }],
      ['a prefix of the key', { 'X-API-Key': KEY.slice(0, -1) }],
    ])('refuses %s with UnauthorizedError and names no caller', async (_label, headers) => {
      const req = request(headers);
      const context: RequestContext = { correlationId: 'guard-spec' };
      requestContext.attach(req, context);

      const outcome = guard.canActivate(contextFor(req));

      await expect(outcome).rejects.toBeInstanceOf(UnauthorizedError);
      await expect(outcome).rejects.toMatchObject({ code: 'unauthorized' });
      expect(req.user).toBeUndefined();
      expect(context.principal).toBeUndefined();
    });

    it.each([
      ['X-API-Key', { 'X-API-Key': KEY }],
      ['Authorization: Bearer', { Authorization: `Bearer ${KEY}` }],
    ])('keeps the code of a domain error raised while checking a key sent as %s', async (_label, headers) => {
      const outage = new UnavailableError('The key store is unavailable.', 7);
      useStrategies({
        verify: () => {
          throw outage;
        },
      } as unknown as ApiKeyVerifier);

      const outcome = activate(guard, request(headers));

      await expect(outcome).rejects.toBe(outage);
      await expect(outcome).rejects.not.toBeInstanceOf(UnauthorizedError);
      await expect(outcome).rejects.toMatchObject({ code: 'unavailable', options: { retryAfterSeconds: 7 } });
    });
  });
});
