import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connect, createTestDatabase } from '../support/database.js';
import { eventually } from '../support/eventually.js';
import { post } from '../support/http.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

const KEY = 'sec-key-0123456789abcdef';
const ORIGIN = 'https://console.example.com';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface RefusalRow {
  status: number;
  code: string;
  reason: string;
  principal: string | null;
  ip: string | null;
  method: string;
  route: string | null;
  correlation_id: string;
}

async function refusalRows(databaseUrl: string, correlationId: string): Promise<RefusalRow[]> {
  const client = await connect(databaseUrl);
  try {
    const { rows } = await client.query(
      'SELECT status, code, reason, principal, host(ip) AS ip, method, route, correlation_id FROM auth_refusals WHERE correlation_id = $1 ORDER BY id',
      [correlationId],
    );
    return rows as RefusalRow[];
  } finally {
    await client.end();
  }
}

async function authFailures(app: TestApp): Promise<Record<string, number>> {
  const response = await fetch(`${app.url}/v1/metrics`, { headers: { 'X-API-Key': KEY } });
  const families = parsePrometheusTextFormat(await response.text()) as {
    name: string;
    metrics: { labels: Record<string, string>; value: string }[];
  }[];
  const family = families.find((candidate) => candidate.name === 'agentspec_auth_failures_total');
  return Object.fromEntries((family?.metrics ?? []).map((metric) => [metric.labels.reason, Number(metric.value)]));
}

