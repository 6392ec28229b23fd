import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/database.js';
import { eventually } from '../support/eventually.js';
import { hmacToken, LocalIssuer, type SigningKey, unsecuredToken, withPayload } from '../support/oidc-issuer.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

const KEY = 'k-oidc-0123456789abcdef';

/** The app's settings for `issuer`; refused credentials are not throttled here (many are sent on purpose). */
function oidcEnv(issuer: string, audience: string): Record<string, string> {
  return {
    AGENTSPEC_API_KEY: KEY,
    OIDC_ISSUER: issuer,
    OIDC_AUDIENCE: audience,
    OIDC_ROLES_CLAIM: 'realm_access.roles',
    AGENTSPEC_AUTH_FAILURE_LIMIT: 'off',
  };
}

function agents(app: TestApp, authorization?: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${app.url}/v1/agents`, { headers: { ...(authorization ? { Authorization: authorization } : {}), ...headers } });
}

async function expectUnauthorized(response: Response): Promise<void> {
  expect(response.status).toBe(401);
  expect(response.headers.get('www-authenticate')).toMatch(/^Bearer /);
  expect(await response.json()).toEqual({ error: { code: 'unauthorized', message: expect.any(String) } });
}

async function health(app: TestApp): Promise<{ status: number; body: { status: string; checks: Record<string, string> } }> {
  const response = await fetch(`${app.url}/healthz`);
  return { status: response.status, body: await response.json() };
}

describe('OIDC bearer tokens over HTTP', () => {
  let issuer: LocalIssuer;
  let rsa: SigningKey;
  let ec: SigningKey;
  let app: TestApp;
  const sent: string[] = [];

  const bearer = async (claims: Parameters<LocalIssuer['token']>[0], options?: Parameters<LocalIssuer['token']>[1]) => {
    const token = await issuer.token(claims, options);
    sent.push(token);
    return `Bearer ${token}`;
  };

  beforeAll(async () => {
    issuer = await LocalIssuer.start();
    rsa = await issuer.addKey('RS256');
    ec = await issuer.addKey('ES256');
    app = await startTestApp({ databaseUrl: await createTestDatabase(), env: oidcEnv(issuer.issuer, issuer.audience) });
    // The keys are fetched in the background at start.
    await eventually(async () => issuer.requests.jwks === 1, { what: 'the key set fetched at start' });
  });
  afterAll(async () => {
    await app?.close();
    await issuer?.close();
  });

  it('accepts a valid RS256 token and records the caller as oidc:<issuer>#<sub>', async () => {
    const response = await agents(
      app,
      await bearer({ sub: 'alice', preferred_username: 'alice', realm_access: { roles: ['admin'] } }, { key: rsa }),
      {
        'X-Correlation-ID': 'oidc-rs256',
      },
    );

    expect(response.status).toBe(200);
    expect((await response.json()).agents.length).toBeGreaterThan(0);
    const line = app.logs.withCorrelationId('oidc-rs256').find((entry) => entry.msg === 'request');
    expect(line).toMatchObject({ status: 200, principal: `oidc:${issuer.issuer}#alice` });
  });

  it('accepts a valid ES256 token', async () => {
    const response = await agents(
      app,
      await bearer({ sub: 'bob', email: 'bob@example.com', realm_access: { roles: ['admin'] } }, { key: ec }),
    );
    expect(response.status).toBe(200);
  });

  it('still accepts the API key, as X-API-Key and as a bearer token', async () => {
    expect((await agents(app, undefined, { 'X-API-Key': KEY })).status).toBe(200);
    expect((await agents(app, `Bearer ${KEY}`)).status).toBe(200);
  });

  it.each([
    ['expired beyond the 60 s tolerance', () => bearer({ sub: 'u' }, { expiresIn: -120 })],
    ['not valid before 2 minutes from now', () => bearer({ sub: 'u' }, { notBefore: 120 })],
    ['for another audience', () => bearer({ sub: 'u' }, { audience: 'another-service' })],
    ['of another issuer', () => bearer({ sub: 'u' }, { issuer: 'https://login.example.com' })],
    ['without exp', () => bearer({ sub: 'u' }, { expiresIn: null })],
  ])('refuses a token %s: 401 unauthorized', async (_label, make) => {
    await expectUnauthorized(await agents(app, await make()));
  });

  it('refuses a token signed by a key the issuer does not publish', async () => {
    const stranger = await issuer.addKey('RS256', 'stranger', false);
    await expectUnauthorized(await agents(app, await bearer({ sub: 'u', realm_access: { roles: ['admin'] } }, { key: stranger })));
  });

  it('refuses alg none', async () => {
    const token = unsecuredToken({
      sub: 'u',
      iss: issuer.issuer,
      aud: issuer.audience,
      exp: Math.floor(Date.now() / 1000) + 300,
      realm_access: { roles: ['admin'] },
    });
    sent.push(token);
    await expectUnauthorized(await agents(app, `Bearer ${token}`));
  });

  it('refuses HS256 signed with the public key as the HMAC secret', async () => {
    const token = await hmacToken({ sub: 'u', realm_access: { roles: ['admin'] } }, await issuer.publicPem(rsa), {
      issuer: issuer.issuer,
      audience: issuer.audience,
      kid: rsa.kid,
    });
    sent.push(token);
    await expectUnauthorized(await agents(app, `Bearer ${token}`));
  });

  it('refuses a tampered payload', async () => {
    const token = await issuer.token({ sub: 'mallory', realm_access: { roles: ['viewer'] } });
    const forged = withPayload(token, (claims) => ({ ...claims, realm_access: { roles: ['admin'] } }));
    sent.push(token, forged);
    await expectUnauthorized(await agents(app, `Bearer ${forged}`));
  });

  it('reports the issuer in /healthz', async () => {
    expect(await health(app)).toEqual({
      status: 200,
      body: expect.objectContaining({ status: 'ok', checks: { database: 'ok', oidc: 'ok' } }),
    });
  });

  it('refetches keys for an unknown kid at most once per 30 s, and then accepts a rotated key', async () => {
    const fetchedAt = Date.now();
    const jwksBefore = issuer.requests.jwks;
    const rotated = await issuer.addKey('RS256', 'rotated-1');
    const stranger = await issuer.addKey('ES256', 'never-published', false);
    const flood = async () => {
      const tokens = await Promise.all(
        Array.from({ length: 25 }, (_, i) => bearer({ sub: 'u' }, { key: stranger, header: { kid: `made-up-${fetchedAt}-${i}` } })),
      );
      const statuses = await Promise.all(tokens.map(async (token) => (await agents(app, token)).status));
      expect(new Set(statuses)).toEqual(new Set([401]));
    };

    await flood();
    await expectUnauthorized(await agents(app, await bearer({ sub: 'carol', realm_access: { roles: ['admin'] } }, { key: rotated })));
    // Within 30 s of the fetch at start (or of the last one), nothing callers send causes a fetch.
    expect(issuer.requests.jwks).toBe(jwksBefore);

    const rotatedToken = await bearer({ sub: 'carol', realm_access: { roles: ['admin'] } }, { key: rotated });
    await eventually(async () => (await agents(app, rotatedToken)).status === 200, {
      timeoutMs: 40_000,
      intervalMs: 2_000,
      what: 'the rotated key accepted',
    });
    expect(issuer.requests.jwks).toBe(jwksBefore + 1);

    await flood();
    expect(issuer.requests.jwks).toBe(jwksBefore + 1);
    expect(issuer.requests.discovery).toBe(1);
  }, 60_000);

  it('never writes a token into the logs', () => {
    const logs = app.logs.raw.join('\n');
    expect(sent.length).toBeGreaterThan(40);
    for (const token of sent) expect(logs).not.toContain(token.split('.')[2] || token);
    expect(logs).not.toContain(KEY);
  });
});

