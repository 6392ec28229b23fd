import { BadRequestException, NotFoundException } from '@nestjs/common';
import { describe, expect, it } from 'vitest';
import { InvalidRequestError, SessionBusyError } from './api-error.js';
import { toErrorResponse } from './error-response.js';
import { RouteTable } from './route-table.js';

describe('toErrorResponse', () => {
  it('keeps our codes, headers and validation details', () => {
    const busy = toErrorResponse(new SessionBusyError('busy', 2));
    expect(busy).toMatchObject({ status: 409, headers: { 'Retry-After': '2' }, body: { error: { code: 'session_busy' } } });
    const invalid = toErrorResponse(new InvalidRequestError('bad', [{ field: 'input', message: 'input must be a string' }]));
    expect(invalid.body.error.details).toEqual([{ field: 'input', message: 'input must be a string' }]);
  });

  it('maps body-parser and framework errors to the documented codes', () => {
    expect(toErrorResponse(Object.assign(new Error('x'), { type: 'entity.too.large', limit: 10 })).status).toBe(413);
    expect(toErrorResponse(Object.assign(new Error('x'), { type: 'entity.parse.failed' })).body.error.code).toBe('invalid_request');
    expect(toErrorResponse(new NotFoundException('Cannot GET /x')).body.error).toEqual({
      code: 'not_found',
      message: 'No route matches this path.',
    });
    expect(toErrorResponse(new BadRequestException('nope')).body.error.code).toBe('invalid_request');
  });

  it('answers 503 unavailable for an unreachable database', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    const answer = toErrorResponse({ message: 'Query failed', driverError: refused });
    expect(answer.status).toBe(503);
    expect(answer.headers['Retry-After']).toBeDefined();
    expect(toErrorResponse(Object.assign(new Error('terminating connection'), { code: '57P01' })).status).toBe(503);
  });

  it('hides the details of unexpected errors', () => {
    const answer = toErrorResponse(new Error('relation "secret_table" does not exist at /srv/app.js:1'));
    expect(answer.status).toBe(500);
    expect(answer.unexpected).toBe(true);
    expect(JSON.stringify(answer.body)).not.toMatch(/secret_table|app\.js/);
  });
});

describe('RouteTable', () => {
  it('lists the methods of a known path and nothing for an unknown one', () => {
    const routes = new RouteTable();
    routes.add('/v1/agents/:name/invoke', 'post');
    routes.add('/v1/agents', 'get');
    routes.add('/v1/agents/:name/sessions', 'get');
    routes.add('/v1/agents/:name/sessions', 'post');
    expect(routes.allowedMethods('/v1/agents/x/invoke')).toEqual(['POST']);
    expect(routes.allowedMethods('/v1/agents/x/sessions/')).toEqual(['GET', 'HEAD', 'POST']);
    expect(routes.allowedMethods('/v1/agents/x/y/invoke')).toEqual([]);
    expect(routes.allowedMethods('/v1/agentsX')).toEqual([]);
  });
});
