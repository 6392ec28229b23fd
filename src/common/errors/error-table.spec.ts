import { BadRequestException, ConflictException, NotFoundException } from '@nestjs/common';
import { describe, expect, it } from 'vitest';
import { ProviderError } from '../../providers/model-provider.js';
import { ClientClosedError, InvalidRequestError, NotFoundError, SessionBusyError } from './domain-errors.js';
import { toErrorResponse, toStepError } from './error-table.js';
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

describe('one table for answers and step errors', () => {
  const providerFailure = new ProviderError('openai/gpt-4o: rate limited by the provider (HTTP 429)', 'openai', { status: 429, retryable: true });

  it('reports a provider failure with one code on every route and on a pipeline step', () => {
    const answer = toErrorResponse(providerFailure);
    expect(answer).toMatchObject({ status: 500, unexpected: false });
    expect(answer.body.error).toEqual({ code: 'internal_error', message: providerFailure.message });
    expect(toStepError(providerFailure)).toEqual(answer.body.error);
  });

  it('takes the code of errors the pure cores throw without importing the table', () => {
    const missing = Object.assign(new Error('Missing required prompt variable: "name".'), { code: 'invalid_request' });
    expect(toErrorResponse(missing)).toMatchObject({ status: 400, body: { error: { code: 'invalid_request', message: missing.message } } });
    expect(toStepError(missing)).toEqual({ code: 'invalid_request', message: missing.message });
    // A SQLSTATE or errno code is not one of ours.
    expect(toErrorResponse(Object.assign(new Error('duplicate key'), { code: '23505' })).status).toBe(500);
  });

  it('keeps domain codes and hides unexpected messages on steps too', () => {
    expect(toStepError(new NotFoundError("Agent 'ghost' does not exist."))).toEqual({
      code: 'not_found',
      message: "Agent 'ghost' does not exist.",
    });
    const described = toStepError(new Error('postgres://admin:s3cret@db/prod refused'));
    expect(described).toEqual({ code: 'internal_error', message: 'The step failed with an unexpected error.' });
    expect(toStepError('a string')).toEqual(described);
  });

  it('does not guess session_busy from a framework 409, and answers 499 for a closed client', () => {
    expect(toErrorResponse(new ConflictException('conflict'))).toMatchObject({ status: 500, unexpected: true });
    expect(toErrorResponse(new ClientClosedError())).toMatchObject({ status: 499, body: { error: { code: 'client_closed' } } });
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
