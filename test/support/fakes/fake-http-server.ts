import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Common machinery of the fake provider servers: a `node:http` server on 127.0.0.1 (port
 * chosen by the OS) that answers each request with the next scripted reply, records what it
 * received and notices when a client hangs up before the answer is complete.
 */

/** A request as the fake saw it. */
export interface RecordedRequest {
  method: string;
  /** Path and query, e.g. `/v1/chat/completions`. */
  path: string;
  /** Lower-cased header names, as Node gives them. */
  headers: IncomingHttpHeaders;
  /** The body parsed as JSON, or `undefined` when it was empty or not JSON. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests assert on its shape directly
  body: any;
  rawBody: string;
  /** True once the client closed the connection before the reply was complete. */
  closedEarly: boolean;
  /** Resolves when the exchange is over: reply finished or connection closed. */
  closed: Promise<void>;
}

/** A reply shared by both fakes: how they render it depends on the wire format. */
export type FakeReply =
  | FakeTextReply
  | FakeToolCallsReply
  | FakeErrorReply
  | { type: 'hang' }
  | FakeRawReply;

export interface FakeUsage {
  input: number;
  output: number;
}

interface StreamShaping {
  /** Wait before the status line is sent. */
  delayMs?: number;
  /** Streaming only: wait between two chunks. */
  chunkDelayMs?: number;
}

/**
 * A text answer. Streamed as `tokens` when given, else one chunk per word (with its
 * trailing space). Default usage: 10 in, 5 out.
 */
export interface FakeTextReply extends StreamShaping {
  type: 'text';
  text: string;
  tokens?: string[];
  usage?: FakeUsage;
  /** Provider-native stop reason; default `stop` / `end_turn`. */
  finishReason?: string;
  /**
   * Streaming only: after this many tokens the fake stops writing and keeps the connection
   * open until the client goes away (for abort tests).
   */
  stallAfterTokens?: number;
}

export interface FakeToolCall {
  /** Default `call_<n>` / `toolu_<n>`. */
  id?: string;
  name: string;
  /** An object is serialized; a string is sent verbatim (malformed arguments). */
  arguments: Record<string, unknown> | string;
  /** Streaming only: the exact fragments of the serialized arguments, in order. */
  argumentChunks?: string[];
}

/**
 * Tool calls, optionally preceded by text. Streamed with each call's arguments split into
 * `argumentChunks` or, by default, three fragments of the serialized JSON.
 */
export interface FakeToolCallsReply extends StreamShaping {
  type: 'tool_calls';
  calls: FakeToolCall[];
  text?: string;
  usage?: FakeUsage;
}

/** An HTTP error in the provider's error envelope. */
export interface FakeErrorReply {
  type: 'error';
  status: number;
  /** Extra response headers, e.g. `{ 'retry-after': '2' }`. */
  headers?: Record<string, string>;
  message?: string;
  /** Provider-native error type; a sensible default per status. */
  errorType?: string;
}

/** Anything else, byte for byte: malformed JSON, broken SSE, wrong content type. */
export interface FakeRawReply {
  type: 'raw';
  status?: number;
  contentType?: string;
  /** One string, or several written as separate chunks. */
  body: string | string[];
  chunkDelayMs?: number;
}

export interface FakeServerOptions {
  /** Reply used when the queue is empty. Default: HTTP 500 "no scripted reply". */
  fallback?: FakeReply;
}

export abstract class FakeHttpServer {
  readonly requests: RecordedRequest[] = [];
  private readonly queue: FakeReply[] = [];
  private fallback: FakeReply;
  private readonly initialFallback: FakeReply;
  private server: Server | undefined;
  private origin = '';
  private readonly waiters: { count: number; resolve: () => void }[] = [];

  constructor(options: FakeServerOptions = {}) {
    this.initialFallback = options.fallback ?? { type: 'error', status: 500, message: 'no scripted reply left in the fake' };
    this.fallback = this.initialFallback;
  }

  /** `http://127.0.0.1:<port>`. */
  get url(): string {
    if (!this.origin) throw new Error('fake server not started');
    return this.origin;
  }

  async start(): Promise<this> {
    const server = createServer((req, res) => {
      // A client that vanishes mid-reply must not become an unhandled rejection in the test run.
      this.onRequest(req, res).catch(() => res.destroy());
    });
    server.keepAliveTimeout = 1000;
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    this.server = server;
    this.origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this;
  }

