import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ForbiddenError, NotFoundError, SessionBusyError, UnavailableError } from '../../src/common/errors/domain-errors.js';
import type { AgentCall } from '../../src/runtime/agent-call.js';
import type { RunOptions } from '../../src/runtime/agent-runner.js';
import { SessionsController } from '../../src/sessions/sessions.controller.js';
import { SessionsService } from '../../src/sessions/sessions.service.js';
import { AUTH, expectError, expectUnauthorized, KEY_PRINCIPAL, startSlice, type Slice, USER_AUTH, USER_PRINCIPAL } from './slice.js';
import { strictFake } from './strict-fake.js';

const sessions = strictFake<SessionsService>('SessionsService')('create', 'list', 'continue', 'history', 'delete');

const BASE = '/v1/agents/chat/sessions';
const CREATED_AT = '2030-01-01T00:00:00.000Z';

const call = (input: string, extra: Partial<AgentCall> = {}): AgentCall => ({
  input,
  variables: {},
  temperature: undefined,
  maxTokens: undefined,
  ...extra,
});

const summary = (id: string, turns = 0) => ({
  session_id: id,
  agent: 'chat',
  turns,
  created_at: CREATED_AT,
  last_active_at: CREATED_AT,
  metadata: {},
});

const turnAnswer = (turn: number) => ({
  output: 'Echo: hi',
  usage: { input_tokens: 3, output_tokens: 2, total_tokens: 5 },
  turn,
  tool_calls: [],
  duration_ms: 7,
  finish_reason: 'stop',
});

