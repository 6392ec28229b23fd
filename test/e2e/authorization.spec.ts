import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CatalogService, loadInitialDefinitions } from '../../src/runtime/catalog.service.js';
import { connect, createTestDatabase } from '../support/database.js';
import { eventually } from '../support/eventually.js';
import { LocalIssuer } from '../support/oidc-issuer.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

/**
 * Every route against every kind of caller (docs/security.md "Authorization"), over HTTP, with
 * the principals of test/fixtures/e2e-authorization: alice may use "support", carol only
 * "billing", root is an admin and audit an auditor, all by their user blocks' keys; and an SSO
 * user whose token (from a local OIDC issuer) carries the role "support-team", the key-less
 * user block that grants "support" as alice's does (docs/security.md "Roles of SSO tokens").
 */
const FIXTURE = 'test/fixtures/e2e-authorization';
const SERVICE_KEY = 'e2e-authz-service-key-0123456789';
const KEYS = {
  E2E_ALICE_KEY: 'e2e-alice-key-0123456789abcdef',
  E2E_BOB_KEY: 'e2e-bob-key-0123456789abcdef',
  E2E_CAROL_KEY: 'e2e-carol-key-0123456789abcdef',
  E2E_ROOT_KEY: 'e2e-root-key-0123456789abcdef',
  E2E_AUDIT_KEY: 'e2e-audit-key-0123456789abcdef',
};
const ENV = { AGENTSPEC_DEFINITIONS: FIXTURE, AGENTSPEC_API_KEY: SERVICE_KEY, AGENTSPEC_AUTH_FAILURE_LIMIT: 'off' };
/** The role of the SSO users: the key-less user block "support-team" of the fixture. */
const OIDC_ROLE = 'support-team';

const WHO = [
  'none',
  'bad key',
  'service key',
  'user with the agent',
  'user without it',
  'admin user',
  'auditor user',
  'OIDC user',
] as const;
type Who = (typeof WHO)[number];
const HEADERS: Record<Who, Record<string, string>> = {
  none: {},
  'bad key': { 'X-API-Key': 'e2e-not-a-key-0123456789abcdef' },
  'service key': { 'X-API-Key': SERVICE_KEY },
  // A user key works as a bearer token too.
  'user with the agent': { Authorization: `Bearer ${KEYS.E2E_ALICE_KEY}` },
  'user without it': { 'X-API-Key': KEYS.E2E_CAROL_KEY },
  'admin user': { 'X-API-Key': KEYS.E2E_ROOT_KEY },
  'auditor user': { 'X-API-Key': KEYS.E2E_AUDIT_KEY },
  // Set in beforeAll, once the issuer runs: a bearer token with the role OIDC_ROLE.
  'OIDC user': {},
};
/** Bob, a second user of "support": the owner of the records others must not see. */
const BOB = { 'X-API-Key': KEYS.E2E_BOB_KEY };
/** Dana, a second SSO user with the same role; set in beforeAll. */
let DANA: Record<string, string> = {};
const ERROR_CODES: Record<number, string> = { 401: 'unauthorized', 403: 'forbidden', 404: 'not_found' };