  /** Closes the server and every open connection, hanging ones included. */
  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Appends replies, used one per request in order. */
  enqueue(...replies: FakeReply[]): this {
    this.queue.push(...replies);
    return this;
  }

  /** The reply for every request once the queue is empty (e.g. a persistent 500). */
  always(reply: FakeReply): this {
    this.fallback = reply;
    return this;
  }

  /** Forgets queued replies and recorded requests, and restores the initial fallback. */
  reset(): this {
    this.queue.length = 0;
    this.requests.length = 0;
    this.fallback = this.initialFallback;
    return this;
  }

  /** Resolves with the `count`-th request (1-based) once it has arrived. */
  async waitForRequest(count = 1, timeoutMs = 5000): Promise<RecordedRequest> {
    if (this.requests.length < count) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`fake server: request ${count} did not arrive within ${timeoutMs} ms`)), timeoutMs);
        this.waiters.push({
          count,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        });
      });
    }
    return this.requests[count - 1];
  }

  /** The routes this fake answers, e.g. `POST /v1/messages`. */
  protected abstract accepts(method: string, path: string): boolean;

  protected abstract render(reply: FakeReply, request: RecordedRequest, res: ServerResponse, live: () => boolean): Promise<void>;

  protected abstract notFound(res: ServerResponse): void;

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const rawBody = Buffer.concat(chunks).toString('utf8');
    let body: unknown;
    try {
      body = rawBody ? JSON.parse(rawBody) : undefined;
    } catch {
      body = undefined;
    }
    let markClosed!: () => void;
    const record: RecordedRequest = {
      method: req.method ?? '',
      path: req.url ?? '',
      headers: req.headers,
      body,
      rawBody,
      closedEarly: false,
      closed: new Promise<void>((resolve) => (markClosed = resolve)),
    };
    res.on('close', () => {
      if (!res.writableFinished) record.closedEarly = true;
      markClosed();
    });
    this.requests.push(record);
    for (const waiter of [...this.waiters]) {
      if (this.requests.length >= waiter.count) {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
    if (!this.accepts(record.method, record.path.split('?')[0] ?? '')) {
      this.notFound(res);
      return;
    }
    const reply = this.queue.shift() ?? this.fallback;
    const live = (): boolean => !res.destroyed && !res.writableEnded;
    if (reply.type === 'hang') return;
    if (reply.type === 'raw') {
      await writeRaw(reply, res, live);
      return;
    }
    await this.render(reply, record, res, live);
  }
}

async function writeRaw(reply: FakeRawReply, res: ServerResponse, live: () => boolean): Promise<void> {
  res.writeHead(reply.status ?? 200, { 'content-type': reply.contentType ?? 'application/json' });
  const parts = Array.isArray(reply.body) ? reply.body : [reply.body];
  for (const [i, part] of parts.entries()) {
    if (i > 0) await delay(reply.chunkDelayMs ?? 0);
    if (!live()) return;
    res.write(part);
  }
  res.end();
}

export function delay(ms: number): Promise<void> {
  return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
}

/** Words with their trailing whitespace. */
export function wordsOf(text: string): string[] {
  return text.match(/^\s*\S+\s*|\S+\s*/g) ?? [];
}

/** Splits `text` into `parts` fragments of roughly equal length (fewer if it is short). */
export function splitInto(text: string, parts: number): string[] {
  if (text.length <= 1) return [text];
  const size = Math.ceil(text.length / Math.min(parts, text.length));
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}

export function argumentsText(call: FakeToolCall): string {
  return typeof call.arguments === 'string' ? call.arguments : JSON.stringify(call.arguments);
}

/**
 * Streams SSE frames with optional pacing; stops (leaving the connection open) at
 * `stallAt` frames, and stops writing as soon as the client is gone.
 */
export async function writeSse(
  res: ServerResponse,
  frames: string[],
  live: () => boolean,
  options: { chunkDelayMs?: number; stallAt?: number } = {},
): Promise<void> {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
  res.flushHeaders();
  for (const [i, frame] of frames.entries()) {
    if (options.stallAt !== undefined && i >= options.stallAt) return;
    if (i > 0) await delay(options.chunkDelayMs ?? 0);
    if (!live()) return;
    res.write(frame);
  }
  res.end();
}

export function writeJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}
