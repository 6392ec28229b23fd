import { connect as connectTcp } from 'node:net';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/database.js';
import { post } from '../support/http.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

const KEY = 'hostile-input-key-0123456789abcdef';
const AUTH = { 'X-API-Key': KEY };
const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;

/** `{"a":{"a":…{"a":1}…}}`: an object `levels` deep, as text (JSON.stringify would overflow). */
function nested(levels: number): string {
  return '{"a":'.repeat(levels - 1) + '{"a":1}' + '}'.repeat(levels - 1);
}

/** The answer is an error envelope with this status and code, and carries a correlation id. */
async function expectEnvelope(response: Response, status: number, code: string): Promise<{ code: string; message: string; details?: unknown }> {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
  expect(response.headers.get('x-correlation-id')).toMatch(ULID);
  const body = (await response.json()) as { error: { code: string; message: string; details?: unknown } };
  expect(body.error.code).toBe(code);
  expect(typeof body.error.message).toBe('string');
  return body.error;
}

/** Sends `request` as raw bytes and returns everything the server wrote before closing. */
function rawExchange(app: TestApp, request: string): Promise<string> {
  const { hostname, port } = new URL(app.url);
  return new Promise((resolve, reject) => {
    const socket = connectTcp(Number(port), hostname);
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
    socket.end(request);
  });
}

