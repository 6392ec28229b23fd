import express, { type NextFunction, type Request, type Response } from 'express';
import supertest from 'supertest';
import { describe, expect, it } from 'vitest';
import { ERROR_CODE_LOCAL } from '../../common/http/request-middleware.js';
import { requestContext } from '../../common/request-context/request-context.js';
import type { Principal } from '../principal.js';
import { refusalAuditMiddleware } from './refusal-audit.middleware.js';
import { markRefusal, type Refusal } from './refusal.js';

function appRecording(refusals: Refusal[]) {
  const app = express();
  app.use((req: Request, _res: Response, next: NextFunction) => {
    requestContext.attach(req, { correlationId: String(req.headers['x-correlation-id']) });
    next();
  });
  app.use(refusalAuditMiddleware({ record: (refusal) => refusals.push(refusal) }));
  const answer = (status: number, code?: string, principal?: string) => (req: Request & { user?: Partial<Principal> }, res: Response) => {
    if (principal) req.user = { id: principal };
    if (code) res.locals[ERROR_CODE_LOCAL] = code;
    res.status(status).json({});
  };
  app.get('/v1/agents/:name', answer(401, 'unauthorized'));
  app.post('/v1/keys', answer(403, 'forbidden', 'user:bob'));
  app.post('/v1/pipelines/:name/run', answer(429, 'rate_limited', 'key:0123456789abcdef'));
  app.get('/throttled', (_req, res) => {
    markRefusal(res, 'auth_throttled');
    res.locals[ERROR_CODE_LOCAL] = 'rate_limited';
    res.status(429).json({});
  });
  app.get('/fine', answer(200));
  app.get('/missing', answer(404, 'not_found'));
  return app;
}

describe('refusalAuditMiddleware', () => {
  it('records 401, 403 and 429 with their reason, principal, address and route pattern', async () => {
    const refusals: Refusal[] = [];
    const http = supertest(appRecording(refusals));
    await http.get('/v1/agents/secret-name').set('X-Correlation-ID', 'c-missing');
    await http.get('/v1/agents/secret-name').set('X-Correlation-ID', 'c-invalid').set('Authorization', 'Bearer nope-nope');
    await http.post('/v1/keys').set('X-Correlation-ID', 'c-forbidden');
    await http.post('/v1/pipelines/p/run').set('X-Correlation-ID', 'c-limited');
    await http.get('/throttled').set('X-Correlation-ID', 'c-throttled').set('X-API-Key', 'the-key-itself');
    await http.get('/fine').set('X-Correlation-ID', 'c-fine');
    await http.get('/missing').set('X-Correlation-ID', 'c-404');

    expect(refusals).toEqual([
      {
        at: expect.any(Date),
        status: 401,
        code: 'unauthorized',
        reason: 'missing_credentials',
        principal: undefined,
        ip: '127.0.0.1',
        method: 'GET',
        route: '/v1/agents/:name',
        correlationId: 'c-missing',
      },
      expect.objectContaining({ status: 401, reason: 'invalid_credentials', principal: undefined, correlationId: 'c-invalid' }),
      expect.objectContaining({
        status: 403,
        code: 'forbidden',
        reason: 'forbidden',
        principal: 'user:bob',
        method: 'POST',
        route: '/v1/keys',
      }),
      expect.objectContaining({ status: 429, reason: 'rate_limited', principal: 'key:0123456789abcdef', route: '/v1/pipelines/:name/run' }),
      expect.objectContaining({ status: 429, code: 'rate_limited', reason: 'auth_throttled', correlationId: 'c-throttled' }),
    ]);
    expect(JSON.stringify(refusals)).not.toMatch(/secret-name|nope-nope|the-key-itself/);
  });
});