describe('OIDC with the issuer down', () => {
  let issuer: LocalIssuer;
  let app: TestApp;

  beforeAll(async () => {
    issuer = await LocalIssuer.start();
    await issuer.addKey('RS256');
    issuer.down = true;
    // Start-up does not wait for, or fail on, the issuer.
    app = await startTestApp({ databaseUrl: await createTestDatabase(), env: oidcEnv(issuer.issuer, issuer.audience) });
  });
  afterAll(async () => {
    await app?.close();
    await issuer?.close();
  });

  it('answers tokens 503 unavailable with Retry-After while API keys keep working, and recovers by itself', async () => {
    const token = `Bearer ${await issuer.token({ sub: 'alice', realm_access: { roles: ['admin'] } })}`;

    const refused = await agents(app, token);
    expect(refused.status).toBe(503);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(Number(refused.headers.get('retry-after'))).toBeLessThanOrEqual(5);
    expect(await refused.json()).toEqual({ error: { code: 'unavailable', message: expect.stringMatching(/identity provider/) } });
    expect((await agents(app, undefined, { 'X-API-Key': KEY })).status).toBe(200);
    expect((await agents(app, `Bearer ${KEY}`)).status).toBe(200);
    expect(await health(app)).toEqual({
      status: 200,
      body: expect.objectContaining({ status: 'ok', checks: { database: 'ok', oidc: 'unavailable' } }),
    });

    issuer.down = false;
    await eventually(async () => (await agents(app, token)).status === 200, {
      timeoutMs: 15_000,
      intervalMs: 500,
      what: 'tokens accepted again',
    });
    expect((await health(app)).body.checks).toEqual({ database: 'ok', oidc: 'ok' });
  });

  it('starts and serves keys when nothing listens at the issuer', async () => {
    const gone = await LocalIssuer.start();
    const url = gone.issuer;
    await gone.close();
    const other = await startTestApp({ databaseUrl: await createTestDatabase(), env: oidcEnv(url, 'agentspec') });
    try {
      expect((await agents(other, undefined, { 'X-API-Key': KEY })).status).toBe(200);
      const token = await issuer.token({ sub: 'u' }, { issuer: url, audience: 'agentspec' });
      const response = await agents(other, `Bearer ${token}`);
      expect(response.status).toBe(503);
      expect(response.headers.get('retry-after')).toMatch(/^\d+$/);
      expect((await health(other)).body.checks.oidc).toBe('unavailable');
      expect(other.logs.lines.some((line) => line.msg === 'OIDC: could not fetch the signing keys' && line.level === 'warn')).toBe(true);
    } finally {
      await other.close();
    }
  });
});
