import { parseSse } from '../support/sse.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AgentsController } from '../../src/agents/agents.controller.js';
import { AgentsService } from '../../src/agents/agents.service.js';
import { BudgetExceededError, ForbiddenError, NotFoundError, SessionBusyError } from '../../src/common/errors/domain-errors.js';
import type { AgentCall } from '../../src/runtime/agent-call.js';
import type { RunOptions } from '../../src/runtime/agent-runner.js';
import { SESSION_TURNS, type SessionTurns } from '../../src/runtime/session-turns.port.js';
import { agentRunResult, preparedRun, toolCallRecord } from '../factories/agent-run.js';
import { AUTH, expectError, expectUnauthorized, KEY_PRINCIPAL, startSlice, type Slice, USER_AUTH, USER_PRINCIPAL } from './slice.js';
import { strictFake } from './strict-fake.js';

const agents = strictFake<AgentsService>('AgentsService')('list', 'prepare', 'admit', 'invoke');
const sessions = strictFake<SessionTurns>('SessionTurns')('continue', 'begin', 'complete');
const fakes = [agents, sessions];

const call = (input: string, extra: Partial<AgentCall> = {}): AgentCall => ({
  input,
  variables: {},
  temperature: undefined,
  maxTokens: undefined,
  ...extra,
});