describe('SessionsController slice', () => {
  let slice: Slice;

  beforeAll(async () => {
    slice = await startSlice({ controllers: [SessionsController], providers: [{ provide: SessionsService, useValue: sessions.instance }] });
  });
  afterAll(() => slice?.close());
  afterEach(() => {
    try {
      sessions.verify();
    } finally {
      sessions.reset();
    }
  });

  describe('POST /v1/agents/:name/sessions (create)', () => {
    it('creates a session for the caller with its metadata', async () => {
      const created = { session_id: 'sess_new', agent: 'chat', created_at: CREATED_AT, metadata: { customer: 'c-42' } };
      sessions.on('create', async () => created);

      const response = await slice
        .http()
        .post(BASE)
        .set(AUTH)
        .set('X-Correlation-ID', 'slice-create-1')
        .send({ metadata: { customer: 'c-42' } });

      expect(response.status).toBe(200);
      expect(response.body).toEqual(created);
      const [create] = sessions.callsTo('create');
      expect(create.args).toEqual(['chat', { customer: 'c-42' }, KEY_PRINCIPAL, 'slice-create-1']);
    });

    it('accepts a request without a body (no metadata)', async () => {
      sessions.on('create', async () => ({ session_id: 'sess_new', agent: 'chat', created_at: CREATED_AT, metadata: {} }));

      const response = await slice.http().post(BASE).set(AUTH);

      expect(response.status).toBe(200);
      expect(sessions.callsTo('create')[0].args).toEqual(['chat', undefined, KEY_PRINCIPAL, response.headers['x-correlation-id']]);
    });

    it('refuses metadata with a non-string value', async () => {
      const response = await slice
        .http()
        .post(BASE)
        .set(AUTH)
        .send({ metadata: { customer: 42 } });

      const error = expectError(response, 400, 'invalid_request');
      expect(error.details).toEqual([{ field: 'metadata', message: 'metadata must be an object of string values' }]);
      expect(sessions.calls).toEqual([]);
    });

    it('refuses a request without credentials', async () => {
      expectUnauthorized(await slice.http().post(BASE).send({}));
      expect(sessions.calls).toEqual([]);
    });

    it('answers 404 for an unknown agent', async () => {
      sessions.on('create', async () => {
        throw new NotFoundError("Agent 'ghost' does not exist.");
      });

      const response = await slice.http().post('/v1/agents/ghost/sessions').set(AUTH).send({});

      expect(expectError(response, 404, 'not_found').message).toBe("Agent 'ghost' does not exist.");
      expect(sessions.callsTo('create')[0].args[0]).toBe('ghost');
    });

    it('answers 503 with Retry-After while the database is unavailable', async () => {
      sessions.on('create', async () => {
        throw new UnavailableError();
      });

      const response = await slice.http().post(BASE).set(AUTH).send({});

      expectError(response, 503, 'unavailable');
      expect(response.headers['retry-after']).toBe('5');
    });
  });

  describe('GET /v1/agents/:name/sessions (list)', () => {
    it('passes the default page when no query is given', async () => {
      sessions.on('list', async () => ({ sessions: [summary('sess_a', 2)], total: 1 }));

      const response = await slice.http().get(BASE).set(AUTH);

      expect(response.status).toBe(200);
      expect(response.body).toEqual({ sessions: [summary('sess_a', 2)], total: 1 });
      expect(sessions.callsTo('list')[0].args).toEqual(['chat', KEY_PRINCIPAL, 20, 0]);
    });

    it('converts limit and offset from the query string to numbers', async () => {
      sessions.on('list', async () => ({ sessions: [], total: 0 }));

      const response = await slice.http().get(`${BASE}?limit=5&offset=10`).set(AUTH);

      expect(response.status).toBe(200);
      expect(sessions.callsTo('list')[0].args).toEqual(['chat', KEY_PRINCIPAL, 5, 10]);
    });

    it.each([
      ['limit=0', 'limit'],
      ['limit=101', 'limit'],
      ['limit=abc', 'limit'],
      ['offset=-1', 'offset'],
      ['cursor=x', 'cursor'],
    ])('refuses ?%s with 400 naming %s', async (query, field) => {
      const response = await slice.http().get(`${BASE}?${query}`).set(AUTH);

      const error = expectError(response, 400, 'invalid_request');
      expect(error.details?.map((detail) => detail.field)).toContain(field);
      expect(sessions.calls).toEqual([]);
    });

    it('refuses a request without credentials', async () => {
      expectUnauthorized(await slice.http().get(BASE));
      expect(sessions.calls).toEqual([]);
    });
  });

  describe.each([
    ['continue', (id: string) => `${BASE}/${id}/continue`],
    ['the continue alias', (id: string) => `${BASE}/${id}`],
  ])('POST %s', (_label, path) => {
    it('runs a turn with the normalised call, as the caller, with an abort signal', async () => {
      sessions.on('continue', async () => turnAnswer(3));

      const response = await slice
        .http()
        .post(path('sess_abc'))
        .set(AUTH)
        .send({ input: 'hi', options: { temperature: 0, variables: { customer: 'Ada' } } });

      expect(response.status).toBe(200);
      expect(response.body).toEqual(turnAnswer(3));
      const [continued] = sessions.callsTo('continue');
      expect(continued.args.slice(0, 5)).toEqual([
        'chat',
        'sess_abc',
        call('hi', { temperature: 0, variables: { customer: 'Ada' } }),
        KEY_PRINCIPAL,
        response.headers['x-correlation-id'],
      ]);
      const options = continued.args[5] as RunOptions;
      expect(options.signal).toBeInstanceOf(AbortSignal);
      expect(options.signal!.aborted).toBe(false);
    });

    it.each([
      ['no input', {}, 'input'],
      ['temperature 3', { input: 'x', options: { temperature: 3 } }, 'options.temperature'],
      ['an unknown field', { input: 'x', session: 'y' }, 'session'],
    ])('refuses %s with 400 naming the field', async (_case, body, field) => {
      const response = await slice.http().post(path('sess_abc')).set(AUTH).send(body);

      const error = expectError(response, 400, 'invalid_request');
      expect(error.details?.map((detail) => detail.field)).toContain(field);
      expect(sessions.calls).toEqual([]);
    });

    it('refuses a request without credentials', async () => {
      expectUnauthorized(await slice.http().post(path('sess_abc')).send({ input: 'x' }));
      expect(sessions.calls).toEqual([]);
    });

    it('answers 409 with Retry-After while another turn runs', async () => {
      sessions.on('continue', async () => {
        throw new SessionBusyError("Session 'sess_abc' is answering another turn.", 2);
      });

      const response = await slice.http().post(path('sess_abc')).set(AUTH).send({ input: 'x' });

      expect(expectError(response, 409, 'session_busy').message).toBe("Session 'sess_abc' is answering another turn.");
      expect(response.headers['retry-after']).toBe('2');
    });
  });

  describe('GET /v1/agents/:name/sessions/:id (history)', () => {
    it('answers the stored conversation', async () => {
      const history = {
        ...summary('sess_abc', 1),
        messages: [
          { turn: 1, role: 'user', content: 'hi', created_at: CREATED_AT },
          {
            turn: 1,
            role: 'assistant',
            content: 'Echo: hi',
            created_at: CREATED_AT,
            usage: { input_tokens: 1, output_tokens: 2, total_tokens: 3 },
          },
        ],
      };
      sessions.on('history', async () => history as Awaited<ReturnType<SessionsService['history']>>);

      const response = await slice.http().get(`${BASE}/sess_abc`).set(AUTH);

      expect(response.status).toBe(200);
      expect(response.body).toEqual(history);
      expect(sessions.callsTo('history')[0].args).toEqual(['chat', 'sess_abc', KEY_PRINCIPAL]);
    });

    it('refuses an id holding a NUL character', async () => {
      const response = await slice.http().get(`${BASE}/sess%00abc`).set(AUTH);

      expect(expectError(response, 400, 'invalid_request').message).toMatch(/NUL/);
      expect(sessions.calls).toEqual([]);
    });

    it('refuses a request without credentials', async () => {
      expectUnauthorized(await slice.http().get(`${BASE}/sess_abc`));
      expect(sessions.calls).toEqual([]);
    });

    it('answers 404 for an unknown session', async () => {
      sessions.on('history', async () => {
        throw new NotFoundError("Session 'sess_gone' does not exist or has expired.");
      });

      const response = await slice.http().get(`${BASE}/sess_gone`).set(AUTH);

      expect(expectError(response, 404, 'not_found').message).toBe("Session 'sess_gone' does not exist or has expired.");
    });
  });

  describe('DELETE /v1/agents/:name/sessions/:id', () => {
    it('answers 204 without a body', async () => {
      sessions.on('delete', async () => undefined);

      const response = await slice.http().delete(`${BASE}/sess_abc`).set(AUTH);

      expect(response.status).toBe(204);
      expect(response.text).toBe('');
      expect(sessions.callsTo('delete')[0].args).toEqual(['chat', 'sess_abc', KEY_PRINCIPAL]);
    });

    it('refuses an agent name holding a NUL character', async () => {
      const response = await slice.http().delete('/v1/agents/ch%00at/sessions/sess_abc').set(AUTH);

      expectError(response, 400, 'invalid_request');
      expect(sessions.calls).toEqual([]);
    });

    it('refuses a request without credentials', async () => {
      expectUnauthorized(await slice.http().delete(`${BASE}/sess_abc`));
      expect(sessions.calls).toEqual([]);
    });

    it('answers 404 for a session already deleted', async () => {
      sessions.on('delete', async () => {
        throw new NotFoundError("Session 'sess_abc' does not exist or has expired.");
      });

      expectError(await slice.http().delete(`${BASE}/sess_abc`).set(AUTH), 404, 'not_found');
    });
  });

  describe('403 forbidden: the service decides, as the caller', () => {
    const refuse = async (): Promise<never> => {
      throw new ForbiddenError("You may not use agent 'chat'.");
    };
    it.each([
      ['create', 'post', BASE, { metadata: { a: 'b' } }, 2],
      ['list', 'get', BASE, undefined, 1],
      ['continue', 'post', `${BASE}/sess_abc/continue`, { input: 'x' }, 3],
      ['history', 'get', `${BASE}/sess_abc`, undefined, 2],
      ['delete', 'delete', `${BASE}/sess_abc`, undefined, 2],
    ] as const)('%s answers the envelope with 403 and hands the service the principal', async (method, verb, path, body, principalAt) => {
      sessions.on(method, refuse);

      const request = slice.http()[verb](path).set(USER_AUTH);
      const response = await (body ? request.send(body) : request);

      expect(expectError(response, 403, 'forbidden').message).toBe("You may not use agent 'chat'.");
      expect(sessions.callsTo(method)[0].args[principalAt]).toEqual(USER_PRINCIPAL);
    });
  });
});
