import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, createTestDatabase } from '../support/database.js';
import { eventually } from '../support/eventually.js';
import { post } from '../support/http.js';
import { readSse } from '../support/sse.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

const DEFINITIONS = { AGENTSPEC_DEFINITIONS: 'test/fixtures/e2e-sessions' };

async function createSession(app: TestApp, agent = 'chat', metadata?: Record<string, string>): Promise<string> {
  const response = await post(app, `/v1/agents/${agent}/sessions`, metadata ? { metadata } : {});
  expect(response.status).toBe(200);
  return (await response.json()).session_id;
}

describe('sessions', () => {
  let databaseUrl: string;
  let proxy: TcpProxy;
  let app: TestApp;
  let replica: TestApp;

  beforeAll(async () => {
    databaseUrl = await createTestDatabase();
    proxy = TcpProxy.forUrl(databaseUrl);
    await proxy.start();
    app = await startTestApp({ databaseUrl: proxy.rewrite(databaseUrl), env: DEFINITIONS });
    replica = await startTestApp({ databaseUrl, env: DEFINITIONS });
  });
  afterAll(async () => {
    await proxy.restore();
    await app?.close();
    await replica?.close();
    await proxy.cut();
  });

  it('creates a session: 200, sess_ id of 128+ random bits, RFC 3339 UTC time, metadata echoed', async () => {
    const response = await post(app, '/v1/agents/chat/sessions', { metadata: { customer: 'c-42' } });
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body).toEqual({ session_id: expect.stringMatching(/^sess_[A-Za-z0-9_-]{22,}$/), agent: 'chat', created_at: expect.any(String), metadata: { customer: 'c-42' } });
    expect(body.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    const withoutBody = await post(app, '/v1/agents/chat/sessions');
    expect(withoutBody.status).toBe(200);
    expect((await withoutBody.json()).metadata).toEqual({});
  });

  it('refuses bad metadata and unknown agents', async () => {
    expect((await post(app, '/v1/agents/chat/sessions', { metadata: { n: 1 } })).status).toBe(400);
    expect((await post(app, '/v1/agents/chat/sessions', { metadata: 'x' })).status).toBe(400);
    const unknown = await post(app, '/v1/agents/ghost/sessions', {});
    expect(unknown.status).toBe(404);
    expect((await unknown.json()).error.message).toBe("Agent 'ghost' does not exist.");
  });

  it('continues with 1-based turns and sends only the memory window to the model', async () => {
    const id = await createSession(app);
    const first = await post(app, `/v1/agents/chat/sessions/${id}/continue`, { input: 'alpha beta' });
    expect(first.status).toBe(200);
    const one = await first.json();
    expect(one).toMatchObject({ output: 'Echo: alpha beta', turn: 1 });
    // input tokens = words sent: system "Be brief." (2) + input (2).
    expect(one.usage).toEqual({ input_tokens: 4, output_tokens: 3, total_tokens: 7 });

    const two = await (await post(app, `/v1/agents/chat/sessions/${id}/continue`, { input: 'gamma' })).json();
    // + history "alpha beta" (2) and "Echo: alpha beta" (3) + input (1).
    expect(two).toMatchObject({ turn: 2, usage: { input_tokens: 2 + 5 + 1 } });

    const three = await (await post(app, `/v1/agents/chat/sessions/${id}/continue`, { input: 'delta' })).json();
    // max_messages 2: only turn 2's "gamma" (1) and "Echo: gamma" (2) are sent.
    expect(three).toMatchObject({ turn: 3, usage: { input_tokens: 2 + 3 + 1 } });
  });

  it('shows the stored conversation in order (the audit view)', async () => {
    const id = await createSession(app, 'chat', { case: 'audit' });
    await post(app, `/v1/agents/chat/sessions/${id}/continue`, { input: 'first' });
    await post(app, `/v1/agents/chat/sessions/${id}`, { message: 'second' });
    const response = await fetch(`${app.url}/v1/agents/chat/sessions/${id}`);
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body).toMatchObject({ session_id: id, agent: 'chat', turns: 2, metadata: { case: 'audit' } });
    expect(body.messages.map((m: { turn: number; role: string; content: string }) => [m.turn, m.role, m.content])).toEqual([
      [1, 'user', 'first'],
      [1, 'assistant', 'Echo: first'],
      [2, 'user', 'second'],
      [2, 'assistant', 'Echo: second'],
    ]);
    expect(body.messages[1].usage).toEqual({ input_tokens: 3, output_tokens: 2, total_tokens: 5 });
  });

  it('records who and which request in every stored message', async () => {
    const id = await createSession(app);
    await post(app, `/v1/agents/chat/sessions/${id}/continue`, { input: 'hello' }, { 'X-Correlation-ID': 'turn-trace-7' });
    const client = await connect(databaseUrl);
    try {
      const { rows } = await client.query('SELECT role, principal, correlation_id FROM session_messages WHERE session_id = $1 ORDER BY id', [id]);
      expect(rows).toEqual([
        { role: 'user', principal: 'anonymous', correlation_id: 'turn-trace-7' },
        { role: 'assistant', principal: 'anonymous', correlation_id: 'turn-trace-7' },
      ]);
    } finally {
      await client.end();
    }
  });

  it('answers 404 for a session of another agent, an unknown id, or a deleted session', async () => {
    const id = await createSession(app, 'chat');
    expect((await post(app, `/v1/agents/other/sessions/${id}/continue`, { input: 'x' })).status).toBe(404);
    expect((await post(app, '/v1/agents/chat/sessions/sess_nope/continue', { input: 'x' })).status).toBe(404);
    const removed = await fetch(`${app.url}/v1/agents/chat/sessions/${id}`, { method: 'DELETE' });
    expect(removed.status).toBe(204);
    expect((await post(app, `/v1/agents/chat/sessions/${id}/continue`, { input: 'x' })).status).toBe(404);
    expect((await fetch(`${app.url}/v1/agents/chat/sessions/${id}`, { method: 'DELETE' })).status).toBe(404);
  });

  it('answers 404, not 409, when the session is deleted while its turn runs; nothing is stored', async () => {
    const id = await createSession(app, 'slow-chat');
    const turn = post(app, `/v1/agents/slow-chat/sessions/${id}/continue`, { input: 'too late' });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await fetch(`${app.url}/v1/agents/slow-chat/sessions/${id}`, { method: 'DELETE' })).status).toBe(204);
    const response = await turn;
    expect(response.status).toBe(404);
    const client = await connect(databaseUrl);
    try {
      expect((await client.query('SELECT count(*)::int AS n FROM session_messages WHERE session_id = $1', [id])).rows[0].n).toBe(0);
    } finally {
      await client.end();
    }
  });

  it('lists live sessions newest first with total, and validates limit/offset', async () => {
    const ids = [await createSession(app, 'other'), await createSession(app, 'other'), await createSession(app, 'other')];
    await fetch(`${app.url}/v1/agents/other/sessions/${ids[1]}`, { method: 'DELETE' });
    const body = await (await fetch(`${app.url}/v1/agents/other/sessions?limit=1&offset=0`)).json();
    expect(body.total).toBe(2);
    expect(body.sessions).toEqual([
      { session_id: ids[2], agent: 'other', turns: 0, created_at: expect.any(String), last_active_at: expect.any(String), metadata: {} },
    ]);
    const second = await (await fetch(`${app.url}/v1/agents/other/sessions?limit=1&offset=1`)).json();
    expect(second.sessions[0].session_id).toBe(ids[0]);
    for (const query of ['limit=0', 'limit=101', 'limit=abc', 'limit=1.5', 'offset=-1', 'offset=x', 'page=2']) {
      const response = await fetch(`${app.url}/v1/agents/other/sessions?${query}`);
      expect(response.status, query).toBe(400);
    }
  });

  it('lets one turn run at a time: 20 concurrent continues → 200 or 409, stored turns = successes, contiguous', async () => {
    const id = await createSession(app, 'slow-chat');
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) => post(i % 2 ? app : replica, `/v1/agents/slow-chat/sessions/${id}/continue`, { input: `n${i}` })),
    );
    const statuses = responses.map((response) => response.status);
    expect(statuses.every((status) => status === 200 || status === 409)).toBe(true);
    const ok = statuses.filter((status) => status === 200).length;
    expect(ok).toBeGreaterThanOrEqual(1);
    const busy = responses.find((response) => response.status === 409);
    if (busy) {
      expect(busy.headers.get('retry-after')).toBeTruthy();
      expect((await busy.json()).error.code).toBe('session_busy');
    }
    const client = await connect(databaseUrl);
    try {
      const { rows } = await client.query('SELECT turn, role FROM session_messages WHERE session_id = $1 ORDER BY turn, role DESC', [id]);
      expect(rows).toHaveLength(ok * 2);
      expect(rows.map((row) => row.turn)).toEqual(Array.from({ length: ok * 2 }, (_, i) => Math.floor(i / 2) + 1));
      const session = await client.query('SELECT turns FROM sessions WHERE id = $1', [id]);
      expect(session.rows[0].turns).toBe(ok);
    } finally {
      await client.end();
    }
  });

  it('is shared by replicas: created on one, continued on the other', async () => {
    const id = await createSession(app);
    const response = await post(replica, `/v1/agents/chat/sessions/${id}/continue`, { input: 'across' });
    expect(response.status).toBe(200);
    expect((await response.json()).turn).toBe(1);
    const listed = await (await fetch(`${replica.url}/v1/agents/chat/sessions?limit=100`)).json();
    expect(listed.sessions.map((s: { session_id: string }) => s.session_id)).toContain(id);
  });

  it('continues a session through invoke and stream with session_id', async () => {
    const id = await createSession(app);
    const invoked = await (await post(app, '/v1/agents/chat/invoke', { input: 'via invoke', session_id: id })).json();
    expect(invoked).toMatchObject({ output: 'Echo: via invoke', turn: 1 });
    const streamed = await readSse(await post(app, '/v1/agents/chat/stream', { input: 'via stream', session_id: id }));
    expect(streamed.events.at(-1)).toEqual({ type: 'done', usage: expect.objectContaining({ total_tokens: expect.any(Number) }), turn: 2 });
    expect(streamed.names.at(-1)).toBe('done');
    const history = await (await fetch(`${app.url}/v1/agents/chat/sessions/${id}`)).json();
    expect(history.turns).toBe(2);
    expect(history.messages.at(-1)).toMatchObject({ turn: 2, role: 'assistant', content: 'Echo: via stream' });
    expect((await post(app, '/v1/agents/chat/stream', { input: 'x', session_id: 'sess_missing' })).status).toBe(404);
  });

  it('reports live sessions per agent from the database, the same on every replica', async () => {
    await createSession(app, 'other');
    const read = async (instance: TestApp) => {
      const text = await (await fetch(`${instance.url}/v1/metrics`)).text();
      return Number(/agentspec_sessions_active\{agent="other"\} (\d+)/.exec(text)?.[1]);
    };
    const client = await connect(databaseUrl);
    const expected = Number(
      (await client.query("SELECT count(*) FROM sessions WHERE agent = 'other' AND status = 'active'")).rows[0].count,
    );
    await client.end();
    await eventually(async () => (await read(app)) === expected && (await read(replica)) === expected, {
      timeoutMs: 8_000,
      intervalMs: 250,
      what: `agentspec_sessions_active of "other" to be ${expected} on both replicas`,
    });
    expect(await read(app)).toBe(expected);
    expect(await read(replica)).toBe(expected);
  }, 15_000);

  it('answers 503 with Retry-After while the database is down, stores no half turn, and recovers by itself', async () => {
    const id = await createSession(app);
    await proxy.cut();
    const started = Date.now();
    const down = await post(app, `/v1/agents/chat/sessions/${id}/continue`, { input: 'lost' });
    expect(down.status).toBe(503);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(down.headers.get('retry-after')).toBeTruthy();
    expect((await down.json()).error.code).toBe('unavailable');
    expect((await post(app, '/v1/agents/chat/sessions', {})).status).toBe(503);

    await proxy.restore();
    const recovered = await eventually(
      async () => (await post(app, `/v1/agents/chat/sessions/${id}/continue`, { input: 'back' })).status,
      (status) => status === 200,
      { timeoutMs: 10_000, intervalMs: 250, what: 'a turn to succeed again' },
    );
    expect(recovered).toBe(200);
    const history = await (await fetch(`${app.url}/v1/agents/chat/sessions/${id}`)).json();
    expect(history.messages.map((m: { content: string }) => m.content)).toEqual(['back', 'Echo: back']);
  }, 30_000);
});

