import { spawn } from 'node:child_process';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeyVerifier } from '../../src/auth/api-key-verifier.js';
import { connect, createTestDatabase } from '../support/database.js';
import { eventually } from '../support/eventually.js';
import { post } from '../support/http.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

const SERVICE_KEY = 'e2e-service-key-0123456789abcdef';
const ADMIN = { 'X-API-Key': SERVICE_KEY };
const SERVICE_PRINCIPAL = new ApiKeyVerifier([SERVICE_KEY]).verify(SERVICE_KEY)!.id;

interface CreatedKey {
  id: string;
  name: string;
  prefix: string;
  role: string;
  agents: string[];
  status: string;
  expires_at: string | null;
  created_at: string;
  created_by: string;
  revoked_at: string | null;
  key: string;
}

/** The tests present refused keys on purpose, many times, from one address. */
const ENV = { AGENTSPEC_API_KEY: SERVICE_KEY, AGENTSPEC_AUTH_FAILURE_LIMIT: 'off' };

const bearer = (key: string) => ({ Authorization: `Bearer ${key}` });

function get(app: TestApp, path: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${app.url}${path}`, { headers });
}

function revoke(app: TestApp, id: string, headers: Record<string, string> = ADMIN): Promise<Response> {
  return fetch(`${app.url}/v1/keys/${encodeURIComponent(id)}`, { method: 'DELETE', headers });
}

async function createKey(app: TestApp, body: Record<string, unknown>, headers: Record<string, string> = ADMIN): Promise<CreatedKey> {
  const response = await post(app, '/v1/keys', body, headers);
  expect(response.status, await response.clone().text()).toBe(201);
  return (await response.json()) as CreatedKey;
}

/** Waits until both replicas accept the key (each refreshes its key set every second). */
async function usableOn(apps: TestApp[], key: string): Promise<void> {
  for (const app of apps) {
    await eventually(async () => (await get(app, '/v1/agents', bearer(key))).status !== 401, {
      timeoutMs: 5_000,
      what: 'the key to be accepted',
    });
  }
}

async function expectError(
  response: Response,
  status: number,
  code: string,
): Promise<{ message: string; details?: { field: string; message: string }[] }> {
  const body = await response.json();
  expect(response.status, JSON.stringify(body)).toBe(status);
  expect(Object.keys(body)).toEqual(['error']);
  expect(body.error.code).toBe(code);
  return body.error;
}

/**
 * Passport keeps strategies in one process-wide registry, so with two apps in this process the
 * strategies of the app started last (B) check the credentials sent to either. Every claim about
 * B below therefore goes through B's own key set; that A honours its own changes at once is
 * checked in test/integration/managed-key-cache.spec.ts.
 */
describe('managed keys over HTTP, on two replicas of one database', () => {
  let databaseUrl: string;
  let a: TestApp;
  let b: TestApp;
  let client: pg.Client;

  beforeAll(async () => {
    databaseUrl = await createTestDatabase();
    a = await startTestApp({ databaseUrl, env: ENV });
    b = await startTestApp({ databaseUrl, env: ENV });
    client = await connect(databaseUrl);
  });
  afterAll(async () => {
    await client?.end();
    await a?.close();
    await b?.close();
  });

  it('needs credentials: 401 on every route without them', async () => {
    expect((await get(a, '/v1/keys')).status).toBe(401);
    await expectError(await post(a, '/v1/keys', { name: 'x' }), 401, 'unauthorized');
    await expectError(await revoke(a, 'mk_x', {}), 401, 'unauthorized');
    await expectError(await get(a, '/v1/keys', bearer('ask_' + 'A'.repeat(43))), 401, 'unauthorized');
  });

  it('creates a key for an administrator (201): the key once, then only its prefix', async () => {
    const created = await createKey(a, { name: 'ci', agents: ['summarizer'], expires_in: '30d' });

    expect(created).toEqual({
      id: expect.stringMatching(/^mk_[0-9A-Z]{26}$/),
      name: 'ci',
      prefix: created.key.slice(0, 12),
      role: 'user',
      agents: ['summarizer'],
      status: 'active',
      expires_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      created_at: expect.stringMatching(/Z$/),
      created_by: SERVICE_PRINCIPAL,
      revoked_at: null,
      key: expect.stringMatching(/^ask_[A-Za-z0-9_-]{43}$/),
    });
    const lifetimeMs = Date.parse(created.expires_at!) - Date.parse(created.created_at);
    expect(Math.abs(lifetimeMs - 30 * 86_400_000)).toBeLessThan(60_000);

    const list = await get(b, '/v1/keys', ADMIN);
    expect(list.status).toBe(200);
    const text = await list.text();
    expect(text).not.toContain(created.key);
    const { keys } = JSON.parse(text) as { keys: Record<string, unknown>[] };
    expect(keys.find((key) => key.id === created.id)).toEqual({ ...created, key: undefined });
  });

  it('accepts an expiry time, and lists newest first', async () => {
    const expiresAt = new Date(Date.now() + 3_600_000).toISOString();
    const older = await createKey(a, { name: 'older', role: 'auditor' });
    const newer = await createKey(a, { name: 'newer', role: 'admin', expires_at: expiresAt });
    expect(newer).toMatchObject({ role: 'admin', agents: [], expires_at: expiresAt });

    const { keys } = (await (await get(a, '/v1/keys', ADMIN)).json()) as { keys: { id: string }[] };
    const ids = keys.map((key) => key.id);
    expect(ids.indexOf(newer.id)).toBeLessThan(ids.indexOf(older.id));
  });

  it.each([
    ['no name', {}, 'name'],
    ['an empty name', { name: '  ' }, 'name'],
    ['an unknown field', { name: 'x', scope: 'all' }, 'scope'],
    ['an unknown role', { name: 'x', role: 'owner' }, 'role'],
    ['agents that are not a list of names', { name: 'x', agents: 'chat' }, 'agents'],
    ['agents on an admin key', { name: 'x', role: 'admin', agents: ['chat'] }, 'agents'],
    ['a malformed expires_in', { name: 'x', expires_in: '30 days' }, 'expires_in'],
    ['a zero expires_in', { name: 'x', expires_in: '0d' }, 'expires_in'],
    ['an expires_at without time zone', { name: 'x', expires_at: '2999-01-01T00:00:00' }, 'expires_at'],
    ['an expires_at in the past', { name: 'x', expires_at: '2001-01-01T00:00:00Z' }, 'expires_at'],
    ['both expires_in and expires_at', { name: 'x', expires_in: '1d', expires_at: '2999-01-01T00:00:00Z' }, 'expires_at'],
  ])('refuses %s with 400 naming the field', async (_label, body, field) => {
    const error = await expectError(await post(a, '/v1/keys', body, ADMIN), 400, 'invalid_request');
    expect(error.details?.map((detail) => detail.field)).toContain(field);
  });

  it('answers 403 forbidden to callers who are not administrators, before looking at the body', async () => {
    const user = await createKey(a, { name: 'user', agents: ['summarizer'] });
    const auditor = await createKey(a, { name: 'auditor', role: 'auditor' });
    const target = await createKey(a, { name: 'target' });
    await usableOn([a, b], user.key);
    await usableOn([a, b], auditor.key);

    for (const caller of [user, auditor]) {
      await expectError(await get(a, '/v1/keys', bearer(caller.key)), 403, 'forbidden');
      await expectError(await post(a, '/v1/keys', { name: 'escalate', role: 'admin' }, { 'X-API-Key': caller.key }), 403, 'forbidden');
      await expectError(await post(a, '/v1/keys', { bogus: true }, { 'X-API-Key': caller.key }), 403, 'forbidden');
      await expectError(await revoke(a, target.id, bearer(caller.key)), 403, 'forbidden');
    }
    const { rows } = await client.query('SELECT revoked_at FROM api_keys WHERE id = $1', [target.id]);
    expect(rows[0].revoked_at).toBeNull();
  });

  it('lets a managed admin key administer keys, recorded as mkey:<id>', async () => {
    const admin = await createKey(a, { name: 'managed admin', role: 'admin' });
    await usableOn([b], admin.key);

    const created = await createKey(b, { name: 'made by a managed key' }, bearer(admin.key));

    expect(created.created_by).toBe(`mkey:${admin.id}`);
  });

  it('a key created on replica A works on replica B, which records calls under mkey:<id>', async () => {
    const created = await createKey(a, { name: 'cross-replica', agents: ['summarizer'] });

    await eventually(async () => (await get(b, '/v1/agents', { 'X-API-Key': created.key })).status === 200, {
      timeoutMs: 5_000,
      what: 'replica B to accept the new key',
    });
    const correlationId = `managed-key-${created.id}`;
    const invoke = await post(
      b,
      '/v1/agents/summarizer/invoke',
      { input: 'hello' },
      { ...bearer(created.key), 'X-Correlation-ID': correlationId },
    );
    expect(invoke.status).toBe(200);
    const { rows } = await client.query('SELECT principal FROM invocations WHERE correlation_id = $1', [correlationId]);
    expect(rows).toEqual([{ principal: `mkey:${created.id}` }]);
  });

  it('a key revoked on replica A is refused by replica B within 5 s', async () => {
    const created = await createKey(a, { name: 'to be revoked', role: 'auditor' });
    await usableOn([b], created.key);

    const response = await revoke(a, created.id);
    const revokedAt = Date.now();
    expect(response.status).toBe(204);
    expect(await response.text()).toBe('');

    await eventually(async () => (await get(b, '/v1/agents', bearer(created.key))).status === 401, {
      timeoutMs: 5_000,
      intervalMs: 50,
      what: 'replica B to refuse the revoked key',
    });
    expect(Date.now() - revokedAt).toBeLessThan(5_000);

    const listed = ((await (await get(b, '/v1/keys', ADMIN)).json()) as { keys: CreatedKey[] }).keys.find((key) => key.id === created.id);
    expect(listed).toMatchObject({ status: 'revoked', revoked_at: expect.any(String) });
  });

  it('revokes by prefix too; revoking again is 204 and changes nothing; an unknown key is 404', async () => {
    const created = await createKey(a, { name: 'by prefix' });
    expect((await revoke(b, created.prefix)).status).toBe(204);
    const first = (await client.query('SELECT revoked_at FROM api_keys WHERE id = $1', [created.id])).rows[0].revoked_at as Date;

    expect((await revoke(a, created.id)).status).toBe(204);
    expect((await client.query('SELECT revoked_at FROM api_keys WHERE id = $1', [created.id])).rows[0].revoked_at).toEqual(first);

    const unknown = await expectError(await revoke(a, 'mk_01JD3Q8Z4N5V6W7X8Y9Z0A1B2C'), 404, 'not_found');
    expect(unknown.message).toBe("API key 'mk_01JD3Q8Z4N5V6W7X8Y9Z0A1B2C' does not exist.");
  });

  it('refuses a key whose expiry passed, on every replica', async () => {
    const created = await createKey(a, { name: 'expiring', role: 'auditor' });
    await usableOn([a, b], created.key);

    await client.query(
      "UPDATE api_keys SET created_at = now() - interval '1 hour', expires_at = now() - interval '1 second' WHERE id = $1",
      [created.id],
    );

    for (const app of [a, b]) {
      await eventually(async () => (await get(app, '/v1/agents', bearer(created.key))).status === 401, {
        what: 'the expired key to be refused',
      });
    }
  });

  it('the built CLI (dist/scripts/keys.js) creates a key the running replicas accept', async () => {
    const child = spawn(process.execPath, ['dist/scripts/keys.js', 'create', '--name', 'from the cli', '--role', 'auditor', '--json'], {
      env: { PATH: process.env.PATH ?? '', DATABASE_URL: databaseUrl },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code, stderr).toBe(0);
    const created = JSON.parse(stdout) as CreatedKey;
    expect(created.created_by).toMatch(/^cli:/);

    await usableOn([a, b], created.key);
  });
});

describe('managed keys in development mode', () => {
  it('does not end development mode: requests without credentials still pass, and the start-up warns', async () => {
    const databaseUrl = await createTestDatabase();
    const seeded = await startTestApp({ databaseUrl, env: ENV });
    await createKey(seeded, { name: 'left in the database', role: 'admin' });
    await seeded.close();

    const open = await startTestApp({ databaseUrl });
    try {
      expect((await get(open, '/v1/keys')).status).toBe(200);
      const warning = open.logs.lines.find((line) => String(line.msg).startsWith('DEVELOPMENT MODE with managed keys'));
      expect(warning).toMatchObject({ level: 'warn', managed_keys: 1 });
    } finally {
      await open.close();
    }
  });
});
