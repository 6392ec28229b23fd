import type { Request, Response } from 'express';

export const KEEP_ALIVE_MS = 15_000;
/**
 * How long a client may leave a full socket buffer unread before it is disconnected, plus one
 * second per 16 KB waiting: a large event gives a slow but reading client time.
 */
export const STALL_LIMIT_MS = 60_000;
const SLOWEST_READ_BYTES_PER_MS = 16;

/** The kinds of stream event (docs/api.md §5.3); each is also the event's SSE `event:` name. */
export type SseEventType = 'token' | 'tool_call' | 'tool_result' | 'guardrail' | 'done' | 'error';

export interface SseEvent extends Record<string, unknown> {
  readonly type: SseEventType;
}

/**
 * One Server-Sent Events answer: `id:`, `event:` and `data:` lines per event, `: ping` comments while the
 * model is silent, and an AbortSignal that fires when the client goes away.
 */
export class SseWriter {
  private nextId = 1;
  private lastWrite = Date.now();
  private readonly keepAlive: NodeJS.Timeout;
  private readonly controller = new AbortController();
  private ended = false;
  private pendingDrain?: Promise<void>;

  constructor(
    request: Request,
    private readonly response: Response,
    keepAliveMs = KEEP_ALIVE_MS,
    private readonly stallLimitMs = STALL_LIMIT_MS,
    private readonly slowestReadBytesPerMs = SLOWEST_READ_BYTES_PER_MS,
  ) {
    response.status(200);
    response.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    response.setHeader('Cache-Control', 'no-cache');
    response.setHeader('Connection', 'keep-alive');
    response.setHeader('X-Accel-Buffering', 'no');
    response.flushHeaders();
    response.socket?.setNoDelay(true);
    const tick = Math.max(10, Math.floor(keepAliveMs / 3));
    this.keepAlive = setInterval(() => {
      if (Date.now() - this.lastWrite >= keepAliveMs) this.write(': ping\n\n');
    }, tick);
    const onClose = () => {
      if (!this.ended) this.controller.abort(new Error('client disconnected'));
      this.stop();
    };
    response.once('close', onClose);
    request.once('aborted', onClose);
    if (request.socket?.destroyed || response.destroyed) onClose();
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /**
   * Writes one event. When the client reads more slowly than events come, the socket's buffer
   * fills: the returned promise then settles once it has drained (or the client has gone), and
   * the caller waits for it, so a slow reader holds back the model instead of growing memory.
   */
  send(event: SseEvent): Promise<void> | undefined {
    const flushed = this.write(`id: ${this.nextId++}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
    return flushed ? undefined : this.drained();
  }

  /** Ends the answer; a client that does not read its last events in time is disconnected. */
  end(): void {
    this.ended = true;
    this.stop();
    const response = this.response;
    if (response.writableEnded) return;
    response.end();
    if (!response.writableFinished && !response.destroyed) void this.flushedOrGone('finish');
  }

  /** False when the chunk had to be buffered beyond the socket's high-water mark. */
  private write(chunk: string): boolean {
    if (this.response.writableEnded || this.response.destroyed) return true;
    this.lastWrite = Date.now();
    return this.response.write(chunk);
  }

  /**
   * Settles when the buffered events have been flushed or the client has gone. A client that
   * stays connected without reading for `stallLimitMs` is disconnected, which aborts the call.
   */
  private drained(): Promise<void> {
    const response = this.response;
    if (!response.writableNeedDrain || response.destroyed) return Promise.resolve();
    // Senders waiting at the same time (tools of one turn) share one wait.
    if (!this.pendingDrain) {
      const wait = this.flushedOrGone('drain');
      this.pendingDrain = wait;
      // Registered before any sender awaits it, so cleared before any of them goes on.
      void wait.then(() => (this.pendingDrain = undefined));
    }
    return this.pendingDrain;
  }

  /**
   * Settles on `event` or when the client has gone; a client that has not read the buffered
   * bytes by the stall limit is disconnected.
   */
  private flushedOrGone(event: 'drain' | 'finish'): Promise<void> {
    const response = this.response;
    const limit = this.stallLimitMs + Math.ceil(response.writableLength / this.slowestReadBytesPerMs);
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(stalled);
        response.off(event, done);
        response.off('close', done);
        resolve();
      };
      const stalled = setTimeout(() => response.destroy(), limit);
      response.on(event, done);
      response.on('close', done);
    });
  }

  private stop(): void {
    clearInterval(this.keepAlive);
  }
}