describe('authorization: every route × every kind of caller', () => {
  let app: TestApp;
  let databaseUrl: string;
  let sql: pg.Client;
  let issuer: LocalIssuer;

  const call = (method: string, path: string, headers: Record<string, string>, body?: unknown): Promise<Response> =>
    fetch(`${app.url}${path}`, {
      method,
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  async function newSession(headers: Record<string, string>): Promise<string> {
    const response = await call('POST', '/v1/agents/support/sessions', headers, {});
    expect(response.status, await response.clone().text()).toBe(200);
    return ((await response.json()) as { session_id: string }).session_id;
  }

  async function newRun(headers: Record<string, string>): Promise<string> {
    const response = await call('POST', '/v1/pipelines/support-flow/run', headers, { input: 'x' });
    expect(response.status, await response.clone().text()).toBe(200);
    return ((await response.json()) as { run_id: string }).run_id;
  }

  /** Callers who may create their own records act on those; the others on one of bob's. */
  const mayCreate = (who: Who) => ['service key', 'user with the agent', 'admin user', 'OIDC user'].includes(who);
  const sessionFor = (who: Who) => newSession(mayCreate(who) ? HEADERS[who] : BOB);
  const runFor = (who: Who) => newRun(mayCreate(who) ? HEADERS[who] : BOB);

  beforeAll(async () => {
    for (const [name, value] of Object.entries(KEYS)) vi.stubEnv(name, value);
    issuer = await LocalIssuer.start();
    await issuer.addKey('RS256');
    // Valid for the whole file: the table alone takes a while.
    const bearer = async (sub: string) =>
      `Bearer ${await issuer.token({ sub, preferred_username: sub, roles: [OIDC_ROLE] }, { expiresIn: 3600 })}`;
    HEADERS['OIDC user'] = { Authorization: await bearer('erin') };
    DANA = { Authorization: await bearer('dana') };
    databaseUrl = await createTestDatabase();
    app = await startTestApp({
      databaseUrl,
      env: { ...ENV, OIDC_ISSUER: issuer.issuer, OIDC_AUDIENCE: issuer.audience, OIDC_ROLES_CLAIM: 'roles' },
    });
    sql = await connect(databaseUrl);
    // The keys are fetched in the background at start.
    await eventually(async () => issuer.requests.jwks >= 1, { what: 'the key set fetched at start' });
  });
  afterAll(async () => {
    await sql?.end();
    await app?.close();
    await issuer?.close();
    vi.unstubAllEnvs();
  });

  const ROUTES: Record<string, (who: Who) => Promise<Response>> = {
    'GET /v1/agents': (who) => call('GET', '/v1/agents', HEADERS[who]),
    'POST invoke': (who) => call('POST', '/v1/agents/support/invoke', HEADERS[who], { input: 'hi' }),
    'POST stream': (who) => call('POST', '/v1/agents/support/stream', HEADERS[who], { input: 'hi' }),
    'POST sessions (create)': (who) => call('POST', '/v1/agents/support/sessions', HEADERS[who], {}),
    'GET sessions (list)': (who) => call('GET', '/v1/agents/support/sessions', HEADERS[who]),
    'POST continue': async (who) =>
      call('POST', `/v1/agents/support/sessions/${await sessionFor(who)}/continue`, HEADERS[who], { input: 'again' }),
    'GET session (history)': async (who) => call('GET', `/v1/agents/support/sessions/${await sessionFor(who)}`, HEADERS[who]),
    'DELETE session': async (who) => call('DELETE', `/v1/agents/support/sessions/${await sessionFor(who)}`, HEADERS[who]),
    'GET /v1/pipelines': (who) => call('GET', '/v1/pipelines', HEADERS[who]),
    'POST run': (who) => call('POST', '/v1/pipelines/support-flow/run', HEADERS[who], { input: 'x' }),
    'GET status': async (who) => call('GET', `/v1/pipelines/support-flow/status?run_id=${await runFor(who)}`, HEADERS[who]),
    'GET runs': (who) => call('GET', '/v1/pipelines/support-flow/runs', HEADERS[who]),
    'POST cancel': async (who) => call('POST', `/v1/pipelines/support-flow/runs/${await runFor(who)}/cancel`, HEADERS[who]),
  };

  // prettier-ignore
  const EXPECTED: Record<keyof typeof ROUTES, [number, number, number, number, number, number, number, number]> = {
    //                        none  bad  service with without admin auditor oidc
    'GET /v1/agents':         [401, 401, 200,    200, 200,    200,  200,    200],
    'POST invoke':            [401, 401, 200,    200, 403,    200,  403,    200],
    'POST stream':            [401, 401, 200,    200, 403,    200,  403,    200],
    'POST sessions (create)': [401, 401, 200,    200, 403,    200,  403,    200],
    'GET sessions (list)':    [401, 401, 200,    200, 403,    200,  200,    200],
    'POST continue':          [401, 401, 200,    200, 403,    200,  403,    200],
    'GET session (history)':  [401, 401, 200,    200, 403,    200,  200,    200],
    'DELETE session':         [401, 401, 204,    204, 403,    204,  403,    204],
    'GET /v1/pipelines':      [401, 401, 200,    200, 200,    200,  200,    200],
    'POST run':               [401, 401, 200,    200, 403,    200,  403,    200],
    'GET status':             [401, 401, 200,    200, 403,    200,  200,    200],
    'GET runs':               [401, 401, 200,    200, 403,    200,  200,    200],
    'POST cancel':            [401, 401, 200,    200, 403,    200,  403,    200],
  };

  it('gives the OIDC user exactly the statuses of the user key with the agent', () => {
    const column = (who: Who) => Object.values(EXPECTED).map((statuses) => statuses[WHO.indexOf(who)]);
    expect(column('OIDC user')).toEqual(column('user with the agent'));
  });

  const cases = Object.entries(EXPECTED).flatMap(([route, statuses]) => WHO.map((who, i) => [route, who, statuses[i]] as const));

  it.each(cases)('%s as %s → %i', async (route, who, status) => {
    const response = await ROUTES[route](who);
    const text = await response.text();
    expect(response.status, text).toBe(status);
    if (status >= 400) {
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      expect(JSON.parse(text)).toEqual({ error: { code: ERROR_CODES[status], message: expect.any(String) } });
    }
    if (route === 'POST stream' && status === 200) expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
  });

  // prettier-ignore
  const OTHERS: [string, (sessionId: string, runId: string) => [string, string, unknown?], [number, number, number, number, number]][] = [
    //                                                                                                  service with admin auditor oidc
    ['POST continue', (s) => ['POST', `/v1/agents/support/sessions/${s}/continue`, { input: 'x' }],    [200, 404, 200, 403, 404]],
    ['POST invoke with session_id', (s) => ['POST', '/v1/agents/support/invoke', { input: 'x', session_id: s }], [200, 404, 200, 403, 404]],
    ['POST stream with session_id', (s) => ['POST', '/v1/agents/support/stream', { input: 'x', session_id: s }], [200, 404, 200, 403, 404]],
    ['GET session (history)', (s) => ['GET', `/v1/agents/support/sessions/${s}`],                      [200, 404, 200, 200, 404]],
    ['DELETE session', (s) => ['DELETE', `/v1/agents/support/sessions/${s}`],                          [204, 404, 204, 403, 404]],
    ['GET status', (_s, r) => ['GET', `/v1/pipelines/support-flow/status?run_id=${r}`],                [200, 404, 200, 200, 404]],
    ['POST cancel', (_s, r) => ['POST', `/v1/pipelines/support-flow/runs/${r}/cancel`],                [200, 404, 200, 403, 404]],
  ];
  const OTHER_WHO = ['service key', 'user with the agent', 'admin user', 'auditor user', 'OIDC user'] as const;

  it.each(OTHERS.flatMap(([route, request, statuses]) => OTHER_WHO.map((who, i) => [route, who, statuses[i], request] as const)))(
    "%s on another user's record as %s → %i",
    async (_route, who, status, request) => {
      const [method, path, body] = request(await newSession(BOB), await newRun(BOB));
      const response = await call(method, path, HEADERS[who], body);
      const text = await response.text();
      expect(response.status, text).toBe(status);
      if (status === 404) expect(JSON.parse(text).error.code).toBe('not_found');
      if (status === 403) expect(JSON.parse(text).error.code).toBe('forbidden');
    },
  );

  // Same role, same agents, another subject: dana's records are not erin's (nor alice's), and erin's are not alice's.
  it.each(
    OTHERS.flatMap(([route, request]) =>
      (
        [
          ['OIDC user', 'another OIDC user'],
          ['user with the agent', 'another OIDC user'],
          ['OIDC user', 'the user key with the agent'],
        ] as const
      ).map(([who, owner]) => [route, owner, who, request] as const),
    ),
  )("%s on %s's record as %s → 404", async (_route, owner, who, request) => {
    const headers = owner === 'another OIDC user' ? DANA : HEADERS['user with the agent'];
    const [method, path, body] = request(await newSession(headers), await newRun(headers));
    const response = await call(method, path, HEADERS[who], body);
    const text = await response.text();
    expect(response.status, text).toBe(404);
    expect(JSON.parse(text)).toEqual({ error: { code: 'not_found', message: expect.any(String) } });
  });

  it('lists only the agents and pipelines the caller may use; auditors and admins see all', async () => {
    const listed = async (who: Who) => {
      const agents = (await (await call('GET', '/v1/agents', HEADERS[who])).json()) as { agents: { name: string; pipelines: string[] }[] };
      const pipelines = (await (await call('GET', '/v1/pipelines', HEADERS[who])).json()) as { pipelines: { name: string }[] };
      return { agents: agents.agents, pipelines: pipelines.pipelines.map((p) => p.name) };
    };
    const alice = await listed('user with the agent');
    expect(alice.agents.map((a) => a.name)).toEqual(['support']);
    // billing-flow also runs "billing", which alice may not use: neither listed nor named.
    expect(alice.agents[0].pipelines).toEqual(['support-flow']);
    expect(alice.pipelines).toEqual(['support-flow']);
    expect(await listed('OIDC user')).toEqual(alice);
    const carol = await listed('user without it');
    expect(carol.agents.map((a) => a.name)).toEqual(['billing']);
    expect(carol.agents[0].pipelines).toEqual([]);
    expect(carol.pipelines).toEqual([]);
    for (const who of ['service key', 'admin user', 'auditor user'] as const) {
      const all = await listed(who);
      expect(all.agents.map((a) => a.name)).toEqual(['support', 'billing']);
      expect(all.pipelines).toEqual(['support-flow', 'billing-flow']);
    }
  });

  it("lists only the caller's own sessions and runs, with totals counting only those", async () => {
    const alice = HEADERS['user with the agent'];
    const total = async (path: string, headers: Record<string, string>) =>
      ((await (await call('GET', path, headers)).json()) as { total: number }).total;
    const sessions = '/v1/agents/support/sessions?limit=100';
    const runs = '/v1/pipelines/support-flow/runs?limit=100';
    const before = { alice: await total(sessions, alice), audit: await total(sessions, HEADERS['auditor user']) };
    const runsBefore = { alice: await total(runs, alice), audit: await total(runs, HEADERS['auditor user']) };

    const bobSession = await newSession(BOB);
    const aliceSession = await newSession(alice);
    await newRun(BOB);
    const aliceRun = await newRun(alice);

    const page = (await (await call('GET', sessions, alice)).json()) as { sessions: { session_id: string }[]; total: number };
    expect(page.total).toBe(before.alice + 1);
    expect(page.sessions.map((s) => s.session_id)).toContain(aliceSession);
    expect(page.sessions.map((s) => s.session_id)).not.toContain(bobSession);
    expect(await total(sessions, HEADERS['auditor user'])).toBe(before.audit + 2);

    const runPage = (await (await call('GET', runs, alice)).json()) as { runs: { run_id: string }[]; total: number };
    expect(runPage.total).toBe(runsBefore.alice + 1);
    expect(runPage.runs.map((r) => r.run_id)).toContain(aliceRun);
    expect(await total(runs, HEADERS['auditor user'])).toBe(runsBefore.audit + 2);

    // "The latest run" is the caller's own latest, not bob's newer one.
    await newRun(BOB);
    const latest = (await (await call('GET', '/v1/pipelines/support-flow/status', alice)).json()) as { run_id: string };
    expect(latest.run_id).toBe(aliceRun);
  });

  it("lists only the OIDC user's own sessions and runs, not another OIDC user's of the same role", async () => {
    const erin = HEADERS['OIDC user'];
    const ids = async <T,>(path: string, field: 'sessions' | 'runs', key: keyof T) =>
      (((await (await call('GET', path, erin)).json()) as Record<string, T[]>)[field] ?? []).map((row) => row[key]);
    const danaSession = await newSession(DANA);
    const erinSession = await newSession(erin);
    const danaRun = await newRun(DANA);
    const erinRun = await newRun(erin);
    const sessions = await ids<{ session_id: string }>('/v1/agents/support/sessions?limit=100', 'sessions', 'session_id');
    expect(sessions).toContain(erinSession);
    expect(sessions).not.toContain(danaSession);
    const runs = await ids<{ run_id: string }>('/v1/pipelines/support-flow/runs?limit=100', 'runs', 'run_id');
    expect(runs).toContain(erinRun);
    expect(runs).not.toContain(danaRun);
  });

  it('records an OIDC caller as oidc:<issuer>#<sub> on its sessions and runs', async () => {
    const session = await newSession(HEADERS['OIDC user']);
    const run = await newRun(DANA);
    const { rows: sessionRows } = await sql.query('SELECT principal FROM sessions WHERE id = $1', [session]);
    const { rows: runRows } = await sql.query('SELECT principal FROM pipeline_runs WHERE run_id = $1', [run]);
    expect(sessionRows).toEqual([{ principal: `oidc:${issuer.issuer}#erin` }]);
    expect(runRows).toEqual([{ principal: `oidc:${issuer.issuer}#dana` }]);
  });

  it('records a user key caller as user:<name> on its sessions and runs, never the key', async () => {
    const session = await newSession(HEADERS['user with the agent']);
    const run = await newRun(HEADERS['admin user']);
    const { rows: sessionRows } = await sql.query('SELECT principal FROM sessions WHERE id = $1', [session]);
    const { rows: runRows } = await sql.query('SELECT principal FROM pipeline_runs WHERE run_id = $1', [run]);
    expect(sessionRows).toEqual([{ principal: 'user:alice' }]);
    expect(runRows).toEqual([{ principal: 'user:root' }]);
  });
});

describe('user keys at start and on reload', () => {
  afterAll(() => vi.unstubAllEnvs());

  it('end development mode: with only user keys configured, credentials are required', async () => {
    for (const [name, value] of Object.entries(KEYS)) vi.stubEnv(name, value);
    const app = await startTestApp({
      databaseUrl: await createTestDatabase(),
      env: { AGENTSPEC_DEFINITIONS: FIXTURE, AGENTSPEC_AUTH_FAILURE_LIMIT: 'off' },
    });
    try {
      expect((await fetch(`${app.url}/v1/agents`)).status).toBe(401);
      const alice = await fetch(`${app.url}/v1/agents`, { headers: { 'X-API-Key': KEYS.E2E_ALICE_KEY } });
      expect(alice.status).toBe(200);
    } finally {
      await app.close();
    }
  });

  it('refuses to start when a user block names a variable that is not set, naming the user and the variable', async () => {
    for (const [name, value] of Object.entries(KEYS)) vi.stubEnv(name, value);
    vi.stubEnv('E2E_CAROL_KEY', undefined);
    const loaded = await loadInitialDefinitions(FIXTURE, []);
    expect(loaded).toEqual({
      ok: false,
      errors: 'error: user "carol": the environment variable E2E_CAROL_KEY that holds its key is not set',
    });

    vi.stubEnv('E2E_CAROL_KEY', KEYS.E2E_CAROL_KEY);
    expect(await loadInitialDefinitions(FIXTURE, [KEYS.E2E_ALICE_KEY])).toEqual({
      ok: false,
      errors: 'error: user "alice": the key in E2E_ALICE_KEY is also the key of AGENTSPEC_API_KEY(S); each principal needs its own',
    });
    expect(await loadInitialDefinitions(FIXTURE, [SERVICE_KEY])).toMatchObject({ ok: true });
  });

  it('takes the user blocks of reloaded definitions, and keeps the previous ones when a key variable is unset', async () => {
    for (const [name, value] of Object.entries(KEYS)) vi.stubEnv(name, value);
    const folder = await mkdtemp(join(tmpdir(), 'agentspec-users-'));
    const file = join(folder, 'agents.ias');
    const original = await readFile(join(FIXTURE, 'agents.ias'), 'utf8');
    await writeFile(file, original);
    const app = await startTestApp({
      databaseUrl: await createTestDatabase(),
      env: { AGENTSPEC_DEFINITIONS: folder, AGENTSPEC_API_KEY: SERVICE_KEY, AGENTSPEC_AUTH_FAILURE_LIMIT: 'off' },
    });
    const invoke = (key: string) =>
      fetch(`${app.url}/v1/agents/billing/invoke`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'X-API-Key': key },
        body: JSON.stringify({ input: 'x' }),
      });
    try {
      expect((await invoke(KEYS.E2E_ALICE_KEY)).status).toBe(403);
      expect((await invoke(KEYS.E2E_CAROL_KEY)).status).toBe(200);

      // alice now may use billing; carol's block is gone, so her key is no key at all.
      const edited = original
        .replace('agents ["support"]\n  role "user"', 'agents ["support", "billing"]\n  role "user"')
        .replace(/user "carol" \{[^}]*\}/, '');
      expect(edited).not.toBe(original);
      await writeFile(file, edited);
      expect(await app.app.get(CatalogService).reload()).toMatchObject({ ok: true });
      expect((await invoke(KEYS.E2E_ALICE_KEY)).status).toBe(200);
      expect((await invoke(KEYS.E2E_CAROL_KEY)).status).toBe(401);

      await writeFile(file, `${edited}\nuser "dave" {\n  key secret("E2E_DAVE_KEY_UNSET")\n}\n`);
      const refused = await app.app.get(CatalogService).reload();
      expect(refused).toEqual({
        ok: false,
        errors: 'user "dave": the environment variable E2E_DAVE_KEY_UNSET that holds its key is not set',
      });
      expect((await invoke(KEYS.E2E_ALICE_KEY)).status).toBe(200);
    } finally {
      await app.close();
    }
  });
});