describe('sessions across a restart', () => {
  it('continues a session created before the restart, numbering turns on', async () => {
    const databaseUrl = await createTestDatabase();
    const before = await startTestApp({ databaseUrl, env: DEFINITIONS });
    const id = await createSession(before);
    expect((await (await post(before, `/v1/agents/chat/sessions/${id}/continue`, { input: 'before' })).json()).turn).toBe(1);
    await before.close();

    const after = await startTestApp({ databaseUrl, env: DEFINITIONS });
    try {
      const response = await post(after, `/v1/agents/chat/sessions/${id}/continue`, { input: 'after' });
      expect(response.status).toBe(200);
      expect((await response.json()).turn).toBe(2);
    } finally {
      await after.close();
    }
  });
});

describe('session expiry', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ databaseUrl: await createTestDatabase(), env: { ...DEFINITIONS, AGENTSPEC_SESSION_IDLE_TIMEOUT: '1s' } });
  });
  afterAll(() => app?.close());

  it('expires an idle session: continue answers 404 and list omits it', async () => {
    const id = await createSession(app);
    expect((await post(app, `/v1/agents/chat/sessions/${id}/continue`, { input: 'x' })).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 1_300));
    expect((await post(app, `/v1/agents/chat/sessions/${id}/continue`, { input: 'x' })).status).toBe(404);
    const listed = await (await fetch(`${app.url}/v1/agents/chat/sessions`)).json();
    expect(listed).toEqual({ sessions: [], total: 0 });
  });
});
