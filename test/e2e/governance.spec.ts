import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadInitialDefinitions } from '../../src/runtime/catalog.service.js';
import { connect, createTestDatabase } from '../support/database.js';
import { eventually } from '../support/eventually.js';
import { post } from '../support/http.js';
import { readSse } from '../support/sse.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

/** $1 per token for the `mock/priced` model: a short call costs about $10 (the mock counts words). */
const PRICES = JSON.stringify({
  'mock/priced': { input: 1_000_000, output: 1_000_000 },
  'mock/priced?token_delay=100ms': { input: 1_000_000, output: 1_000_000 },
});
const ENV = { AGENTSPEC_DEFINITIONS: 'test/fixtures/e2e-governance', AGENTSPEC_MODEL_PRICES: PRICES, AGENTSPEC_COMMAND_ALLOWLIST: 'echo' };

async function get(app: TestApp, path: string): Promise<Response> {
  return fetch(`${app.url}${path}`);
}

async function metric(app: TestApp, name: string, labels: Record<string, string>): Promise<number> {
  const text = await (await get(app, '/v1/metrics')).text();
  const wanted = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && wanted.every((w) => l.includes(w)));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

describe('governance written in definitions', () => {
  let databaseUrl: string;
  let app: TestApp;
  let replica: TestApp;

  beforeAll(async () => {
    databaseUrl = await createTestDatabase();
    app = await startTestApp({ databaseUrl, env: ENV });
    replica = await startTestApp({ databaseUrl, env: ENV });
  });
  afterAll(async () => {
    await app?.close();
    await replica?.close();
  });

  async function events(where: string, params: unknown[] = []): Promise<Record<string, unknown>[]> {
    const client = await connect(databaseUrl);
    try {
      return (await client.query(`SELECT * FROM governance_events WHERE ${where} ORDER BY id`, params)).rows;
    } finally {
      await client.end();
    }
  }

  describe('guardrails', () => {
    it('block an input before any model call: the fallback answers, the audit and the metric name the guardrail', async () => {
      const before = await metric(app, 'agentspec_guardrail_violations_total', {
        agent: 'guarded',
        guardrail: 'no-secrets',
        mode: 'block',
      });
      const response = await post(app, '/v1/agents/guarded/invoke', { input: 'tell me the CLASSIFIED plan' });

      expect(response.status).toBe(200);
      const body = await response.json();
      expect(body).toMatchObject({
        output: 'That cannot be shared.',
        turns: 0,
        usage: { input_tokens: 0, output_tokens: 0, total_tokens: 0 },
        finish_reason: 'content_filter',
        guardrails: [{ guardrail: 'no-secrets', mode: 'block', side: 'input' }],
      });
      const correlationId = response.headers.get('x-correlation-id');
      expect(await events('correlation_id = $1', [correlationId])).toMatchObject([
        {
          kind: 'guardrail',
          agent: 'guarded',
          name: 'no-secrets',
          action: 'block',
          side: 'input',
          endpoint: 'invoke',
          principal: expect.any(String),
        },
      ]);
      expect(await metric(app, 'agentspec_guardrail_violations_total', { agent: 'guarded', guardrail: 'no-secrets', mode: 'block' })).toBe(
        before + 1,
      );
    });

    it('block an answer by pattern: the fallback replaces it', async () => {
      const response = await post(app, '/v1/agents/guarded/invoke', { input: 'say forbidden things' });

      const body = await response.json();
      expect(body).toMatchObject({
        output: 'Withheld by policy.',
        turns: 1,
        finish_reason: 'content_filter',
        guardrails: [{ guardrail: 'no-forbidden-echo', mode: 'block', side: 'output' }],
      });
      expect(body.usage.output_tokens).toBeGreaterThan(0);
      expect(await events('correlation_id = $1', [response.headers.get('x-correlation-id')])).toMatchObject([
        { name: 'no-forbidden-echo', action: 'block', side: 'output', endpoint: 'invoke' },
      ]);
    });

    it("writes each concurrent call's rows under its own correlation id", async () => {
      const ids = Array.from({ length: 10 }, (_, i) => `governed-at-once-${i}`);
      const responses = await Promise.all(
        ids.map((id) => post(app, '/v1/agents/guarded/invoke', { input: 'say forbidden things' }, { 'X-Correlation-ID': id })),
      );
      expect(responses.map((response) => response.status)).toEqual(ids.map(() => 200));
      const rows = await events('correlation_id = ANY($1)', [ids]);
      expect(rows.map((row) => row.correlation_id).sort()).toEqual([...ids].sort());
      expect(new Set(rows.map((row) => row.name))).toEqual(new Set(['no-forbidden-echo']));
      const client = await connect(databaseUrl);
      try {
        const { rows: calls } = await client.query('SELECT correlation_id FROM invocations WHERE correlation_id = ANY($1)', [ids]);
        expect(calls.map((row: { correlation_id: string }) => row.correlation_id).sort()).toEqual([...ids].sort());
      } finally {
        await client.end();
      }
    });

    it('let a warned answer pass, and record it', async () => {
      const response = await post(app, '/v1/agents/guarded/invoke', { input: 'careful with that' });

      const body = await response.json();
      expect(body.output).toBe('Echo: careful with that');
      expect(body.finish_reason).toBe('stop');
      expect(body.guardrails).toEqual([{ guardrail: 'tone', mode: 'warn', side: 'output' }]);
      expect(await events('correlation_id = $1', [response.headers.get('x-correlation-id')])).toMatchObject([
        { name: 'tone', action: 'warn', side: 'output' },
      ]);
    });

    it('leave an answer no guardrail matches as it was, without a guardrails field or an audit row', async () => {
      const response = await post(app, '/v1/agents/guarded/invoke', { input: 'hello there' });

      const body = await response.json();
      expect(body.output).toBe('Echo: hello there');
      expect(body).not.toHaveProperty('guardrails');
      expect(await events('correlation_id = $1', [response.headers.get('x-correlation-id')])).toEqual([]);
    });

    it('never put blocked text on a stream: a guardrail event with the fallback replaces it', async () => {
      const response = await post(app, '/v1/agents/guarded/stream', { input: 'you are forbidden to go' });

      expect(response.status).toBe(200);
      const wire = await response.clone().text();
      expect(wire).not.toContain('forbidden to go');
      expect(wire).not.toContain('Echo');
      expect(wire).toMatch(/\nevent: guardrail\ndata: \{"type":"guardrail",/);
      const { events: sent } = await readSse(response);
      expect(sent.filter((event) => event.type === 'guardrail')).toEqual([
        { type: 'guardrail', guardrail: 'no-forbidden-echo', side: 'output', fallback: 'Withheld by policy.' },
      ]);
      expect(sent.at(-1)).toMatchObject({ type: 'done' });
    });

    it('stream an answer that passes in full, held-back text included', async () => {
      const input = 'one two three four five six seven eight nine ten eleven twelve';
      const response = await post(app, '/v1/agents/guarded/stream', { input });

      const { events: sent } = await readSse(response);
      const text = sent
        .filter((event) => event.type === 'token')
        .map((event) => event.content as string)
        .join('');
      expect(text).toBe(`Echo: ${input}`);
      expect(sent.some((event) => event.type === 'guardrail')).toBe(false);
    });

    it('block a blocked input on a stream before the model is called', async () => {
      const response = await post(app, '/v1/agents/guarded/stream', { input: 'my number is 123-45-6789' });

      const wire = await response.clone().text();
      expect(wire).not.toContain('123-45-6789');
      const { events: sent } = await readSse(response);
      expect(sent.map((event) => event.type)).toEqual(['guardrail', 'done']);
      expect(sent[0]).toMatchObject({ guardrail: 'no-secrets', side: 'input', fallback: 'That cannot be shared.' });
    });

    it('check session turns: the stored turn is what the caller got, the audit names the session', async () => {
      const created = await (await post(app, '/v1/agents/guarded/sessions', {})).json();
      const id = created.session_id as string;

      const turn = await post(app, `/v1/agents/guarded/sessions/${id}/continue`, { input: 'is it top-secret?' });
      expect(turn.status).toBe(200);
      expect(await turn.json()).toMatchObject({
        output: 'That cannot be shared.',
        turn: 1,
        finish_reason: 'content_filter',
        guardrails: [{ guardrail: 'no-secrets', mode: 'block', side: 'input' }],
      });
      const history = await (await get(app, `/v1/agents/guarded/sessions/${id}`)).json();
      // The blocked input is not kept: the next turn's memory must not carry it to the model.
      expect(history.messages.map((m: { content: string }) => m.content)).toEqual([
        '[input withheld by guardrail "no-secrets"]',
        'That cannot be shared.',
      ]);
      const next = await (await post(app, `/v1/agents/guarded/sessions/${id}/continue`, { input: 'hello again' })).json();
      expect(next.output).toBe('Echo: hello again');
      expect(await events('session_id = $1', [id])).toMatchObject([{ name: 'no-secrets', endpoint: 'session', side: 'input' }]);
    });

    it('check pipeline steps: a blocked step answers its fallback to the next step; the audit names run and step', async () => {
      const response = await post(app, '/v1/pipelines/guarded-chain/run', { input: 'forbidden fruit' });

      expect(response.status).toBe(200);
      const run = await response.json();
      expect(run.steps.map((step: { name: string; output: string }) => [step.name, step.output])).toEqual([
        ['first', 'Withheld by policy.'],
        ['second', 'Echo: Withheld by policy.'],
      ]);
      expect(await events('run_id = $1', [run.run_id])).toMatchObject([
        { name: 'no-forbidden-echo', endpoint: 'pipeline', step: 'first', side: 'output', action: 'block' },
      ]);
    });

    it("withhold a tool's result that a block guardrail matches, on the stream and in tool_calls", async () => {
      const streamed = await post(app, '/v1/agents/guarded-tools/stream', { input: 'please lookup my card' });
      const wire = await streamed.clone().text();
      expect(wire).not.toContain('6789');
      const { events: sent } = await readSse(streamed);
      // Text before the record ("Tool lookup returned: …") may stream; the record never does.
      expect(sent.map((event) => event.type).filter((type) => type !== 'token')).toEqual(['tool_call', 'tool_result', 'guardrail', 'done']);
      expect(sent[1]).toEqual({ type: 'tool_result', name: 'lookup', output: '[withheld by guardrail "no-secrets"]' });

      const invoked = await (await post(app, '/v1/agents/guarded-tools/invoke', { input: 'please lookup my card' })).json();
      expect(JSON.stringify(invoked)).not.toContain('6789');
      expect(invoked.output).toBe('That cannot be shared.');
      expect(invoked.tool_calls[0].output).toBe('[withheld by guardrail "no-secrets"]');
      expect(invoked.guardrails).toEqual([
        { guardrail: 'no-secrets', mode: 'block', side: 'tool' },
        { guardrail: 'no-secrets', mode: 'block', side: 'output' },
      ]);
    });

    it('list each agent with its guardrails', async () => {
      const list = await (await get(app, '/v1/agents')).json();
      const guarded = list.agents.find((agent: { name: string }) => agent.name === 'guarded');
      expect(guarded.guardrails).toEqual(['no-secrets', 'tone', 'no-forbidden-echo']);
    });
  });

  describe('budgets', () => {
    async function spentToday(agent: string): Promise<number> {
      const client = await connect(databaseUrl);
      try {
        const rows = (
          await client.query(
            `SELECT spent_usd FROM budget_spend WHERE agent = $1 AND period = 'daily' AND window_start = (now() AT TIME ZONE 'UTC')::date`,
            [agent],
          )
        ).rows;
        return rows.length ? Number(rows[0].spent_usd) : 0;
      } finally {
        await client.end();
      }
    }

    it('are shared by replicas: once the daily spend reaches the limit, both refuse with 429 budget_exceeded until the window resets', async () => {
      // Each call: "Repeat after me." (3 words) + "hello" in, "Echo: hello" out = 4 + 2 tokens = $6.
      const first = await post(app, '/v1/agents/metered/invoke', { input: 'hello' });
      expect(first.status).toBe(200);
      expect(await spentToday('metered')).toBe(6);
      expect((await post(replica, '/v1/agents/metered/invoke', { input: 'hello' })).status).toBe(200);
      expect((await post(app, '/v1/agents/metered/invoke', { input: 'hello' })).status).toBe(200);
      expect((await post(replica, '/v1/agents/metered/invoke', { input: 'hello' })).status).toBe(200);
      expect(await spentToday('metered')).toBe(24);

      for (const target of [app, replica]) {
        const refused = await post(target, '/v1/agents/metered/invoke', { input: 'hello' });
        expect(refused.status).toBe(429);
        const body = await refused.json();
        expect(body.error.code).toBe('budget_exceeded');
        expect(body.error.message).toContain("Agent 'metered' has used up its daily budget");
        const retryAfter = Number(refused.headers.get('retry-after'));
        const untilMidnight =
          (Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate() + 1) - Date.now()) / 1000;
        expect(retryAfter).toBeGreaterThan(untilMidnight - 5);
        expect(retryAfter).toBeLessThanOrEqual(Math.ceil(untilMidnight) + 1);
      }
      // Streams and session turns are refused before the first byte, as JSON.
      const stream = await post(replica, '/v1/agents/metered/stream', { input: 'hello' });
      expect(stream.status).toBe(429);
      expect((await stream.json()).error.code).toBe('budget_exceeded');
      expect(await spentToday('metered')).toBe(24);
      expect(await events(`kind = 'budget' AND agent = 'metered'`)).toHaveLength(3);

      const list = await (await get(replica, '/v1/agents')).json();
      expect(list.agents.find((agent: { name: string }) => agent.name === 'metered').spend).toMatchObject({
        daily: { spent_usd: 24, limit_usd: 20, resets_at: expect.stringMatching(/T00:00:00\.000Z$/) },
        monthly: { spent_usd: 24 },
      });
      expect(await metric(app, 'agentspec_budget_used_ratio', { agent: 'metered', period: 'daily' })).toBeGreaterThanOrEqual(1);

      // The day's window ends: yesterday's spend no longer counts (the monthly total still does).
      const client = await connect(databaseUrl);
      try {
        await client.query(`UPDATE budget_spend SET window_start = window_start - 1 WHERE agent = 'metered' AND period = 'daily'`);
      } finally {
        await client.end();
      }
      expect((await post(replica, '/v1/agents/metered/invoke', { input: 'hello' })).status).toBe(200);
      expect(await spentToday('metered')).toBe(6);
    });

    it('are checked again before each later model call of a run: a tool loop stops at the limit', async () => {
      const invoked = await post(app, '/v1/agents/metered-tools/invoke', { input: 'ping please' });
      expect(invoked.status).toBe(429);
      expect((await invoked.json()).error.code).toBe('budget_exceeded');
      expect(await spentToday('metered-tools')).toBeGreaterThan(5);
    });

    it('charge an estimate for a stream the client leaves mid-answer (the provider billed it)', async () => {
      const abort = new AbortController();
      const response = await fetch(`${app.url}/v1/agents/metered-slow/stream`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ input: 'one two three four five six seven eight nine ten' }),
        signal: abort.signal,
      });
      const reader = response.body!.getReader();
      const first = await reader.read();
      expect(new TextDecoder().decode(first.value)).toContain('"type":"token"');
      abort.abort();
      // Prompt "Repeat after me." + the input = 64 characters = 16 tokens, plus what was streamed.
      expect(
        await eventually(
          () => spentToday('metered-slow'),
          (spent) => spent >= 16,
          { what: 'the estimated charge' },
        ),
      ).toBeGreaterThanOrEqual(16);
    });

    it('count monthly budgets the same way', async () => {
      for (let i = 0; i < 4; i++)
        expect((await post(i % 2 ? app : replica, '/v1/agents/metered-monthly/invoke', { input: 'hello' })).status).toBe(200);
      const refused = await post(app, '/v1/agents/metered-monthly/invoke', { input: 'hello' });
      expect(refused.status).toBe(429);
      expect((await refused.json()).error.message).toContain('monthly budget');
    });

    it('count the cost of each call by model', async () => {
      expect(await metric(replica, 'agentspec_cost_dollars_total', { agent: 'metered', model: 'mock/priced' })).toBeGreaterThan(0);
    });
  });
});

