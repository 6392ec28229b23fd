import { request as httpRequest } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connect, createTestDatabase } from '../support/database.js';
import { post } from '../support/http.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

const KEY = 'rl-key-a-0123456789abcdef';
const OTHER_KEY = 'rl-key-b-0123456789abcdef';
const INVOKE = '/v1/agents/support-assistant/invoke';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** POSTs an invoke body from a chosen local address (127.0.0.0/8), as another client would. */
function invokeFrom(
  app: TestApp,
  localAddress: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Record<string, unknown> }> {
  const url = new URL(`${app.url}${INVOKE}`);
  const body = JSON.stringify({ input: 'Hello' });
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        localAddress,
        headers: { 'content-type': 'application/json', ...headers },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('rate limits (memory store)', () => {
  const apps: TestApp[] = [];
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.close()));
  });
  async function start(env: Record<string, string>): Promise<TestApp> {
    const app = await startTestApp({ databaseUrl: await createTestDatabase(), env });
    apps.push(app);
    return app;
  }

  it('lets a burst through, then refuses with Retry-After until the window ends, and serves the steady rate', async () => {
    // 2 requests/s, bursts of 4: windows of 4 requests lasting 2 s.
    const app = await start({ AGENTSPEC_API_KEYS: KEY, AGENTSPEC_RATE_LIMIT: '2:4' });
    const auth = { 'X-API-Key': KEY };

    const burst = [];
    for (let i = 0; i < 4; i++) burst.push(await post(app, INVOKE, { input: `hello ${i}` }, auth));
    expect(burst.map((response) => response.status)).toEqual([200, 200, 200, 200]);
    expect(burst.map((response) => response.headers.get('ratelimit-limit'))).toEqual(['4', '4', '4', '4']);
    expect(burst.map((response) => response.headers.get('ratelimit-remaining'))).toEqual(['3', '2', '1', '0']);
    expect(burst[0].headers.get('ratelimit-reset')).toBe('2');

    const refused = await post(app, INVOKE, { input: 'one too many' }, auth);
    expect(refused.status).toBe(429);
    expect(await refused.json()).toEqual({ error: { code: 'rate_limited', message: expect.stringMatching(/Try again in 2 s/) } });
    expect(refused.headers.get('retry-after')).toBe('2');
    expect(refused.headers.get('ratelimit-remaining')).toBe('0');
    expect(refused.headers.get('x-correlation-id')).toBeTruthy();

    // Once the window is over, a client sending at the steady rate (here 1.67/s, under 2/s with room for timing noise) is never refused.
    await sleep(Number(refused.headers.get('retry-after')) * 1000);
    const steady: number[] = [];
    for (let i = 0; i < 8; i++) {
      const started = Date.now();
      steady.push((await post(app, INVOKE, { input: `steady ${i}` }, auth)).status);
      await sleep(600 - (Date.now() - started));
    }
    expect(steady).toEqual(Array(8).fill(200));
  });

  it('admits exactly one burst per window to a client that never stops', async () => {
    const app = await start({ AGENTSPEC_API_KEYS: KEY, AGENTSPEC_RATE_LIMIT: '2:4' });
    // Bodies that fail validation are counted too: the limit comes before validation.
    const statuses: number[] = [];
    const started = Date.now();
    while (Date.now() - started < 5_000) statuses.push((await post(app, INVOKE, {}, { 'X-API-Key': KEY })).status);
    // Windows start at 0 s, ~2 s and ~4 s: three bursts of 4.
    expect(statuses.filter((status) => status === 400)).toHaveLength(12);
    expect(statuses.filter((status) => status !== 400 && status !== 429)).toEqual([]);
  });

  it('counts each principal on its own', async () => {
    const app = await start({ AGENTSPEC_API_KEYS: `${KEY},${OTHER_KEY}`, AGENTSPEC_RATE_LIMIT: '1:2' });
    const first = (key: string) => post(app, INVOKE, { input: 'x' }, { 'X-API-Key': key });
    expect([(await first(KEY)).status, (await first(KEY)).status, (await first(KEY)).status]).toEqual([200, 200, 429]);
    expect((await first(OTHER_KEY)).status).toBe(200);
    expect((await post(app, INVOKE, { input: 'x' }, { Authorization: `Bearer ${OTHER_KEY}` })).status).toBe(200);
    expect((await first(OTHER_KEY)).status).toBe(429);
  });

  it('leaves unlimited routes alone', async () => {
    const app = await start({ AGENTSPEC_API_KEYS: KEY, AGENTSPEC_RATE_LIMIT: '1:1' });
    for (let i = 0; i < 3; i++) {
      const response = await fetch(`${app.url}/v1/agents`, { headers: { 'X-API-Key': KEY } });
      expect(response.status).toBe(200);
      expect(response.headers.get('ratelimit-limit')).toBeNull();
    }
  });

  it('limits the session, continue and pipeline routes too, on one budget per principal', async () => {
    const app = await start({ AGENTSPEC_API_KEYS: KEY, AGENTSPEC_RATE_LIMIT: '1:3' });
    const auth = { 'X-API-Key': KEY };
    const created = await post(app, '/v1/agents/support-assistant/sessions', {}, auth);
    expect(created.status).toBe(200);
    const { session_id } = await created.json();
    expect((await post(app, `/v1/agents/support-assistant/sessions/${session_id}/continue`, { input: 'hi' }, auth)).status).toBe(200);
    expect((await post(app, '/v1/pipelines/research-and-summarize/run', { input: 'topic' }, auth)).status).toBe(200);
    const refused = [
      await post(app, `/v1/agents/support-assistant/sessions/${session_id}`, { input: 'again' }, auth),
      await post(app, '/v1/agents/support-assistant/sessions', {}, auth),
      await post(app, '/v1/agents/support-assistant/stream', { input: 'x' }, auth),
      await post(app, '/v1/pipelines/research-and-summarize/run', { input: 'topic' }, auth),
    ];
    expect(refused.map((response) => response.status)).toEqual([429, 429, 429, 429]);
    expect(refused[2].headers.get('content-type')).toMatch(/^application\/json/);
  });

  it('counts anonymous callers per client address', async () => {
    const app = await start({ AGENTSPEC_RATE_LIMIT: '1:2' });
    const statuses = async (address: string) => [
      (await invokeFrom(app, address)).status,
      (await invokeFrom(app, address)).status,
      (await invokeFrom(app, address)).status,
    ];
    expect(await statuses('127.0.0.1')).toEqual([200, 200, 429]);
    expect(await statuses('127.0.0.2')).toEqual([200, 200, 429]);
  });

  it('ignores X-Forwarded-For unless AGENTSPEC_TRUST_PROXY trusts the proxy', async () => {
    const direct = await start({ AGENTSPEC_RATE_LIMIT: '1:2' });
    const spoofed = await Promise.all(
      ['203.0.113.1', '203.0.113.2', '203.0.113.3'].map((ip) => invokeFrom(direct, '127.0.0.1', { 'X-Forwarded-For': ip })),
    );
    expect(spoofed.map((response) => response.status).sort()).toEqual([200, 200, 429]);

    const proxied = await start({ AGENTSPEC_RATE_LIMIT: '1:2', AGENTSPEC_TRUST_PROXY: 'loopback' });
    const clients = await Promise.all(
      ['203.0.113.1', '203.0.113.2', '203.0.113.3'].map((ip) => invokeFrom(proxied, '127.0.0.1', { 'X-Forwarded-For': ip })),
    );
    expect(clients.map((response) => response.status)).toEqual([200, 200, 200]);
    const sameClient = [];
    for (let i = 0; i < 2; i++) sameClient.push((await invokeFrom(proxied, '127.0.0.1', { 'X-Forwarded-For': '203.0.113.1' })).status);
    expect(sameClient).toEqual([200, 429]);
  });
});