describe('AgentsController slice', () => {
  let slice: Slice;

  beforeAll(async () => {
    slice = await startSlice({
      controllers: [AgentsController],
      providers: [
        { provide: AgentsService, useValue: agents.instance },
        { provide: SESSION_TURNS, useValue: sessions.instance },
      ],
    });
  });
  afterAll(() => slice?.close());
  afterEach(() => {
    try {
      for (const fake of fakes) fake.verify();
    } finally {
      for (const fake of fakes) fake.reset();
    }
  });

  describe('GET /v1/agents', () => {
    it('lists the agents the service returns', async () => {
      const list = {
        agents: [
          {
            name: 'greeter',
            model: 'mock/echo',
            models: ['mock/echo'],
            skills: [],
            status: 'ready' as const,
            pipelines: [],
            guardrails: [],
          },
        ],
      };
      agents.on('list', async () => list);

      const response = await slice.http().get('/v1/agents').set(AUTH);

      expect(response.status).toBe(200);
      expect(response.body).toEqual(list);
      expect(agents.callsTo('list')).toHaveLength(1);
      expect(agents.callsTo('list')[0].args).toEqual([KEY_PRINCIPAL, response.headers['x-correlation-id']]);
    });

    it("asks for the list as the caller, so a user block's key gets the list of its principal", async () => {
      agents.on('list', async () => ({ agents: [] }));

      const response = await slice.http().get('/v1/agents').set(USER_AUTH);

      expect(response.status).toBe(200);
      expect(response.body).toEqual({ agents: [] });
      expect(agents.callsTo('list')[0].args).toEqual([USER_PRINCIPAL, expect.any(String)]);
      expect(USER_PRINCIPAL).toMatchObject({ kind: 'user_key', id: 'user:slice-user', roles: ['user'] });
    });

    it('refuses a request without credentials with 401 and WWW-Authenticate', async () => {
      const response = await slice.http().get('/v1/agents');

      expectUnauthorized(response);
      expect(agents.calls).toEqual([]);
    });

    it('refuses a wrong key like a missing one', async () => {
      expectUnauthorized(await slice.http().get('/v1/agents').set('X-API-Key', 'not-the-key-at-all'));
      expectUnauthorized(await slice.http().get('/v1/agents').set('Authorization', 'Bearer not-the-key-at-all'));
      expect(agents.calls).toEqual([]);
    });

    it('takes no input: an unsupported method is answered 405 with Allow', async () => {
      const response = await slice.http().delete('/v1/agents').set(AUTH);

      expectError(response, 405, 'method_not_allowed');
      expect(response.headers.allow).toBe('GET, HEAD');
      expect(agents.calls).toEqual([]);
    });
  });

  describe('POST /v1/agents/:name/invoke', () => {
    it('prepares the normalised call, runs it as the caller and answers in snake_case', async () => {
      const prepared = preparedRun('greeter');
      agents.on('prepare', () => prepared);
      agents.on('invoke', async () =>
        agentRunResult({
          output: 'Echo: hi',
          toolCalls: [toolCallRecord({ error: 'boom' })],
          turns: 2,
          durationMs: 40,
          finishReason: 'length',
        }),
      );

      const response = await slice
        .http()
        .post('/v1/agents/greeter/invoke')
        .set('Authorization', `Bearer ${AUTH['X-API-Key']}`)
        .set('X-Correlation-ID', 'slice-invoke-1')
        .send({
          message: 'hi',
          variables: { customer: 'Ada' },
          options: { temperature: 0.5, max_tokens: 7, variables: { company: 'Initech' } },
        });

      expect(response.status).toBe(200);
      expect(response.body).toEqual({
        output: 'Echo: hi',
        usage: { input_tokens: 3, output_tokens: 2, total_tokens: 5 },
        tool_calls: [{ name: 'lookup', arguments: { query: 'cats' }, output: '3 cats', duration_ms: 4, error: 'boom' }],
        turns: 2,
        duration_ms: 40,
        finish_reason: 'length',
      });
      expect(agents.callsTo('prepare').map((c) => c.args)).toEqual([
        ['greeter', call('hi', { variables: { customer: 'Ada', company: 'Initech' }, temperature: 0.5, maxTokens: 7 }), KEY_PRINCIPAL],
      ]);
      const [invoke] = agents.callsTo('invoke');
      // The request's correlation id goes with the call: the audit row and log lines name it.
      expect(invoke.args.slice(0, 4)).toEqual([prepared, KEY_PRINCIPAL, 'invoke', 'slice-invoke-1']);
      const options = invoke.args[4] as RunOptions;
      expect(options.signal).toBeInstanceOf(AbortSignal);
      expect(options.signal!.aborted).toBe(false);
      expect(sessions.calls).toEqual([]);
    });

    it('with session_id makes the call a turn of that session', async () => {
      const turn = {
        output: 'Echo: again',
        usage: { input_tokens: 1, output_tokens: 2, total_tokens: 3 },
        turn: 4,
        tool_calls: [],
        duration_ms: 3,
        finish_reason: 'stop',
      };
      sessions.on('continue', async () => turn);

      const response = await slice.http().post('/v1/agents/greeter/invoke').set(AUTH).send({ input: 'again', session_id: 'sess_abc' });

      expect(response.status).toBe(200);
      expect(response.body).toEqual(turn);
      const [continued] = sessions.callsTo('continue');
      expect(continued.args.slice(0, 5)).toEqual([
        'greeter',
        'sess_abc',
        call('again'),
        KEY_PRINCIPAL,
        response.headers['x-correlation-id'],
      ]);
      expect((continued.args[5] as RunOptions).signal).toBeInstanceOf(AbortSignal);
      expect(agents.callsTo('prepare')).toEqual([]);
      expect(agents.calls).toEqual([]);
    });

    it.each([
      ['no input', {}, 'input'],
      ['temperature 3', { input: 'x', options: { temperature: 3 } }, 'options.temperature'],
      ['an unknown field', { input: 'x', mood: 'happy' }, 'mood'],
      ['an empty session_id', { input: 'x', session_id: '' }, 'session_id'],
    ])('refuses %s with 400 invalid_request naming the field', async (_label, body, field) => {
      const response = await slice.http().post('/v1/agents/greeter/invoke').set(AUTH).send(body);

      const error = expectError(response, 400, 'invalid_request');
      expect(error.details?.map((detail) => detail.field)).toContain(field);
      expect(agents.callsTo('prepare')).toEqual([]);
      expect(agents.calls).toEqual([]);
    });

    it('refuses a body that is not a JSON object', async () => {
      const response = await slice.http().post('/v1/agents/greeter/invoke').set(AUTH).set('content-type', 'application/json').send('["x"]');

      expect(expectError(response, 400, 'invalid_request').message).toBe('The request body must be a JSON object.');
      expect(agents.callsTo('prepare')).toEqual([]);
    });

    it('refuses a request without credentials before reading the agent', async () => {
      const response = await slice.http().post('/v1/agents/greeter/invoke').send({ input: 'x' });

      expectUnauthorized(response);
      expect(agents.callsTo('prepare')).toEqual([]);
    });

    it('answers 404 when the service does not know the agent', async () => {
      agents.on('prepare', () => {
        throw new NotFoundError("Agent 'ghost' does not exist.");
      });

      const response = await slice.http().post('/v1/agents/ghost/invoke').set(AUTH).send({ input: 'x' });

      expect(expectError(response, 404, 'not_found').message).toBe("Agent 'ghost' does not exist.");
      expect(agents.callsTo('invoke')).toEqual([]);
    });

    it('answers 403 forbidden when the caller may not use the agent, and runs nothing', async () => {
      agents.on('prepare', () => {
        throw new ForbiddenError("You may not use agent 'billing'.");
      });

      const response = await slice.http().post('/v1/agents/billing/invoke').set(USER_AUTH).send({ input: 'x' });

      expect(expectError(response, 403, 'forbidden').message).toBe("You may not use agent 'billing'.");
      expect(agents.callsTo('prepare')[0].args).toEqual(['billing', call('x'), USER_PRINCIPAL]);
      expect(agents.callsTo('invoke')).toEqual([]);
    });

    it('answers 409 with Retry-After when the session is busy', async () => {
      sessions.on('continue', async () => {
        throw new SessionBusyError('busy', 2);
      });

      const response = await slice.http().post('/v1/agents/greeter/invoke').set(AUTH).send({ input: 'x', session_id: 'sess_abc' });

      expectError(response, 409, 'session_busy');
      expect(response.headers['retry-after']).toBe('2');
    });

    it('hides the message of an unexpected failure behind internal_error', async () => {
      agents.on('prepare', () => preparedRun('greeter'));
      agents.on('invoke', async () => {
        throw new Error('relation "secret_table" does not exist');
      });

      const response = await slice.http().post('/v1/agents/greeter/invoke').set(AUTH).send({ input: 'x' });

      expectError(response, 500, 'internal_error');
      expect(response.text).not.toContain('secret_table');
    });
  });

  describe('POST /v1/agents/:name/stream', () => {
    it('streams the events the run emits, then done with the usage', async () => {
      const prepared = preparedRun('greeter');
      agents.on('prepare', () => prepared);
      agents.on('admit', async () => undefined);
      agents.on('invoke', async (_prepared, _principal, _endpoint, _correlationId, options) => {
        await options?.onEvent?.({ type: 'token', content: 'Echo: ' });
        await options?.onEvent?.({ type: 'token', content: 'hi' });
        return agentRunResult({ usage: { inputTokens: 4, outputTokens: 2, totalTokens: 6 } });
      });

      const response = await slice
        .http()
        .post('/v1/agents/greeter/stream')
        .set(AUTH)
        .send({ input: 'hi', options: { max_tokens: 5 } });

      expect(response.status).toBe(200);
      expect(response.headers['content-type']).toBe('text/event-stream; charset=utf-8');
      expect(response.text).toBe(
        'id: 1\nevent: token\ndata: {"type":"token","content":"Echo: "}\n\n' +
          'id: 2\nevent: token\ndata: {"type":"token","content":"hi"}\n\n' +
          'id: 3\nevent: done\ndata: {"type":"done","usage":{"input_tokens":4,"output_tokens":2,"total_tokens":6}}\n\n',
      );
      expect(agents.callsTo('prepare')[0].args).toEqual(['greeter', call('hi', { maxTokens: 5 }), KEY_PRINCIPAL]);
      const [invoke] = agents.callsTo('invoke');
      expect(invoke.args.slice(0, 3)).toEqual([prepared, KEY_PRINCIPAL, 'stream']);
      expect(invoke.args[4]).toMatchObject({ stream: true, admitted: true, signal: expect.any(AbortSignal) });
      expect(agents.callsTo('admit')[0].args).toEqual([prepared, KEY_PRINCIPAL, 'stream', invoke.args[3]]);
    });

    it("answers 429 budget_exceeded as JSON before any event when the agent's budget is spent", async () => {
      agents.on('prepare', () => preparedRun('greeter'));
      agents.on('admit', async () => {
        throw new BudgetExceededError('greeter', 'daily', 5, new Date('2026-12-01T00:00:00Z'), 3600);
      });

      const response = await slice.http().post('/v1/agents/greeter/stream').set(AUTH).send({ input: 'x' });

      expectError(response, 429, 'budget_exceeded');
      expect(response.headers['retry-after']).toBe('3600');
      expect(agents.callsTo('invoke')).toEqual([]);
    });

    it('with session_id claims the turn first, then completes it and reports its number in done', async () => {
      const claimed = { prepared: preparedRun('greeter', call('again')) };
      sessions.on('begin', async () => claimed);
      sessions.on('complete', async () => ({
        result: agentRunResult({ usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 } }),
        turn: 3,
      }));

      const response = await slice.http().post('/v1/agents/greeter/stream').set(AUTH).send({ input: 'again', session_id: 'sess_abc' });

      expect(response.status).toBe(200);
      expect(parseSse(response.text)).toEqual({
        events: [{ type: 'done', usage: { input_tokens: 1, output_tokens: 1, total_tokens: 2 }, turn: 3 }],
        ids: [1],
        names: ['done'],
        comments: [],
      });
      expect(sessions.callsTo('begin')[0].args).toEqual([
        'greeter',
        'sess_abc',
        call('again'),
        KEY_PRINCIPAL,
        response.headers['x-correlation-id'],
      ]);
      const [complete] = sessions.callsTo('complete');
      expect(complete.args.slice(0, 2)).toEqual([claimed, KEY_PRINCIPAL]);
      expect(complete.args[2]).toMatchObject({ stream: true });
      expect(agents.callsTo('prepare')).toEqual([]);
      expect(agents.calls).toEqual([]);
    });

    it('refuses an invalid body as JSON before any event', async () => {
      const response = await slice
        .http()
        .post('/v1/agents/greeter/stream')
        .set(AUTH)
        .send({ input: 'x', options: { max_tokens: 0 } });

      const error = expectError(response, 400, 'invalid_request');
      expect(error.details).toEqual([{ field: 'options.max_tokens', message: 'options.max_tokens must not be less than 1' }]);
      expect(agents.callsTo('prepare')).toEqual([]);
    });

    it('refuses a request without credentials', async () => {
      expectUnauthorized(await slice.http().post('/v1/agents/greeter/stream').send({ input: 'x' }));
      expect(agents.callsTo('prepare')).toEqual([]);
    });

    it('answers 403 forbidden as JSON before any event when the caller may not use the agent', async () => {
      agents.on('prepare', () => {
        throw new ForbiddenError("You may not use agent 'billing'.");
      });

      const response = await slice.http().post('/v1/agents/billing/stream').set(USER_AUTH).send({ input: 'x' });

      expectError(response, 403, 'forbidden');
      expect(response.headers['content-type']).not.toMatch(/event-stream/);
      expect(agents.callsTo('invoke')).toEqual([]);
    });

    it('answers a busy session as a JSON 409 with Retry-After, not as a stream', async () => {
      sessions.on('begin', async () => {
        throw new SessionBusyError('busy', 2);
      });

      const response = await slice.http().post('/v1/agents/greeter/stream').set(AUTH).send({ input: 'x', session_id: 'sess_abc' });

      expectError(response, 409, 'session_busy');
      expect(response.headers['retry-after']).toBe('2');
      expect(sessions.callsTo('complete')).toEqual([]);
    });

    it('ends a stream whose run fails with one error event that hides unexpected details', async () => {
      agents.on('prepare', () => preparedRun('greeter'));
      agents.on('admit', async () => undefined);
      agents.on('invoke', async (_prepared, _principal, _endpoint, _correlationId, options) => {
        await options?.onEvent?.({ type: 'token', content: 'Echo: ' });
        throw new Error('connection string postgres://admin:s3cret@db');
      });

      const response = await slice
        .http()
        .post('/v1/agents/greeter/stream')
        .set(AUTH)
        .set('X-Correlation-ID', 'slice-stream-failed')
        .send({ input: 'x' });

      expect(response.status).toBe(200);
      const { events, names } = parseSse(response.text);
      expect(events).toEqual([
        { type: 'token', content: 'Echo: ' },
        { type: 'error', code: 'internal_error', message: expect.stringMatching(/internal error/) },
      ]);
      expect(names).toEqual(['token', 'error']);
      expect(response.text).not.toContain('s3cret');
      // The cause is logged under the request's correlation id, the way to find it.
      expect(slice.errorLines.filter((line) => line.correlation_id === 'slice-stream-failed')).toEqual([
        expect.objectContaining({
          msg: 'stream failed',
          principal: KEY_PRINCIPAL.id,
          err: expect.objectContaining({ message: expect.any(String) }),
        }),
      ]);
    });

    it('answers an unexpected failure with a generic 500 and logs its cause under the correlation id', async () => {
      agents.on('prepare', () => preparedRun('greeter'));
      agents.on('invoke', async () => {
        throw new TypeError('cannot read properties of undefined');
      });

      const response = await slice
        .http()
        .post('/v1/agents/greeter/invoke')
        .set(AUTH)
        .set('X-Correlation-ID', 'slice-unhandled')
        .send({ input: 'x' });

      const error = expectError(response, 500, 'internal_error');
      expect(error.message).not.toContain('cannot read');
      expect(slice.errorLines.filter((line) => line.correlation_id === 'slice-unhandled')).toEqual([
        expect.objectContaining({
          msg: 'unhandled error',
          principal: KEY_PRINCIPAL.id,
          err: expect.objectContaining({ message: 'cannot read properties of undefined' }),
        }),
      ]);
    });
  });
});
