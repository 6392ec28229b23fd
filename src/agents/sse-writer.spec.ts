import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Request, Response } from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { SseWriter } from './sse-writer.js';

/** A real server whose one SSE response the test drives, and a client that does not read yet. */
async function openStream(stallLimitMs?: number, slowestReadBytesPerMs?: number) {
  let writer!: SseWriter;
  const ready = new Promise<void>((resolve) => {
    server.on('request', (request: http.IncomingMessage, response: http.ServerResponse) => {
      // SseWriter only uses Node's own request/response API, which Express's types extend.
      const expressResponse = Object.assign(response, {
        status(code: number) {
          response.statusCode = code;
          return expressResponse;
        },
      });
      writer = new SseWriter(request as Request, expressResponse as unknown as Response, 60_000, stallLimitMs, slowestReadBytesPerMs);
      resolve();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const client = await new Promise<http.IncomingMessage>((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: '/' }, resolve).on('error', reject);
  });
  client.pause();
  await ready;
  return { writer: () => writer, client };
}

let server: http.Server;
afterEach(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

/**
 * Sends events until one has to wait for longer than a moment: the kernel's socket buffers
 * take the first megabytes, so only then is the client's not reading felt. Returns that wait.
 */
async function fillUntilBlocked(writer: SseWriter): Promise<{ wait: Promise<void> }> {
  const word = 'x'.repeat(16 * 1024);
  for (let sent = 0; sent < 8_192; sent++) {
    const wait = writer.send({ type: 'token', content: word });
    if (!wait) continue;
    const drainedSoon = await Promise.race([wait.then(() => true), delay(50).then(() => false)]);
    // Wrapped: an async function returning the promise itself would wait for it.
    if (!drainedSoon) return { wait };
  }
  throw new Error('the socket never filled up');
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

describe('SseWriter backpressure', () => {
  it('makes the sender wait while the client is not reading, and lets it go once it reads', async () => {
    server = http.createServer();
    const { writer, client } = await openStream();
    const { wait } = await fillUntilBlocked(writer());
    let settled = false;
    void wait.then(() => (settled = true));
    await delay(100);
    expect(settled).toBe(false);

    client.on('data', () => undefined);
    client.resume();
    await wait;
    expect(writer().signal.aborted).toBe(false);
  });

  it('disconnects a client that leaves a full buffer unread past the stall limit', async () => {
    server = http.createServer();
    const { writer } = await openStream(200);
    const { wait } = await fillUntilBlocked(writer());
    expect(writer().signal.aborted).toBe(false);
    await wait;
    expect(writer().signal.aborted).toBe(true);
  });

  it('lets senders blocked at the same time share one wait', async () => {
    server = http.createServer();
    const { writer, client } = await openStream();
    const { wait } = await fillUntilBlocked(writer());
    const response = (writer() as unknown as { response: http.ServerResponse }).response;
    const more = Array.from({ length: 20 }, () => writer().send({ type: 'tool_call', name: 'search', arguments: {} }));
    expect(more.every((pending) => pending === wait)).toBe(true);
    expect(response.listenerCount('drain')).toBe(1);
    client.on('data', () => undefined);
    client.resume();
    await wait;
  });

  it('disconnects a client that does not read the last events after the end', async () => {
    server = http.createServer();
    // No allowance per buffered byte here, so the limit is exactly 200 ms.
    const { writer, client } = await openStream(200, Number.POSITIVE_INFINITY);
    const response = (writer() as unknown as { response: http.ServerResponse }).response;
    const { wait } = await fillUntilBlocked(writer());
    client.on('data', () => undefined);
    client.resume();
    await wait;
    client.pause();
    // A last chunk larger than the socket buffers, then the end: only the end's limit runs.
    response.write('x'.repeat(16 * 1024 * 1024));
    const closed = new Promise((resolve) => response.once('close', resolve));
    const endedAt = Date.now();
    writer().end();
    await closed;
    expect(Date.now() - endedAt).toBeGreaterThanOrEqual(150);
    expect(response.destroyed).toBe(true);
  });
});

describe('SseWriter wire format', () => {
  it('writes each event as its id, its type as the event name, and its JSON, then a blank line', async () => {
    server = http.createServer();
    const { writer, client } = await openStream();
    const body: Buffer[] = [];
    client.on('data', (chunk: Buffer) => body.push(chunk));
    const ended = new Promise((resolve) => client.once('end', resolve));
    client.resume();

    void writer().send({ type: 'token', content: 'line\nbreak' });
    void writer().send({ type: 'done', usage: { input_tokens: 1, output_tokens: 2, total_tokens: 3 }, turn: 4 });
    writer().end();
    await ended;

    expect(Buffer.concat(body).toString('utf8')).toBe(
      'id: 1\nevent: token\ndata: {"type":"token","content":"line\\nbreak"}\n\n' +
        'id: 2\nevent: done\ndata: {"type":"done","usage":{"input_tokens":1,"output_tokens":2,"total_tokens":3},"turn":4}\n\n',
    );
  });
});