function parseRaw(raw: string): { status: number; headers: Record<string, string>; body: unknown } {
  const [head, body] = raw.split('\r\n\r\n', 2);
  const [statusLine, ...lines] = head.split('\r\n');
  const headers = Object.fromEntries(lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
  return { status: Number(statusLine.split(' ')[1]), headers, body: JSON.parse(body) };
}

describe('hostile input: every client mistake is a documented 4xx with the envelope', () => {
  let app: TestApp;
  let session: string;

  beforeAll(async () => {
    app = await startTestApp({
      databaseUrl: await createTestDatabase(),
      env: { AGENTSPEC_DEFINITIONS: 'test/fixtures/e2e-pipelines', AGENTSPEC_API_KEYS: KEY },
    });
    const created = await post(app, '/v1/agents/quick/sessions', {}, AUTH);
    expect(created.status).toBe(200);
    session = ((await created.json()) as { session_id: string }).session_id;
  });
  afterAll(async () => {
    const health = await fetch(`${app.url}/healthz`);
    expect(health.status).toBe(200);
    await app?.close();
  });

  describe('deep nesting (at most 64 levels)', () => {
    const routes = () => [
      ['invoke', '/v1/agents/quick/invoke', (deep: string) => `{"input":"hi","options":${deep}}`],
      ['session create', '/v1/agents/quick/sessions', (deep: string) => `{"metadata":${deep}}`],
      ['continue', `/v1/agents/quick/sessions/${session}/continue`, (deep: string) => `{"input":"hi","options":${deep}}`],
      ['pipeline run', '/v1/pipelines/fan/run', (deep: string) => `{"trigger":${deep}}`],
    ] as const;

    it.each([5_000, 100_000])('refuses a body nested %i levels on every body route, with and without credentials', async (levels) => {
      for (const [, path, body] of routes()) {
        for (const headers of [AUTH, {}]) {
          const error = await expectEnvelope(await post(app, path, body(nested(levels)), headers), 400, 'invalid_request');
          expect(error.message).toBe('The request body nests objects and arrays more than 64 levels deep.');
        }
      }
    });

    it('refuses deeply nested arrays too', async () => {
      const deep = '['.repeat(10_000) + ']'.repeat(10_000);
      await expectEnvelope(await post(app, '/v1/agents/quick/invoke', `{"input":"hi","x":${deep}}`, AUTH), 400, 'invalid_request');
    });

    it('accepts 64 levels and refuses 65', async () => {
      // The body is level 1, so a trigger nested 63 levels makes 64.
      const accepted = await post(app, '/v1/pipelines/fan/run', `{"trigger":${nested(63)},"options":{"async":true}}`, AUTH);
      expect(accepted.status).toBe(202);
      const refused = await post(app, '/v1/pipelines/fan/run', `{"trigger":${nested(64)},"options":{"async":true}}`, AUTH);
      expect((await expectEnvelope(refused, 400, 'invalid_request')).message).toMatch(/64 levels/);
    });
  });

  describe('Content-Encoding', () => {
    const body = JSON.stringify({ input: 'hi' });

    it.each([
      ['gzip', Buffer.from(body)],
      ['deflate', Buffer.from(body)],
      ['br', Buffer.from(body)],
      ['gzip', gzipSync(body).subarray(0, 12)],
      ['deflate', gzipSync(body)],
    ])('answers 400 to bytes that are not %s, before authentication', async (encoding, bytes) => {
      for (const headers of [AUTH, {}]) {
        const response = await fetch(`${app.url}/v1/agents/quick/invoke`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'content-encoding': encoding, ...headers },
          body: bytes,
        });
        const error = await expectEnvelope(response, 400, 'invalid_request');
        expect(error.message).toBe(`The request body could not be decoded as '${encoding}' (its Content-Encoding).`);
      }
    });

    it.each(['compress', 'zstd', 'gzip, br', 'x'.repeat(300)])('answers 415 to the unknown encoding %s', async (encoding) => {
      const response = await fetch(`${app.url}/v1/agents/quick/invoke`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-encoding': encoding },
        body,
      });
      await expectEnvelope(response, 415, 'unsupported_media_type');
    });

    it.each([
      ['gzip', gzipSync(body)],
      ['deflate', deflateSync(body)],
      ['br', brotliCompressSync(body)],
    ])('accepts a body really encoded with %s', async (encoding, bytes) => {
      const response = await fetch(`${app.url}/v1/agents/quick/invoke`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-encoding': encoding, ...AUTH },
        body: bytes,
      });
      expect(response.status).toBe(200);
    });
  });

  describe('lone UTF-16 surrogates are refused, naming the field', () => {
    it.each([
      ['session metadata value', '/v1/agents/quick/sessions', '{"metadata":{"note":"a\\ud800b"}}', "'metadata.note'"],
      ['session metadata value (low half)', '/v1/agents/quick/sessions', '{"metadata":{"note":"\\udc00"}}', "'metadata.note'"],
      ['session metadata key', '/v1/agents/quick/sessions', '{"metadata":{"n\\ud800":"x"}}', "A key in 'metadata'"],
      ['invoke input', '/v1/agents/quick/invoke', '{"input":"hi \\ud83d"}', "'input'"],
      ['invoke variables', '/v1/agents/quick/invoke', '{"input":"hi","options":{"variables":{"who":"\\udfff"}}}', "'options.variables.who'"],
      ['pipeline input', '/v1/pipelines/fan/run', '{"input":"\\ud800"}', "'input'"],
      ['pipeline trigger', '/v1/pipelines/fan/run', '{"trigger":{"list":["ok","\\ud800"]}}', "'trigger.list.1'"],
    ])('%s', async (_label, path, body, field) => {
      const error = await expectEnvelope(await post(app, path, body, AUTH), 400, 'invalid_request');
      expect(error.message).toBe(`${field} must not contain a lone UTF-16 surrogate (\\ud800-\\udfff without its pair).`);
    });

    it('on continue, and nothing of the turn is stored', async () => {
      const path = `/v1/agents/quick/sessions/${session}/continue`;
      const error = await expectEnvelope(await post(app, path, '{"input":"\\ud800"}', AUTH), 400, 'invalid_request');
      expect(error.message).toMatch(/^'input' must not contain a lone UTF-16 surrogate/);
      const history = (await (await fetch(`${app.url}/v1/agents/quick/sessions/${session}`, { headers: AUTH })).json()) as { turns: number };
      expect(history.turns).toBe(0);
    });

    it('accepts a correct surrogate pair and stores it', async () => {
      const response = await post(app, '/v1/agents/quick/sessions', '{"metadata":{"mood":"\\ud83d\\ude00"}}', AUTH);
      expect(response.status).toBe(200);
      const created = (await response.json()) as { session_id: string; metadata: Record<string, string> };
      expect(created.metadata).toEqual({ mood: '😀' });
      const stored = (await (await fetch(`${app.url}/v1/agents/quick/sessions/${created.session_id}`, { headers: AUTH })).json()) as { metadata: unknown };
      expect(stored.metadata).toEqual({ mood: '😀' });
    });
  });

  describe('pagination takes plain decimal integers', () => {
    it.each([
      ['offset=1e3', 'offset must be a whole number from 0 to 9007199254740991, written in decimal digits only'],
      ['offset=0x10', 'offset must be a whole number from 0 to 9007199254740991, written in decimal digits only'],
      ['offset=%2B5', 'offset must be a whole number from 0 to 9007199254740991, written in decimal digits only'],
      ['offset=%205', 'offset must be a whole number from 0 to 9007199254740991, written in decimal digits only'],
      ['offset=', 'offset must be a whole number from 0 to 9007199254740991, written in decimal digits only'],
      ['offset=-1', 'offset must be a whole number from 0 to 9007199254740991, written in decimal digits only'],
      ['offset=9007199254740992', 'offset must be a whole number from 0 to 9007199254740991, written in decimal digits only'],
      ['offset=9223372036854775808', 'offset must be a whole number from 0 to 9007199254740991, written in decimal digits only'],
      ['offset=99999999999999999999999999', 'offset must be a whole number from 0 to 9007199254740991, written in decimal digits only'],
      ['offset=1&offset=2', 'offset must be given at most once'],
      ['limit=1.0', 'limit must be a whole number from 1 to 100, written in decimal digits only'],
      ['limit=101', 'limit must be a whole number from 1 to 100, written in decimal digits only'],
      ['limit=Infinity', 'limit must be a whole number from 1 to 100, written in decimal digits only'],
    ])('refuses ?%s', async (query, message) => {
      for (const path of ['/v1/agents/quick/sessions', '/v1/pipelines/fan/runs']) {
        const error = await expectEnvelope(await fetch(`${app.url}${path}?${query}`, { headers: AUTH }), 400, 'invalid_request');
        expect(error.message).toBe(message);
      }
    });

    it.each(['offset=05&limit=007', 'offset=9007199254740991&limit=100', 'offset=0&limit=1'])('accepts ?%s', async (query) => {
      for (const path of ['/v1/agents/quick/sessions', '/v1/pipelines/fan/runs']) {
        const response = await fetch(`${app.url}${path}?${query}`, { headers: AUTH });
        expect(response.status).toBe(200);
      }
    });
  });

  describe('errors raised by Node before any route', () => {
    it('answers headers over the limit with 431 and the envelope', async () => {
      const raw = await rawExchange(app, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Filler: ${'a'.repeat(20_000)}\r\n\r\n`);
      const answer = parseRaw(raw);
      expect(answer.status).toBe(431);
      expect(answer.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(answer.headers['x-correlation-id']).toMatch(ULID);
      expect(answer.headers.connection).toBe('close');
      expect(answer.body).toEqual({ error: { code: 'headers_too_large', message: 'The request line and headers are larger than the server accepts.' } });
    });

    it.each([
      ['a request line with no path', 'GET\r\n\r\n'],
      ['a space inside the path', 'GET /a b HTTP/1.1\r\nHost: x\r\n\r\n'],
      ['two different Content-Length headers', 'POST /v1/agents/quick/invoke HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n'],
      ['garbage', 'HELLO THERE\r\n\r\n'],
      ['a header without a colon', 'GET /healthz HTTP/1.1\r\nHost x\r\n\r\n'],
      ['a bad chunk size', 'POST /v1/agents/quick/invoke HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n'],
    ])('answers %s with 400 and the envelope', async (_label, request) => {
      const answer = parseRaw(await rawExchange(app, request));
      expect(answer.status).toBe(400);
      expect(answer.headers['x-correlation-id']).toMatch(ULID);
      expect(answer.body).toEqual({ error: { code: 'invalid_request', message: 'The request is not well-formed HTTP.' } });
    });

    it('still serves after the refusals', async () => {
      expect((await fetch(`${app.url}/healthz`)).status).toBe(200);
    });
  });

  describe('client text in messages is shortened to 64 characters', () => {
    const long = 'x'.repeat(5_000);
    const shortened = `${'x'.repeat(64)}…`;

    it('an unknown agent name', async () => {
      const error = await expectEnvelope(await post(app, `/v1/agents/${long}/invoke`, { input: 'hi' }, AUTH), 404, 'not_found');
      expect(error.message).toBe(`Agent '${shortened}' does not exist.`);
    });

    it('an unknown session id', async () => {
      const error = await expectEnvelope(await post(app, `/v1/agents/quick/sessions/${long}/continue`, { input: 'hi' }, AUTH), 404, 'not_found');
      expect(error.message).toBe(`Session '${shortened}' does not exist or has expired.`);
    });

    it('an unknown pipeline and run id', async () => {
      const pipeline = await expectEnvelope(await fetch(`${app.url}/v1/pipelines/${long}/status`, { headers: AUTH }), 404, 'not_found');
      expect(pipeline.message).toBe(`Pipeline '${shortened}' does not exist.`);
      const run = await expectEnvelope(await fetch(`${app.url}/v1/pipelines/fan/status?run_id=${long}`, { headers: AUTH }), 404, 'not_found');
      expect(run.message).toBe(`Run '${shortened}' of pipeline 'fan' does not exist.`);
    });

    it('an unknown field name', async () => {
      const error = await expectEnvelope(await post(app, '/v1/agents/quick/invoke', { input: 'hi', [long]: 1 }, AUTH), 400, 'invalid_request');
      expect(error.message).toBe(`property ${shortened} should not exist`);
      expect(error.details).toEqual([{ field: shortened, message: `property ${shortened} should not exist` }]);
    });

    it('a path segment that is not valid percent-encoding is not quoted at all', async () => {
      const encoded = '%C0%AE'.repeat(200);
      const error = await expectEnvelope(await fetch(`${app.url}/v1/agents/${encoded}/sessions`, { headers: AUTH }), 400, 'invalid_request');
      expect(error.message).toBe('A path segment is not valid percent-encoded UTF-8.');
    });

    it('the path of a 405', async () => {
      const error = await expectEnvelope(await fetch(`${app.url}/v1/agents/quick/sessions/${long}`, { method: 'PUT', headers: AUTH }), 405, 'method_not_allowed');
      expect(error.message.length).toBeLessThan(200);
    });
  });

  describe('a body that is JSON but not an object', () => {
    it.each(['null', '42', '"text"', 'true', '[]', '[{"input":"hi"}]'])('%s is refused as not an object, before authentication', async (body) => {
      for (const headers of [AUTH, {}]) {
        const error = await expectEnvelope(await post(app, '/v1/agents/quick/invoke', body, headers), 400, 'invalid_request');
        expect(error.message).toBe('The request body must be a JSON object.');
      }
    });

    it('a syntax error is still "not valid JSON"', async () => {
      const error = await expectEnvelope(await post(app, '/v1/agents/quick/invoke', '{"input":', AUTH), 400, 'invalid_request');
      expect(error.message).toBe('The request body is not valid JSON.');
    });
  });

  describe('session metadata limits: 32 keys, keys of 64 characters, values of 1,024', () => {
    const create = (metadata: Record<string, string>) => post(app, '/v1/agents/quick/sessions', { metadata }, AUTH);
    const keys = (count: number) => Object.fromEntries(Array.from({ length: count }, (_, index) => [`k${index}`, 'v']));

    it('accepts metadata at every limit', async () => {
      expect((await create(keys(32))).status).toBe(200);
      expect((await create({ ['k'.repeat(64)]: 'v'.repeat(1024) })).status).toBe(200);
    });

    it.each([
      ['33 keys', keys(33), 'metadata must have at most 32 keys'],
      ['a key of 65 characters', { ['k'.repeat(65)]: 'v' }, `metadata.${'k'.repeat(64)}…: keys of metadata must be at most 64 characters long`],
      ['a value of 1,025 characters', { note: 'v'.repeat(1025) }, 'metadata.note must be at most 1024 characters long'],
    ])('refuses %s', async (_label, metadata, message) => {
      const error = await expectEnvelope(await create(metadata), 400, 'invalid_request');
      expect(error.message).toBe(message);
      expect(error.details).toEqual([{ field: 'metadata', message }]);
    });
  });
});
