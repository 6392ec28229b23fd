import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/database.js';
import { post } from '../support/http.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

const KEY = 'k-test-0123456789abcdef';
const OTHER_KEY = 'k-other-0123456789abcdef';

describe('foundation over HTTP', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp({
      databaseUrl: await createTestDatabase(),
      env: { AGENTSPEC_API_KEYS: `${KEY},${OTHER_KEY}`, AGENTSPEC_METRICS_AUTH: 'true', AGENTSPEC_BODY_LIMIT: '2kb' },
    });
  });
  afterAll(() => app?.close());

  it('answers /healthz with the documented body', async () => {
    const response = await fetch(`${app.url}/healthz`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const body = await response.json();
    expect(body).toEqual({ status: 'ok', version: '0.1.0', uptime_seconds: expect.any(Number), checks: { database: 'ok' } });
    expect(Number.isInteger(body.uptime_seconds)).toBe(true);
  });

  it('serves /livez and /readyz without credentials', async () => {
    expect((await fetch(`${app.url}/livez`)).status).toBe(200);
    const ready = await fetch(`${app.url}/readyz`);
    expect(ready.status).toBe(200);
    expect((await ready.json()).checks).toEqual({ database: 'ok' });
  });

  it('refuses a protected route without credentials: 401, envelope, WWW-Authenticate, correlation id', async () => {
    const response = await fetch(`${app.url}/v1/metrics`);
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toMatch(/^Bearer /);
    expect(response.headers.get('x-correlation-id')).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(await response.json()).toEqual({ error: { code: 'unauthorized', message: expect.any(String) } });
  });

  it('refuses a wrong key in either header', async () => {
    expect((await fetch(`${app.url}/v1/metrics`, { headers: { 'X-API-Key': 'nope-nope-nope' } })).status).toBe(401);
    expect((await fetch(`${app.url}/v1/metrics`, { headers: { Authorization: 'Bearer nope-nope-nope' } })).status).toBe(401);
    expect((await fetch(`${app.url}/v1/metrics`, { headers: { Authorization: `Basic ${KEY}` } })).status).toBe(401);
  });

  it('accepts a configured key as X-API-Key or as a bearer token', async () => {
    expect((await fetch(`${app.url}/v1/metrics`, { headers: { 'X-API-Key': KEY } })).status).toBe(200);
    expect((await fetch(`${app.url}/v1/metrics`, { headers: { Authorization: `Bearer ${OTHER_KEY}` } })).status).toBe(200);
  });

  it('never writes a key into the logs', async () => {
    await fetch(`${app.url}/v1/metrics`, { headers: { 'X-API-Key': KEY } });
    await fetch(`${app.url}/v1/metrics`, { headers: { 'X-API-Key': `${KEY}-wrong` } });
    expect(app.logs.raw.join('\n')).not.toContain(KEY);
  });

  it('answers an unknown route with 404 in the envelope', async () => {
    const response = await fetch(`${app.url}/v1/nothing-here`);
    expect(response.status).toBe(404);
    expect(response.headers.get('x-correlation-id')).toBeTruthy();
    expect(await response.json()).toEqual({ error: { code: 'not_found', message: expect.any(String) } });
  });

  it('answers a wrong method with 405 and Allow', async () => {
    const response = await fetch(`${app.url}/healthz`, { method: 'DELETE' });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET, HEAD');
    expect((await response.json()).error.code).toBe('method_not_allowed');
  });

  it('answers malformed JSON with 400 invalid_request', async () => {
    const response = await post(app, '/healthz', '{"input": ');
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: { code: 'invalid_request', message: 'The request body is not valid JSON.' } });
  });

  it('answers a body over AGENTSPEC_BODY_LIMIT with 413', async () => {
    const response = await post(app, '/healthz', { input: 'x'.repeat(4096) });
    expect(response.status).toBe(413);
    expect((await response.json()).error.code).toBe('payload_too_large');
  });

  it('answers a non-JSON body with 415', async () => {
    const response = await post(app, '/healthz', 'hello', { 'content-type': 'text/plain' });
    expect(response.status).toBe(415);
    expect((await response.json()).error.code).toBe('unsupported_media_type');
  });

  it('reuses a valid X-Correlation-ID, logs it on the access line, and replaces an invalid one', async () => {
    const reused = await fetch(`${app.url}/healthz`, { headers: { 'X-Correlation-ID': 'trace-42.a:b' } });
    expect(reused.headers.get('x-correlation-id')).toBe('trace-42.a:b');
    await new Promise((resolve) => setTimeout(resolve, 50));
    const lines = app.logs.withCorrelationId('trace-42.a:b');
    expect(lines).toContainEqual(
      expect.objectContaining({ msg: 'request', method: 'GET', route: '/healthz', status: 200, duration_ms: expect.any(Number) }),
    );

    const replaced = await fetch(`${app.url}/healthz`, { headers: { 'X-Correlation-ID': 'has spaces' } });
    expect(replaced.headers.get('x-correlation-id')).not.toBe('has spaces');
    const tooLong = await fetch(`${app.url}/healthz`, { headers: { 'X-Correlation-ID': 'a'.repeat(129) } });
    expect(tooLong.headers.get('x-correlation-id')).toHaveLength(26);
  });

  it('exposes valid Prometheus text with the six documented families and bounded labels', async () => {
    await post(app, '/v1/agents/made-up-agent-name/invoke');
    const response = await fetch(`${app.url}/v1/metrics`, { headers: { 'X-API-Key': KEY } });
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const families = parsePrometheusTextFormat(await response.text()) as { name: string; type: string; metrics: { labels?: Record<string, string> }[] }[];
    const byName = new Map(families.map((family) => [family.name, family]));
    expect(byName.get('agentspec_requests_total')?.type).toBe('COUNTER');
    expect(byName.get('agentspec_request_duration_seconds')?.type).toBe('HISTOGRAM');
    expect(byName.get('agentspec_tokens_total')?.type).toBe('COUNTER');
    expect(byName.get('agentspec_sessions_active')?.type).toBe('GAUGE');
    expect(byName.get('agentspec_pipeline_steps_total')?.type).toBe('COUNTER');
    expect(byName.get('agentspec_errors_total')?.type).toBe('COUNTER');
    expect(byName.has('process_cpu_user_seconds_total')).toBe(true);
    const requestLabels = byName.get('agentspec_requests_total')!.metrics.map((metric) => metric.labels ?? {});
    expect(requestLabels).toContainEqual({ agent: 'none', endpoint: 'healthz', status: '200' });
    expect(requestLabels.some((labels) => labels.agent === 'made-up-agent-name')).toBe(false);
    expect(requestLabels.some((labels) => labels.endpoint?.includes('made-up'))).toBe(false);
  });

  it('serves the Swagger UI and the OpenAPI document with both auth schemes', async () => {
    const ui = await fetch(`${app.url}/docs`);
    expect(ui.status).toBe(200);
    expect(await ui.text()).toContain('swagger-ui');
    const document = await (await fetch(`${app.url}/docs-json`)).json();
    expect(Object.keys(document.components.securitySchemes).sort()).toEqual(['api-key', 'bearer']);
    expect(document.components.securitySchemes['api-key']).toMatchObject({ type: 'apiKey', in: 'header', name: 'X-API-Key' });
    expect(document.paths['/healthz'].get).toBeDefined();
  });
});

describe('development mode', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ databaseUrl: await createTestDatabase(), env: { AGENTSPEC_METRICS_AUTH: 'true' } });
  });
  afterAll(() => app?.close());

  it('accepts requests without credentials when no key or issuer is configured', async () => {
    expect((await fetch(`${app.url}/v1/metrics`)).status).toBe(200);
  });
});
