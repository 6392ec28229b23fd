import { describe, expect, it } from 'vitest';
import { checkAgainstContract, type Exchange } from '../support/contract.js';

/** The checker the e2e suite applies to every answer (test/support/contract-setup.ts). */
const json = (method: string, path: string, status: number, body: unknown): Exchange => ({
  method,
  url: `http://127.0.0.1:1${path}`,
  status,
  contentType: 'application/json; charset=utf-8',
  body: JSON.stringify(body),
});
const usage = { input_tokens: 1, output_tokens: 2, total_tokens: 3 };
const turn = { output: 'Echo: hi', usage, turn: 1, tool_calls: [], duration_ms: 4, finish_reason: 'stop' };
const envelope = (code: string) => ({ error: { code, message: 'm' } });

describe('checkAgainstContract', () => {
  it('accepts a session turn as the answer of invoke, and the envelope with details', () => {
    expect(checkAgainstContract(json('POST', '/v1/agents/a/invoke', 200, turn))).toEqual([]);
    const invalid = { error: { code: 'invalid_request', message: 'm', details: [{ field: 'input', message: 'm' }] } };
    expect(checkAgainstContract(json('POST', '/v1/agents/a/invoke', 400, invalid))).toEqual([]);
  });

  it('refuses a field the schema does not list, and a status the operation does not document', () => {
    expect(checkAgainstContract(json('POST', '/v1/agents/a/invoke', 200, { ...turn, extra: 1 })).join()).toMatch(/extra/);
    expect(checkAgainstContract(json('GET', '/livez', 503, envelope('unavailable'))).join()).toMatch(/503 is not documented/);
  });

  it('holds streams to their content type: events on 200, JSON refusals before the first byte', () => {
    const stream = { method: 'POST', url: 'http://127.0.0.1:1/v1/agents/a/stream', status: 200, contentType: 'text/event-stream' };
    expect(checkAgainstContract(stream)).toEqual([]);
    expect(checkAgainstContract({ ...stream, contentType: 'application/json' })).not.toEqual([]);
    expect(checkAgainstContract(json('POST', '/v1/agents/a/stream', 409, envelope('session_busy')))).toEqual([]);
  });

  it('answers without an operation only 404 or 405 (or a body refusal), with the envelope', () => {
    expect(checkAgainstContract(json('GET', '/nowhere', 404, envelope('not_found')))).toEqual([]);
    expect(checkAgainstContract(json('DELETE', '/healthz', 405, envelope('method_not_allowed')))).toEqual([]);
    expect(checkAgainstContract(json('DELETE', '/healthz', 404, envelope('not_found')))).not.toEqual([]);
    expect(checkAgainstContract(json('GET', '/nowhere', 404, { message: 'Not Found' }))).not.toEqual([]);
  });

  it('documents /v1/metrics as text', () => {
    const metrics = {
      method: 'GET',
      url: 'http://127.0.0.1:1/v1/metrics',
      status: 200,
      contentType: 'text/plain; version=0.0.4; charset=utf-8',
      body: '',
    };
    expect(checkAgainstContract(metrics)).toEqual([]);
  });
});
