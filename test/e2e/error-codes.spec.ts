import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/database.js';
import { post } from '../support/http.js';
import { readSse } from '../support/sse.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

describe('one provider failure, one code on every route', () => {
  let app: TestApp;
  const expected = { code: 'internal_error', message: 'mock/echo?fail=401 failed after 1 attempt: the API key was rejected (HTTP 401) (simulated)' };

  beforeAll(async () => {
    app = await startTestApp({ databaseUrl: await createTestDatabase(), env: { AGENTSPEC_DEFINITIONS: 'test/fixtures/e2e-errors' } });
  });
  afterAll(async () => {
    await app?.close();
  });

  it('invoke answers 500 internal_error with the provider message', async () => {
    const response = await post(app, '/v1/agents/refused/invoke', { input: 'hi' });
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ error: expected });
  });

  it('stream ends with an error event carrying the same code and message', async () => {
    const response = await post(app, '/v1/agents/refused/stream', { input: 'hi' });
    expect(response.status).toBe(200);
    const { events } = await readSse(response);
    expect(events.at(-1)).toEqual({ type: 'error', ...expected });
  });

  it('a session turn answers the same, and stores nothing', async () => {
    const session = (await (await post(app, '/v1/agents/refused/sessions', {})).json()) as { session_id: string };
    const response = await post(app, `/v1/agents/refused/sessions/${session.session_id}/continue`, { input: 'hi' });
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ error: expected });
    const history = (await (await fetch(`${app.url}/v1/agents/refused/sessions/${session.session_id}`)).json()) as { turns: number };
    expect(history.turns).toBe(0);
  });

  it('a pipeline step records the same code and message', async () => {
    const response = await post(app, '/v1/pipelines/refused-run/run', { input: 'hi' });
    expect(response.status).toBe(500);
    const run = (await response.json()) as { error: { code: string }; steps: { error?: unknown }[] };
    expect(run.error.code).toBe('pipeline_error');
    expect(run.steps[0].error).toEqual(expected);
  });
});