describe('environments and policies', () => {
  let databaseUrl: string;
  beforeAll(async () => {
    databaseUrl = await createTestDatabase();
  });

  it('serve the overlaid values of AGENTSPEC_ENVIRONMENT and say which environment is applied', async () => {
    const app = await startTestApp({
      databaseUrl,
      env: { AGENTSPEC_DEFINITIONS: 'test/fixtures/e2e-governance-env', AGENTSPEC_ENVIRONMENT: 'prod' },
    });
    try {
      const list = await (await fetch(`${app.url}/v1/agents`)).json();
      expect(list.environment).toBe('prod');
      expect(list.agents[0]).toMatchObject({ name: 'assistant', model: 'mock/prod-echo', models: ['mock/prod-echo'] });
      const answer = await post(app, '/v1/agents/assistant/invoke', { input: 'hi' });
      expect(answer.status).toBe(200);
    } finally {
      await app.close();
    }
  });

  it('serve the base values without an environment', async () => {
    const app = await startTestApp({ databaseUrl, env: { AGENTSPEC_DEFINITIONS: 'test/fixtures/e2e-governance-env' } });
    try {
      const list = await (await fetch(`${app.url}/v1/agents`)).json();
      expect(list).not.toHaveProperty('environment');
      expect(list.agents[0].model).toBe('mock/echo');
      expect(list.agents[0].spend.daily).not.toHaveProperty('limit_usd');
    } finally {
      await app.close();
    }
  });

  it('refuse to start with an environment the definitions do not declare, naming the known ones', async () => {
    const loaded = await loadInitialDefinitions('test/fixtures/e2e-governance-env', [], 'production');
    expect(loaded.ok).toBe(false);
    expect(!loaded.ok && loaded.errors).toMatch(/environment "production".*staging.*prod/s);
  });
});
