import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { NotFoundError, UnavailableError } from '../../src/common/errors/domain-errors.js';
import { KeysController } from '../../src/keys/keys.controller.js';
import { KeysService } from '../../src/keys/keys.service.js';
import { AUTH, expectError, expectUnauthorized, KEY_PRINCIPAL, startSlice, USER_AUTH, type Slice } from './slice.js';
import { strictFake } from './strict-fake.js';

const keys = strictFake<KeysService>('KeysService')('create', 'list', 'revoke');

const LISTED = {
  id: 'mk_01JD3Q8Z4N5V6W7X8Y9Z0A1B2C',
  name: 'ci',
  prefix: 'ask_Q2xhdWRl',
  role: 'user' as const,
  agents: ['chat'],
  status: 'active' as const,
  expires_at: null,
  created_at: '2030-01-01T00:00:00.000Z',
  created_by: KEY_PRINCIPAL.id,
  revoked_at: null,
};

describe('KeysController slice', () => {
  let slice: Slice;

  beforeAll(async () => {
    slice = await startSlice({ controllers: [KeysController], providers: [{ provide: KeysService, useValue: keys.instance }] });
  });
  afterAll(() => slice?.close());
  afterEach(() => {
    try {
      keys.verify();
    } finally {
      keys.reset();
    }
  });

  describe('POST /v1/keys', () => {
    it('creates a key for the caller: 201 with the key, the body passed on as validated', async () => {
      const created = { ...LISTED, key: `ask_${'k'.repeat(43)}` };
      keys.on('create', async () => created);

      const response = await slice
        .http()
        .post('/v1/keys')
        .set(AUTH)
        .send({ name: 'ci', agents: ['chat'], expires_in: '30d' });

      expect(response.status).toBe(201);
      expect(response.body).toEqual(created);
      const [call] = keys.callsTo('create');
      expect(call.args).toEqual([{ name: 'ci', agents: ['chat'], expires_in: '30d' }, KEY_PRINCIPAL.id]);
    });

    it.each([
      ['no body', undefined, 'name'],
      ['a number for a name', { name: 7 }, 'name'],
      ['a name over 200 characters', { name: 'n'.repeat(201) }, 'name'],
      ['an unknown role', { name: 'x', role: 'root' }, 'role'],
      ['an empty agent name', { name: 'x', agents: [''] }, 'agents'],
      ['a duration with milliseconds', { name: 'x', expires_in: '500ms' }, 'expires_in'],
      ['a date without a time', { name: 'x', expires_at: '2030-01-01' }, 'expires_at'],
      ['an unknown field', { name: 'x', key: 'ask_mine' }, 'key'],
    ])('refuses %s with 400 and calls nothing', async (_label, body, field) => {
      const request = slice.http().post('/v1/keys').set(AUTH);
      const response = await (body === undefined ? request : request.send(body));

      const error = expectError(response, 400, 'invalid_request');
      expect(error.details?.map((detail) => detail.field)).toContain(field);
      expect(keys.calls).toEqual([]);
    });
  });

  describe('GET /v1/keys', () => {
    it('lists the keys', async () => {
      keys.on('list', async () => ({ keys: [LISTED] }));

      const response = await slice.http().get('/v1/keys').set(AUTH);

      expect(response.status).toBe(200);
      expect(response.body).toEqual({ keys: [LISTED] });
    });

    it('answers 503 with Retry-After when the database is unavailable', async () => {
      keys.on('list', async () => {
        throw new UnavailableError();
      });

      const response = await slice.http().get('/v1/keys').set(AUTH);

      expectError(response, 503, 'unavailable');
      expect(response.headers['retry-after']).toBe('5');
    });
  });

  describe('DELETE /v1/keys/:id', () => {
    it('revokes: 204 without a body', async () => {
      keys.on('revoke', async () => ({ ...LISTED, status: 'revoked', revoked_at: '2030-01-02T00:00:00.000Z' }));

      const response = await slice.http().delete(`/v1/keys/${LISTED.id}`).set(AUTH);

      expect(response.status).toBe(204);
      expect(response.text).toBe('');
      expect(keys.callsTo('revoke')[0].args).toEqual([LISTED.id]);
    });

    it('answers 404 for an unknown key', async () => {
      keys.on('revoke', async (id) => {
        throw new NotFoundError(`API key '${id}' does not exist.`);
      });

      const response = await slice.http().delete('/v1/keys/mk_unknown').set(AUTH);

      expect(expectError(response, 404, 'not_found').message).toBe("API key 'mk_unknown' does not exist.");
    });
  });

  describe('who may call', () => {
    it.each([
      ['GET', '/v1/keys'],
      ['POST', '/v1/keys'],
      ['DELETE', `/v1/keys/${LISTED.id}`],
    ])('%s %s: 401 without credentials', async (method, path) => {
      expectUnauthorized(await slice.http()[method === 'GET' ? 'get' : method === 'POST' ? 'post' : 'delete'](path));
      expect(keys.calls).toEqual([]);
    });

    it.each([
      ['GET', '/v1/keys', undefined],
      ['POST', '/v1/keys', { name: 'escalate', role: 'admin' }],
      ['POST', '/v1/keys', { not: 'even valid' }],
      ['DELETE', `/v1/keys/${LISTED.id}`, undefined],
    ])('%s %s: 403 forbidden for a user principal, before validation, calling nothing', async (method, path, body) => {
      const http = slice.http();
      const request = (method === 'GET' ? http.get(path) : method === 'POST' ? http.post(path) : http.delete(path)).set(USER_AUTH);

      const response = await (body === undefined ? request : request.send(body));

      expectError(response, 403, 'forbidden');
      expect(keys.calls).toEqual([]);
    });
  });
});
