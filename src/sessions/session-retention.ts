import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { Logger } from 'pino';
import { LOGGER } from '../common/logging/logging.module.js';
import { isDatabaseUnavailable } from '../common/errors/database-errors.js';
import { SessionsRepository } from './sessions.repository.js';

export const SESSION_RETENTION_OPTIONS = Symbol('SESSION_RETENTION_OPTIONS');

export interface SessionRetentionOptions {
  /** AGENTSPEC_SESSION_RETENTION; unset keeps every session. */
  retentionMs?: number;
  /** Pause between two purges. Default 10 minutes. */
  intervalMs?: number;
  /** First purge after start-up, once migrations have run. Default 30 s. */
  initialDelayMs?: number;
  /** Sessions deleted per statement. Default 500. */
  batchSize?: number;
}

/**
 * Purges sessions older than the retention period now and then. Every replica runs it; the
 * repository's advisory lock lets only one of them purge at a time.
 */
@Injectable()
export class SessionRetention implements OnModuleInit, OnModuleDestroy {
  private readonly intervalMs: number;
  private readonly initialDelayMs: number;
  private readonly batchSize: number;
  private readonly stopping = new AbortController();
  private timer?: NodeJS.Timeout;
  private running?: Promise<number>;

  constructor(
    private readonly repository: SessionsRepository,
    @Inject(SESSION_RETENTION_OPTIONS) private readonly options: SessionRetentionOptions,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.intervalMs = options.intervalMs ?? 10 * 60_000;
    this.initialDelayMs = options.initialDelayMs ?? 30_000;
    this.batchSize = options.batchSize ?? 500;
  }

  onModuleInit(): void {
    if (this.options.retentionMs === undefined) return;
    this.logger.info({ retention_ms: this.options.retentionMs, interval_ms: this.intervalMs }, 'session retention enabled');
    this.schedule(this.initialDelayMs);
  }

  async onModuleDestroy(): Promise<void> {
    this.stopping.abort();
    clearTimeout(this.timer);
    await this.running;
  }

  /** One purge now. Failures are logged, never thrown: the next run tries again. */
  async runOnce(): Promise<number> {
    const retentionMs = this.options.retentionMs;
    if (retentionMs === undefined || this.stopping.signal.aborted) return 0;
    if (this.running) return this.running;
    const started = Date.now();
    this.running = this.repository
      .purgeExpired(retentionMs, this.batchSize, { signal: this.stopping.signal })
      .then((purged) => {
        if (purged > 0) this.logger.info({ purged, duration_ms: Date.now() - started }, 'purged expired sessions');
        return purged;
      })
      .catch((error: unknown) => {
        const context = { err_message: (error as Error).message };
        if (isDatabaseUnavailable(error)) this.logger.warn(context, 'session purge skipped: database unavailable');
        else this.logger.error(context, 'session purge failed');
        return 0;
      })
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }

  private schedule(delayMs: number): void {
    if (this.stopping.signal.aborted) return;
    this.timer = setTimeout(() => {
      void this.runOnce().then(() => this.schedule(this.intervalMs));
    }, delayMs);
    this.timer.unref();
  }
}