describe('security headers, CORS and Swagger UI', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({
      databaseUrl: await createTestDatabase(),
      env: { AGENTSPEC_API_KEYS: KEY, AGENTSPEC_CORS_ORIGINS: `${ORIGIN}, http://localhost:3000` },
    });
  });
  afterAll(() => app?.close());

  it.each([
    ['a JSON answer', '/v1/agents', { 'X-API-Key': KEY }, 200],
    ['a refusal', '/v1/agents', {}, 401],
    ['a health probe', '/healthz', {}, 200],
    ['an unknown route', '/nowhere', {}, 404],
  ])('sends API security headers on %s', async (_label, path, headers, status) => {
    const response = await fetch(`${app.url}${path}`, { headers });
    expect(response.status).toBe(status);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('referrer-policy')).toBe('no-referrer');
    expect(response.headers.get('x-frame-options')).toBe('DENY');
    expect(response.headers.get('content-security-policy')).toBe(
      "default-src 'none';base-uri 'none';form-action 'none';frame-ancestors 'none'",
    );
    expect(response.headers.get('x-powered-by')).toBeNull();
    expect(response.headers.get('strict-transport-security')).toBeNull();
  });

  it('serves Swagger UI and every asset its page loads, under a policy that allows them', async () => {
    const page = await fetch(`${app.url}/docs`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const policy = page.headers.get('content-security-policy') ?? '';
    expect(policy).toContain("script-src 'self'");
    expect(policy).toContain("style-src 'self' 'unsafe-inline'");
    expect(policy).toContain("img-src 'self' data:");
    expect(policy).not.toContain('upgrade-insecure-requests');
    const html = await page.text();
    // No inline script: `script-src 'self'` would block it.
    expect(html).not.toMatch(/<script>(?!\s*<\/script>)/);
    const assets = [...html.matchAll(/(?:src|href)=["']([^"']+)["']/g)].map((match) => new URL(match[1], page.url).pathname);
    expect(assets).toEqual(expect.arrayContaining(['/docs/swagger-ui.css', '/docs/swagger-ui-bundle.js', '/docs/swagger-ui-init.js']));
    for (const asset of assets) {
      const response = await fetch(`${app.url}${asset}`);
      expect(response.status, asset).toBe(200);
      expect(response.headers.get('content-type'), asset).toMatch(
        asset.endsWith('.css') ? /^text\/css/ : asset.endsWith('.js') ? /javascript/ : /^image\//,
      );
    }
    expect((await fetch(`${app.url}/docs-json`)).status).toBe(200);
  });

  it('answers an allowed origin with its CORS headers and Vary: Origin', async () => {
    const response = await fetch(`${app.url}/v1/agents`, { headers: { Origin: ORIGIN, 'X-API-Key': KEY } });
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(response.headers.get('vary')).toMatch(/\bOrigin\b/);
    expect(response.headers.get('access-control-expose-headers')?.split(',')).toEqual(
      expect.arrayContaining(['X-Correlation-ID', 'Retry-After', 'RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset']),
    );
  });

  it('gives another origin no CORS header at all, still with Vary: Origin', async () => {
    const response = await fetch(`${app.url}/v1/agents`, { headers: { Origin: 'https://evil.example.com', 'X-API-Key': KEY } });
    expect(response.status).toBe(200);
    expect([...response.headers.keys()].filter((name) => name.startsWith('access-control-'))).toEqual([]);
    expect(response.headers.get('vary')).toMatch(/\bOrigin\b/);
  });

  it('answers the preflight of an allowed origin', async () => {
    const response = await fetch(`${app.url}/v1/agents/support-assistant/invoke`, {
      method: 'OPTIONS',
      headers: { Origin: ORIGIN, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'x-api-key,content-type' },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(response.headers.get('access-control-allow-methods')).toContain('POST');
    expect(response.headers.get('access-control-allow-headers')).toBe('Content-Type,Authorization,X-API-Key,X-Correlation-ID');
    expect(response.headers.get('access-control-max-age')).toBe('600');
  });

  it('does not answer the preflight of another origin', async () => {
    const response = await fetch(`${app.url}/v1/agents/support-assistant/invoke`, {
      method: 'OPTIONS',
      headers: {
        Origin: 'https://evil.example.com',
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'x-api-key',
      },
    });
    // An ordinary OPTIONS request to a POST route.
    expect(response.status).toBe(405);
    expect((await response.json()).error.code).toBe('method_not_allowed');
    expect([...response.headers.keys()].filter((name) => name.startsWith('access-control-'))).toEqual([]);
  });

  it('sends HSTS only when configured', async () => {
    const strict = await startTestApp({ databaseUrl: await createTestDatabase(), env: { AGENTSPEC_HSTS_MAX_AGE: '180d' } });
    try {
      expect((await fetch(`${strict.url}/healthz`)).headers.get('strict-transport-security')).toBe('max-age=15552000');
      // Without CORS configured, no CORS header is sent to anyone.
      const response = await fetch(`${strict.url}/healthz`, { headers: { Origin: ORIGIN } });
      expect(response.headers.get('access-control-allow-origin')).toBeNull();
    } finally {
      await strict.close();
    }
  });
});

describe('refusals: throttle, audit rows, metric', () => {
  const apps: TestApp[] = [];
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.close()));
  });
  async function start(databaseUrl: string, env: Record<string, string> = {}): Promise<TestApp> {
    const app = await startTestApp({ databaseUrl, env: { AGENTSPEC_API_KEYS: KEY, ...env } });
    apps.push(app);
    return app;
  }

  it('writes one row, one log line and one count per 401 and 429, never the credential', async () => {
    const databaseUrl = await createTestDatabase();
    const app = await start(databaseUrl, { AGENTSPEC_RATE_LIMIT: '1:1' });
    const before = await authFailures(app);

    const missing = await post(app, '/v1/agents/support-assistant/invoke', { input: 'x' }, { 'X-Correlation-ID': 'refusal-missing' });
    const invalid = await post(
      app,
      '/v1/agents/support-assistant/invoke',
      { input: 'x' },
      { 'X-Correlation-ID': 'refusal-invalid', 'X-API-Key': 'not-the-key-123456' },
    );
    expect((await post(app, '/v1/agents/support-assistant/invoke', { input: 'x' }, { 'X-API-Key': KEY })).status).toBe(200);
    const limited = await post(
      app,
      '/v1/agents/support-assistant/invoke',
      { input: 'x' },
      { 'X-Correlation-ID': 'refusal-limited', 'X-API-Key': KEY },
    );
    expect([missing.status, invalid.status, limited.status]).toEqual([401, 401, 429]);

    const route = { method: 'POST', route: '/v1/agents/:name/invoke', ip: '127.0.0.1' };
    expect(
      await eventually(
        () => refusalRows(databaseUrl, 'refusal-missing'),
        (rows) => rows.length > 0,
      ),
    ).toEqual([
      { ...route, status: 401, code: 'unauthorized', reason: 'missing_credentials', principal: null, correlation_id: 'refusal-missing' },
    ]);
    expect(
      await eventually(
        () => refusalRows(databaseUrl, 'refusal-invalid'),
        (rows) => rows.length > 0,
      ),
    ).toEqual([
      { ...route, status: 401, code: 'unauthorized', reason: 'invalid_credentials', principal: null, correlation_id: 'refusal-invalid' },
    ]);
    expect(
      await eventually(
        () => refusalRows(databaseUrl, 'refusal-limited'),
        (rows) => rows.length > 0,
      ),
    ).toEqual([
      {
        ...route,
        status: 429,
        code: 'rate_limited',
        reason: 'rate_limited',
        principal: expect.stringMatching(/^key:[0-9a-f]{16}$/),
        correlation_id: 'refusal-limited',
      },
    ]);

    const after = await authFailures(app);
    expect(after.missing_credentials - before.missing_credentials).toBe(1);
    expect(after.invalid_credentials - before.invalid_credentials).toBe(1);
    expect(after.rate_limited - before.rate_limited).toBe(1);
    expect(after.forbidden - before.forbidden).toBe(0);

    const lines = app.logs.lines.filter((line) => line.msg === 'request refused');
    expect(lines.find((line) => line.correlation_id === 'refusal-invalid')).toMatchObject({
      level: 'warn',
      status: 401,
      reason: 'invalid_credentials',
      method: 'POST',
      route: '/v1/agents/:name/invoke',
      ip: '127.0.0.1',
    });
    expect(lines.find((line) => line.correlation_id === 'refusal-limited')).toMatchObject({
      reason: 'rate_limited',
      principal: expect.stringMatching(/^key:/),
    });
    expect(app.logs.raw.join('\n')).not.toContain('not-the-key-123456');
    expect(app.logs.raw.join('\n')).not.toContain(KEY);
  });

  it('refuses an address after repeated invalid credentials, even with the right key, until the block ends', async () => {
    const databaseUrl = await createTestDatabase();
    const app = await start(databaseUrl, { AGENTSPEC_AUTH_FAILURE_LIMIT: '3/1m', AGENTSPEC_AUTH_FAILURE_BLOCK: '2s' });
    const before = await authFailures(app);
    const wrong = () => fetch(`${app.url}/v1/agents`, { headers: { 'X-API-Key': 'guess-guess-guess' } });

    // Requests without any credential are not guesses: they do not count.
    for (let i = 0; i < 5; i++) expect((await fetch(`${app.url}/v1/agents`)).status).toBe(401);
    expect([(await wrong()).status, (await wrong()).status, (await wrong()).status]).toEqual([401, 401, 401]);
    const blocked = await wrong();
    expect(blocked.status).toBe(429);
    expect(blocked.headers.get('retry-after')).toBe('2');
    expect((await blocked.json()).error).toEqual({ code: 'rate_limited', message: expect.stringMatching(/failed authentications/) });

    const rightKey = await fetch(`${app.url}/v1/agents`, { headers: { 'X-API-Key': KEY, 'X-Correlation-ID': 'throttled-right-key' } });
    expect(rightKey.status).toBe(429);
    expect((await fetch(`${app.url}/healthz`)).status).toBe(200);

    await sleep(2_100);
    expect((await fetch(`${app.url}/v1/agents`, { headers: { 'X-API-Key': KEY } })).status).toBe(200);

    expect(
      await eventually(
        () => refusalRows(databaseUrl, 'throttled-right-key'),
        (rows) => rows.length > 0,
      ),
    ).toEqual([
      {
        status: 429,
        code: 'rate_limited',
        reason: 'auth_throttled',
        principal: null,
        ip: '127.0.0.1',
        method: 'GET',
        route: '/v1/agents',
        correlation_id: 'throttled-right-key',
      },
    ]);
    const after = await authFailures(app);
    expect(after.auth_throttled - before.auth_throttled).toBe(2);
    expect(after.invalid_credentials - before.invalid_credentials).toBe(3);
    expect(after.missing_credentials - before.missing_credentials).toBe(5);
  });

  it('still refuses at once while the audit table cannot be written, and logs the lost rows', async () => {
    const databaseUrl = await createTestDatabase();
    const proxy = TcpProxy.forUrl(databaseUrl);
    await proxy.start();
    const app = await start(proxy.rewrite(databaseUrl));
    await proxy.cut();
    try {
      const started = Date.now();
      const response = await fetch(`${app.url}/v1/agents`, { headers: { 'X-API-Key': 'wrong-wrong-wrong' } });
      expect(response.status).toBe(401);
      expect(Date.now() - started).toBeLessThan(1_000);
      await eventually(async () => app.logs.lines.some((line) => line.msg === 'could not store refusal audit rows; they are lost'), {
        timeoutMs: 10_000,
      });
    } finally {
      await proxy.restore();
    }
  });
});

