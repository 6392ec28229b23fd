import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/database.js';
import { post } from '../support/http.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

const KEY = 'fuzz-slow-key-0123456789abcdef';
const GIGABYTE = 1024 ** 3;
const CHUNK = Buffer.alloc(64 * 1024, 0x20);
/** The server's timeouts in this file, short so that a slow client outlasts them quickly. */
const REQUEST_TIMEOUT_MS = 2_000;

interface Outcome {
  /** Everything the server wrote. */
  answer: string;
  /** Body bytes the client got out before the server answered or closed. */
  sent: number;
  /** From the first byte to the socket's close. */
  elapsedMs: number;
}

/**
 * Writes `head` and then body bytes from `body` as fast as the socket takes them (waiting `gapMs`
 * between writes), and stops at the server's first answer byte. Resolves when the server closes.
 */
function exchange(app: TestApp, head: string, body: Iterable<Buffer>, gapMs = 0): Promise<Outcome> {
  const { hostname, port } = new URL(app.url);
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const socket: Socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    let answered = false;
    let sent = 0;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server neither answered nor closed within 30 s (${sent} bytes sent)`));
    }, 30_000);
    socket.on('data', (chunk: Buffer) => {
      answered = true;
      chunks.push(chunk);
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ answer: Buffer.concat(chunks).toString('utf8'), sent, elapsedMs: Date.now() - started });
    });
    socket.write(head);
    const iterator = body[Symbol.iterator]();
    const pump = (): void => {
      while (!answered && !socket.destroyed) {
        const next = iterator.next();
        if (next.done) return;
        sent += next.value.length;
        if (gapMs > 0) {
          socket.write(next.value);
          setTimeout(pump, gapMs);
          return;
        }
        if (!socket.write(next.value)) {
          socket.once('drain', pump);
          return;
        }
      }
    };
    pump();
  });
}

function* bytes(total: number): Generator<Buffer> {
  for (let sent = 0; sent < total; sent += CHUNK.length) yield CHUNK.subarray(0, Math.min(CHUNK.length, total - sent));
}

function* chunked(total: number): Generator<Buffer> {
  for (const chunk of bytes(total)) yield Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')]);
  yield Buffer.from('0\r\n\r\n');
}

function* oneByteAtATime(text: string): Generator<Buffer> {
  for (const char of Buffer.from(text)) yield Buffer.from([char]);
}

function statusOf(answer: string): number {
  return Number(answer.split(' ', 2)[1]);
}

function envelopeOf(answer: string): { error: { code: string } } {
  return JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as { error: { code: string } };
}

describe('fuzz: slow clients and a 1 GB body', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp({
      databaseUrl: await createTestDatabase(),
      env: { AGENTSPEC_DEFINITIONS: 'agents', AGENTSPEC_API_KEYS: KEY },
      beforeListen: (server) => {
        server.requestTimeout = REQUEST_TIMEOUT_MS;
        server.headersTimeout = REQUEST_TIMEOUT_MS / 2;
        // Read by Node when the server starts listening; missing from @types/node.
        (server as typeof server & { connectionsCheckingInterval: number }).connectionsCheckingInterval = 250;
      },
    });
  });

  afterAll(async () => {
    await app?.close();
  });

  const invokeHead = (framing: string) =>
    `POST /v1/agents/support-assistant/invoke HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: ${KEY}\r\nContent-Type: application/json\r\n${framing}\r\n`;

  it.each([
    ['declared Content-Length', `Content-Length: ${GIGABYTE}\r\n`, () => bytes(GIGABYTE)],
    ['chunked, without a length', 'Transfer-Encoding: chunked\r\n', () => chunked(GIGABYTE)],
    // Encoded bodies are limited by their decoded size, which is never much below the raw size.
    ['gzip, declared Content-Length', `Content-Encoding: gzip\r\nContent-Length: ${GIGABYTE}\r\n`, () => bytes(GIGABYTE)],
    ['gzip, chunked', 'Content-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n', () => chunked(GIGABYTE)],
  ])('refuses a 1 GB body (%s) with 413 without reading it, and closes the connection', async (_label, framing, body) => {
    const before = process.memoryUsage().rss;
    const outcome = await exchange(app, invokeHead(framing), body());
    const grown = process.memoryUsage().rss - before;
    expect(statusOf(outcome.answer), outcome.answer.slice(0, 200)).toBe(413);
    expect(envelopeOf(outcome.answer).error.code).toBe('payload_too_large');
    expect(outcome.answer).toMatch(/\r\nX-Correlation-ID: \S+\r\n/i);
    expect(outcome.sent).toBeLessThan(64 * 1024 ** 2);
    expect(grown).toBeLessThan(100 * 1024 ** 2);
  });

  it('refuses a 1 GB JSON body on a DELETE (the JSON parser would read it too) with 413 without reading it', async () => {
    const head = `DELETE /v1/agents/support-assistant/sessions/sess_none HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: ${KEY}\r\nContent-Type: application/json\r\nContent-Length: ${GIGABYTE}\r\n\r\n`;
    const outcome = await exchange(app, head, bytes(GIGABYTE));
    expect(statusOf(outcome.answer), outcome.answer.slice(0, 200)).toBe(413);
    expect(outcome.sent).toBeLessThan(64 * 1024 ** 2);
  });

  it('answers a body sent a byte at a time, slower than the request timeout, with 408 and closes', async () => {
    const body = JSON.stringify({ input: 'x'.repeat(40) });
    const outcome = await exchange(app, invokeHead(`Content-Length: ${body.length}\r\n`), oneByteAtATime(body), 200);
    expect(statusOf(outcome.answer), outcome.answer.slice(0, 200)).toBe(408);
    expect(envelopeOf(outcome.answer).error.code).toBe('request_timeout');
    expect(outcome.elapsedMs).toBeLessThan(REQUEST_TIMEOUT_MS + 2_000);
  });

  it('answers headers sent a byte at a time, slower than the headers timeout, with 408 and closes', async () => {
    const outcome = await exchange(app, '', oneByteAtATime(invokeHead('X-Slow: yes\r\n')), 100);
    expect(statusOf(outcome.answer), outcome.answer.slice(0, 200)).toBe(408);
    expect(outcome.elapsedMs).toBeLessThan(REQUEST_TIMEOUT_MS + 2_000);
  });

  it('is healthy afterwards: /healthz answers 200 and an agent still answers', async () => {
    expect((await fetch(`${app.url}/healthz`)).status).toBe(200);
    const invoke = await post(app, '/v1/agents/support-assistant/invoke', { input: 'still there?' }, { 'X-API-Key': KEY });
    expect(invoke.status).toBe(200);
  });
});
