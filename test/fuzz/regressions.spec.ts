import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/database.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

/** Cases the fuzz suite found, kept as fixed requests. */

const KEY = 'fuzz-regression-key-0123456789';

/** Sends `request` as raw bytes and returns everything the server wrote before closing. */
function rawExchange(app: TestApp, request: string): Promise<string> {
  const { hostname, port } = new URL(app.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
    socket.end(request);
  });
}

describe('fuzz regressions', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp({
      databaseUrl: await createTestDatabase(),
      env: { AGENTSPEC_DEFINITIONS: 'agents', AGENTSPEC_API_KEYS: KEY },
    });
  });
  afterAll(async () => {
    await app?.close();
  });

  // FUZZ_SEED=1: Node answered a bare 400 (no envelope, no correlation id) before any middleware.
  it('answers an HTTP/1.1 request without Host like any other, with the envelope and a correlation id', async () => {
    const raw = await rawExchange(
      app,
      'GET /v1/agents/support-assistant/sessions?limit=0 HTTP/1.1\r\nX-API-Key: ' + KEY + '\r\nConnection: close\r\n\r\n',
    );
    expect(raw).toMatch(/^HTTP\/1\.1 400 /);
    expect(raw).toMatch(/\r\nX-Correlation-ID: [0-9A-Z]{26}\r\n/i);
    expect(JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4))).toMatchObject({ error: { code: 'invalid_request' } });
  });

  // FUZZ_SEED=3: the refusal of a malformed HEAD carried a body, which clients read as a broken answer.
  it('answers a malformed HEAD request with 400 and no body', async () => {
    const raw = await rawExchange(app, 'HEAD /healthz HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nContent-Length: 1\r\n\r\n');
    expect(raw).toMatch(/^HTTP\/1\.1 400 /);
    expect(raw).toMatch(/\r\nX-Correlation-ID: [0-9A-Z]{26}\r\n/i);
    expect(raw.endsWith('\r\n\r\n')).toBe(true);
  });

  it('still answers the same malformed request with the envelope when it is a GET', async () => {
    const raw = await rawExchange(app, 'GET /healthz HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nContent-Length: 1\r\n\r\n');
    expect(JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4))).toEqual({
      error: { code: 'invalid_request', message: 'The request is not well-formed HTTP.' },
    });
  });
});