describe('the caller on the audit rows of work done', () => {
  it('records the principal (a key id, never the key) on invocations, sessions, turns and runs', async () => {
    const databaseUrl = await createTestDatabase();
    const app = await startTestApp({ databaseUrl, env: { AGENTSPEC_API_KEYS: KEY } });
    try {
      const auth = { 'X-API-Key': KEY };
      expect((await post(app, '/v1/agents/support-assistant/invoke', { input: 'x' }, auth)).status).toBe(200);
      const { session_id } = await (await post(app, '/v1/agents/support-assistant/sessions', {}, auth)).json();
      expect((await post(app, `/v1/agents/support-assistant/sessions/${session_id}/continue`, { input: 'y' }, auth)).status).toBe(200);
      const { run_id } = await (await post(app, '/v1/pipelines/research-and-summarize/run', { input: 'z' }, auth)).json();

      const client = await connect(databaseUrl);
      try {
        const principals = await client.query(
          `SELECT 'invocations' AS source, principal FROM invocations
           UNION ALL SELECT 'sessions', principal FROM sessions WHERE id = $1
           UNION ALL SELECT 'session_messages', principal FROM session_messages WHERE session_id = $1
           UNION ALL SELECT 'pipeline_runs', principal FROM pipeline_runs WHERE run_id = $2`,
          [session_id, run_id],
        );
        const keyId = expect.stringMatching(/^key:[0-9a-f]{16}$/);
        expect(principals.rows).toEqual(
          expect.arrayContaining(
            ['invocations', 'sessions', 'session_messages', 'pipeline_runs'].map((source) => ({ source, principal: keyId })),
          ),
        );
        expect(new Set(principals.rows.map((row: { principal: string }) => row.principal)).size).toBe(1);
        expect(JSON.stringify(principals.rows)).not.toContain(KEY);
      } finally {
        await client.end();
      }
    } finally {
      await app.close();
    }
  });
});
