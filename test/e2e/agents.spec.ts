import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, createTestDatabase } from '../support/database.js';
import { post } from '../support/http.js';
import { readSse } from '../support/sse.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

const TOOL_PORT = 47811;

describe('agent endpoints', () => {
  let app: TestApp;
  let databaseUrl: string;
  let weather: Server;
  const weatherRequests: string[] = [];

  beforeAll(async () => {
    weather = createServer((request, response) => {
      weatherRequests.push(request.url ?? '');
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify({ forecast: 'sunny', url: request.url }));
    });
    await new Promise<void>((resolve) => weather.listen(TOOL_PORT, '127.0.0.1', resolve));
    databaseUrl = await createTestDatabase();
    app = await startTestApp({
      databaseUrl,
      env: { AGENTSPEC_DEFINITIONS: 'test/fixtures/e2e/agents.ias', AGENTSPEC_HTTP_TOOL_ALLOW_HOSTS: '127.0.0.1' },
    });
  });
  afterAll(async () => {
    await app?.close();
    await new Promise((resolve) => weather?.close(resolve));
  });

  it('lists the agents in definition order with the documented fields', async () => {
    const response = await fetch(`${app.url}/v1/agents`);
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body.agents.map((agent: { name: string }) => agent.name)).toEqual([
      'greeter',
      'forecaster',
      'slow-talker',
      'budgeted',
      'broken',
      'resilient',
      'lagging',
    ]);
    expect(body.agents[1]).toMatchObject({ name: 'forecaster', model: 'mock/echo', skills: ['weather'], status: 'ready' });
  });

  it('invokes an agent: exact output and usage, variables filled', async () => {
    const response = await post(app, '/v1/agents/greeter/invoke', { input: 'hello there', options: { variables: { customer: 'Ada' } } });
    expect(response.status).toBe(200);
    const body = await response.json();
    // System prompt "You greet Ada from Acme. " is 5 words, the input 2: the mock counts words.
    expect(body).toEqual({
      output: 'Echo: hello there',
      usage: { input_tokens: 7, output_tokens: 3, total_tokens: 10 },
      tool_calls: [],
      turns: 1,
      duration_ms: expect.any(Number),
      finish_reason: 'stop',
    });
  });

  it('accepts the compatibility aliases: message and top-level variables', async () => {
    const response = await post(app, '/v1/agents/greeter/invoke', { message: 'hi', variables: { customer: 'Bo' } });
    expect(response.status).toBe(200);
    expect((await response.json()).output).toBe('Echo: hi');
  });

  it.each([
    ['no input', {}, 'input'],
    ['an empty input', { input: '' }, 'input'],
    ['a number as input', { input: 42 }, 'input'],
    ['an unknown field', { input: 'x', mood: 'happy' }, 'mood'],
    ['temperature above 2', { input: 'x', options: { temperature: 2.5 } }, 'options.temperature'],
    ['max_tokens of 0', { input: 'x', options: { max_tokens: 0 } }, 'options.max_tokens'],
    ['a fractional max_tokens', { input: 'x', options: { max_tokens: 1.5 } }, 'options.max_tokens'],
    ['non-string variables', { input: 'x', options: { variables: { customer: 1 } } }, 'options.variables'],
    ['an unknown option', { input: 'x', options: { top_p: 1 } }, 'options.top_p'],
  ])('answers 400 invalid_request for %s', async (_label, body, field) => {
    const response = await post(app, '/v1/agents/greeter/invoke', body);
    expect(response.status).toBe(400);
    const error = (await response.json()).error;
    expect(error.code).toBe('invalid_request');
    expect(error.details.map((detail: { field: string }) => detail.field)).toContain(field);
  });

  it('answers 400 for a body that is not a JSON object', async () => {
    for (const body of ['[]', '"text"', '12', 'null']) {
      const response = await post(app, '/v1/agents/greeter/invoke', body);
      expect(response.status, body).toBe(400);
      expect((await response.json()).error.code).toBe('invalid_request');
    }
  });

  it('refuses NUL characters anywhere in a request with 400, before any model call', async () => {
    const body = await post(app, '/v1/agents/greeter/invoke', { input: 'a\u0000b', options: { variables: { customer: 'Ada' } } });
    expect(body.status).toBe(400);
    expect((await body.json()).error.message).toMatch(/NUL/);
    const path = await post(app, '/v1/agents/greeter%00/invoke', '{"input":"x"}');
    expect(path.status).toBe(400);
  });

  it('answers 400 naming a missing required prompt variable', async () => {
    const response = await post(app, '/v1/agents/greeter/invoke', { input: 'hi' });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      error: { code: 'invalid_request', message: expect.stringContaining('"customer"') },
    });
  });

  it('answers 404 for an unknown agent in the documented words', async () => {
    const response = await post(app, '/v1/agents/unknown-agent/invoke', { input: 'hi' });
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ error: { code: 'not_found', message: "Agent 'unknown-agent' does not exist." } });
  });

  it('runs a tool the model asks for and reports the call', async () => {
    const response = await post(app, '/v1/agents/forecaster/invoke', { input: 'weather in Paris?' });
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(weatherRequests).toContain('/weather?city=weather%20in%20Paris%3F');
    expect(body.turns).toBe(2);
    expect(body.tool_calls).toEqual([
      {
        name: 'weather',
        arguments: { city: 'weather in Paris?' },
        output: JSON.stringify({ forecast: 'sunny', url: '/weather?city=weather%20in%20Paris%3F' }),
        duration_ms: expect.any(Number),
      },
    ]);
    expect(body.output).toBe(`Tool weather returned: ${body.tool_calls[0].output}`);
    expect(body.usage.total_tokens).toBe(body.usage.input_tokens + body.usage.output_tokens);
  });

  it('streams the exact event sequence, tools included, ending with one done', async () => {
    const response = await post(app, '/v1/agents/forecaster/stream', { input: 'weather please' });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(response.headers.get('cache-control')).toBe('no-cache');
    expect(response.headers.get('x-accel-buffering')).toBe('no');
    const { events, ids, names } = await readSse(response);
    const toolOutput = JSON.stringify({ forecast: 'sunny', url: '/weather?city=weather%20please' });
    expect(events).toEqual([
      { type: 'tool_call', name: 'weather', arguments: { city: 'weather please' } },
      { type: 'tool_result', name: 'weather', output: toolOutput },
      ...`Tool weather returned: ${toolOutput}`.split(/(?<=\s)/).map((content) => ({ type: 'token', content })),
      { type: 'done', usage: expect.objectContaining({ total_tokens: expect.any(Number) }) },
    ]);
    expect(ids).toEqual(events.map((_, index) => index + 1));
    expect(names).toEqual(events.map((event) => event.type));
    expect(events.at(-1)).not.toHaveProperty('turn');
  });

  it('streams tokens that join to the same output invoke returns', async () => {
    const [invoked, streamed] = await Promise.all([
      post(app, '/v1/agents/greeter/invoke', { input: 'one two three', options: { variables: { customer: 'C' } } }).then((r) => r.json()),
      post(app, '/v1/agents/greeter/stream', { input: 'one two three', options: { variables: { customer: 'C' } } }).then(readSse),
    ]);
    const tokens = streamed.events.filter((event) => event.type === 'token').map((event) => event.content);
    expect(tokens).toEqual(['Echo: ', 'one ', 'two ', 'three']);
    expect(tokens.join('')).toBe(invoked.output);
    expect(streamed.events.at(-1)).toEqual({ type: 'done', usage: invoked.usage });
  });

  it('refuses bad stream input with a JSON error before any event', async () => {
    const missing = await post(app, '/v1/agents/greeter/stream', { input: 'hi' });
    expect(missing.status).toBe(400);
    expect(missing.headers.get('content-type')).toMatch(/^application\/json/);
    const unknown = await post(app, '/v1/agents/nobody/stream', { input: 'hi' });
    expect(unknown.status).toBe(404);
  });

  it('ends the loop on the token budget with a finish reason and a non-empty output', async () => {
    const response = await post(app, '/v1/agents/budgeted/invoke', { input: 'weather now' });
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body.finish_reason).toBe('token_budget');
    expect(body.output).toMatch(/token budget of 5 tokens/);
  });

  it('answers 500 internal_error naming the failed provider when the model fails beyond retries', async () => {
    const response = await post(app, '/v1/agents/broken/invoke', { input: 'hi' });
    expect(response.status).toBe(500);
    const error = (await response.json()).error;
    expect(error.code).toBe('internal_error');
    expect(error.message).toMatch(/mock\/fail/);
  }, 30_000);

  it('falls back to the next model of the chain', async () => {
    const response = await post(app, '/v1/agents/resilient/invoke', { input: 'still here' });
    expect(response.status).toBe(200);
    expect((await response.json()).output).toBe('Echo: still here');
  }, 30_000);

  it('sends an error event, not done, when the model fails mid-call while streaming', async () => {
    const response = await post(app, '/v1/agents/broken/stream', { input: 'hi' });
    expect(response.status).toBe(200);
    const { events } = await readSse(response);
    expect(events).toEqual([{ type: 'error', code: 'internal_error', message: expect.stringMatching(/mock\/fail/) }]);
  }, 30_000);

  it('audits every stateless call with caller and correlation id, without content by default', async () => {
    const response = await post(
      app,
      '/v1/agents/greeter/invoke',
      { input: 'audit me', options: { variables: { customer: 'Ada' } } },
      {
        'X-Correlation-ID': 'audit-check-1',
      },
    );
    expect(response.status).toBe(200);
    const client = await connect(databaseUrl);
    try {
      const { rows } = await client.query('SELECT * FROM invocations WHERE correlation_id = $1', ['audit-check-1']);
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({
        agent: 'greeter',
        endpoint: 'invoke',
        principal: 'anonymous',
        status: 'completed',
        input_tokens: 7,
        output_tokens: 3,
        input: null,
        output: null,
      });
    } finally {
      await client.end();
    }
  });

  it('counts tokens and requests per agent, and unknown agents as "unknown"', async () => {
    await post(app, '/v1/agents/greeter/invoke', { input: 'count me', options: { variables: { customer: 'Ada' } } });
    await post(app, '/v1/agents/not-a-real-one/invoke', { input: 'x' });
    const text = await (await fetch(`${app.url}/v1/metrics`)).text();
    expect(text).toMatch(/agentspec_tokens_total\{agent="greeter",type="input"\} \d+/);
    expect(text).toMatch(/agentspec_requests_total\{agent="greeter",endpoint="invoke",status="200"\} \d+/);
    expect(text).toMatch(/agentspec_requests_total\{agent="unknown",endpoint="invoke",status="404"\} \d+/);
    expect(text).toMatch(/agentspec_errors_total\{agent="unknown",code="not_found"\} \d+/);
    expect(text).not.toContain('not-a-real-one');
  });

  it('treats a client that leaves a JSON call early as cancelled, not as a server error', async () => {
    const controller = new AbortController();
    const request = fetch(`${app.url}/v1/agents/lagging/invoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'X-Correlation-ID': 'leaves-early' },
      body: JSON.stringify({ input: 'a b c d e f g h' }),
      signal: controller.signal,
    }).catch(() => 'aborted');
    await new Promise((resolve) => setTimeout(resolve, 100));
    controller.abort();
    expect(await request).toBe('aborted');
    await new Promise((resolve) => setTimeout(resolve, 600));
    const lines = app.logs.withCorrelationId('leaves-early');
    expect(lines.filter((line) => line.level === 'error')).toEqual([]);
    expect(lines).toContainEqual(expect.objectContaining({ msg: 'request', status: 499 }));
  });

  it('names the request on the lines written after its awaits: the model call and the access line, per request', async () => {
    // Twenty calls at once: each one's lines carry its own id, none carries another's.
    const ids = Array.from({ length: 20 }, (_, i) => `lines-of-call-${i}`);
    const responses = await Promise.all(
      ids.map((id) =>
        post(app, '/v1/agents/greeter/invoke', { input: id, options: { variables: { customer: 'Ada' } } }, { 'X-Correlation-ID': id }),
      ),
    );
    expect(responses.map((response) => response.status)).toEqual(ids.map(() => 200));
    await new Promise((resolve) => setTimeout(resolve, 50));
    for (const id of ids) {
      const lines = app.logs.withCorrelationId(id);
      expect(lines.map((line) => line.msg).sort()).toEqual(['model call', 'request']);
      expect(lines.find((line) => line.msg === 'model call')).toMatchObject({ agent: 'greeter', principal: 'anonymous', outcome: 'ok' });
    }
  });

  it('names the request on the model call lines of a stream and of a session turn', async () => {
    const stream = await post(
      app,
      '/v1/agents/greeter/stream',
      { input: 'hi', options: { variables: { customer: 'Ada' } } },
      { 'X-Correlation-ID': 'lines-of-stream' },
    );
    expect(stream.status).toBe(200);
    await stream.text();
    const created = await (await post(app, '/v1/agents/greeter/sessions', {}, { 'X-Correlation-ID': 'lines-of-create' })).json();
    const turn = await post(
      app,
      `/v1/agents/greeter/sessions/${created.session_id}/continue`,
      { input: 'hi', options: { variables: { customer: 'Ada' } } },
      { 'X-Correlation-ID': 'lines-of-turn' },
    );
    expect(turn.status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 50));
    for (const id of ['lines-of-stream', 'lines-of-turn']) {
      expect(app.logs.withCorrelationId(id)).toContainEqual(
        expect.objectContaining({ msg: 'model call', agent: 'greeter', principal: 'anonymous' }),
      );
    }
    const client = await connect(databaseUrl);
    try {
      const { rows } = await client.query('SELECT role, correlation_id FROM session_messages WHERE session_id = $1 ORDER BY id', [
        created.session_id,
      ]);
      expect(rows).toEqual([
        { role: 'user', correlation_id: 'lines-of-turn' },
        { role: 'assistant', correlation_id: 'lines-of-turn' },
      ]);
      const sessions = await client.query('SELECT correlation_id FROM sessions WHERE id = $1', [created.session_id]);
      expect(sessions.rows).toEqual([{ correlation_id: 'lines-of-create' }]);
    } finally {
      await client.end();
    }
  });

  it('aborts the model call when the client disconnects mid-stream', async () => {
    const response = await post(app, '/v1/agents/slow-talker/stream', { input: 'a b c d e f g h i j k l m n o p' });
    const reader = response.body!.getReader();
    await reader.read();
    await reader.cancel();
    // The audit row says the call was cancelled, not completed: the loop stopped.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const client = await connect(databaseUrl);
    try {
      const { rows } = await client.query("SELECT status, error_code FROM invocations WHERE agent = 'slow-talker'");
      expect(rows).toEqual([{ status: 'cancelled', error_code: 'client_closed' }]);
    } finally {
      await client.end();
    }
  });
});
