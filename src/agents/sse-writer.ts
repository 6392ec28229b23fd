import type { Request, Response } from 'express';

export const KEEP_ALIVE_MS = 15_000;

/**
 * One Server-Sent Events answer: `id:` + `data:` lines per event, `: ping` comments while the
 * model is silent, and an AbortSignal that fires when the client goes away.
 */
export class SseWriter {
  private nextId = 1;
  private lastWrite = Date.now();
  private readonly keepAlive: NodeJS.Timeout;
  private readonly controller = new AbortController();
  private ended = false;

  constructor(
    request: Request,
    private readonly response: Response,
    keepAliveMs = KEEP_ALIVE_MS,
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

  send(event: Record<string, unknown>): void {
    this.write(`id: ${this.nextId++}\ndata: ${JSON.stringify(event)}\n\n`);
  }

  end(): void {
    this.ended = true;
    this.stop();
    if (!this.response.writableEnded) this.response.end();
  }

  private write(chunk: string): void {
    if (this.response.writableEnded || this.response.destroyed) return;
    this.lastWrite = Date.now();
    this.response.write(chunk);
  }

  private stop(): void {
    clearInterval(this.keepAlive);
  }
}
