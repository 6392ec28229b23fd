import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/database.js';
import { eventually } from '../support/eventually.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

async function healthWithin(app: TestApp, expected: number, deadlineMs: number): Promise<{ status: number; body: unknown; elapsedMs: number }> {
  const started = Date.now();
  return eventually(
    async () => {
      const response = await fetch(`${app.url}/healthz`, { signal: AbortSignal.timeout(5_000) });
      return { status: response.status, body: await response.json(), elapsedMs: Date.now() - started };
    },
    (health) => health.status === expected,
    { timeoutMs: deadlineMs, what: `/healthz to answer ${expected}` },
  );
}

describe('health while the database goes away and comes back', () => {
  let proxy: TcpProxy;
  let app: TestApp;

  beforeAll(async () => {
    const databaseUrl = await createTestDatabase();
    proxy = TcpProxy.forUrl(databaseUrl);
    await proxy.start();
    app = await startTestApp({ databaseUrl: proxy.rewrite(databaseUrl) });
  });
  afterAll(async () => {
    await app?.close();
    await proxy.cut();
  });

  it('goes 503 degraded within 2 s of the outage and back to 200 by itself', async () => {
    expect((await fetch(`${app.url}/healthz`)).status).toBe(200);

    await proxy.cut();
    const down = await healthWithin(app, 503, 2_000);
    expect(down.status).toBe(503);
    expect(down.elapsedMs).toBeLessThan(2_000);
    expect(down.body).toEqual({
      status: 'degraded',
      version: expect.any(String),
      uptime_seconds: expect.any(Number),
      checks: { database: 'unavailable' },
    });
    // Liveness does not depend on the database.
    expect((await fetch(`${app.url}/livez`)).status).toBe(200);

    await proxy.restore();
    const up = await healthWithin(app, 200, 10_000);
    expect(up.status).toBe(200);
    expect(up.body).toMatchObject({ status: 'ok', checks: { database: 'ok' } });
  });
});