describe('rate limits shared in PostgreSQL (AGENTSPEC_RATE_LIMIT_STORE=postgres)', () => {
  const apps: TestApp[] = [];
  afterAll(async () => {
    await Promise.all(apps.splice(0).map((app) => app.close()));
  });
  let databaseUrl: string;
  let replicaA: TestApp;
  let replicaB: TestApp;
  const env = {
    AGENTSPEC_API_KEYS: `${KEY},${OTHER_KEY}`,
    AGENTSPEC_RATE_LIMIT: '1:3',
    AGENTSPEC_RATE_LIMIT_STORE: 'postgres',
    AGENTSPEC_AUTH_FAILURE_LIMIT: '2/1m',
    AGENTSPEC_AUTH_FAILURE_BLOCK: '30s',
  };

  beforeAll(async () => {
    databaseUrl = await createTestDatabase();
    replicaA = await startTestApp({ databaseUrl, env });
    replicaB = await startTestApp({ databaseUrl, env });
    apps.push(replicaA, replicaB);
  });

  it('holds one limit for a principal across two replicas', async () => {
    const call = (app: TestApp) => post(app, INVOKE, { input: 'x' }, { 'X-API-Key': KEY });
    const statuses = [(await call(replicaA)).status, (await call(replicaB)).status, (await call(replicaA)).status];
    expect(statuses).toEqual([200, 200, 200]);
    const refusedB = await call(replicaB);
    expect(refusedB.status).toBe(429);
    expect(Number(refusedB.headers.get('retry-after'))).toBeGreaterThanOrEqual(2);
    expect(Number(refusedB.headers.get('retry-after'))).toBeLessThanOrEqual(3);
    expect((await call(replicaA)).status).toBe(429);

    const client = await connect(databaseUrl);
    try {
      const { rows } = await client.query("SELECT key, points FROM rate_limit_buckets WHERE key LIKE 'request:principal:%'");
      expect(rows).toEqual([{ key: expect.stringMatching(/^request:principal:key:[0-9a-f]{16}$/), points: 5 }]);
    } finally {
      await client.end();
    }
  });

  it('blocks an address on every replica once its failures add up', async () => {
    const wrong = (app: TestApp) => fetch(`${app.url}/v1/agents`, { headers: { 'X-API-Key': 'wrong-wrong-wrong' } });
    expect([(await wrong(replicaA)).status, (await wrong(replicaB)).status]).toEqual([401, 401]);
    expect((await wrong(replicaA)).status).toBe(429);
    const rightKeyOnB = await fetch(`${replicaB.url}/v1/agents`, { headers: { 'X-API-Key': OTHER_KEY } });
    expect(rightKeyOnB.status).toBe(429);
    expect(Number(rightKeyOnB.headers.get('retry-after'))).toBeGreaterThan(25);
  });

  it('keeps limiting, in the replica, while the database is away: no 500', async () => {
    const isolated = await createTestDatabase();
    const proxy = TcpProxy.forUrl(isolated);
    await proxy.start();
    const app = await startTestApp({ databaseUrl: proxy.rewrite(isolated), env: { ...env, AGENTSPEC_RATE_LIMIT: '1:2' } });
    apps.push(app);
    await proxy.cut();
    try {
      // Invalid bodies: the route itself needs no database, so the answer shows the limiter alone.
      const first = await post(app, INVOKE, {}, { 'X-API-Key': KEY });
      expect(first.status).toBe(400);
      expect(first.headers.get('ratelimit-remaining')).toBe('1');
      expect((await post(app, INVOKE, {}, { 'X-API-Key': KEY })).status).toBe(400);
      expect((await post(app, INVOKE, {}, { 'X-API-Key': KEY })).status).toBe(429);
      const outages = app.logs.lines.filter(
        (line) => line.msg === 'rate-limit store unavailable: counting in this replica until it answers',
      );
      // One per limiter, both written while the first request was served, and naming it.
      expect(outages.map((line) => line.correlation_id)).toEqual([
        first.headers.get('x-correlation-id'),
        first.headers.get('x-correlation-id'),
      ]);
    } finally {
      await proxy.restore();
    }
  });
});
