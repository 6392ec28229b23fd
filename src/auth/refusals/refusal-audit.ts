import { type BeforeApplicationShutdown, Inject, Injectable, Optional } from '@nestjs/common';
import type { Logger } from 'pino';
import { DataSource } from 'typeorm';
import { LOGGER } from '../../common/logging/logging.module.js';
import { AuthRefusalsRepository } from './auth-refusals.repository.js';
import { REFUSAL_METRICS, type Refusal, type RefusalMetrics } from './refusal.js';

/** Rows waiting beyond this are dropped (and the drop logged): an attacker's flood must not grow memory. */
const MAX_QUEUED = 10_000;
const MAX_BATCH = 500;
const FLUSH_DELAY_MS = 200;
/** After a failed write, the next try waits this long (the database is likely down). */
const RETRY_DELAY_MS = 5_000;

/**
 * Each 401, 403 and 429: one `request refused` log line, one count in
 * `agentspec_auth_failures_total{reason}`, and one `auth_refusals` row. Rows are queued and
 * written in batches after the answer, so storing them never delays or fails a refusal; a
 * failed write is logged and its rows are lost.
 */
@Injectable()
export class RefusalAudit implements BeforeApplicationShutdown {
  private readonly repository?: AuthRefusalsRepository;
  private queue: Refusal[] = [];
  private dropped = 0;
  private timer?: NodeJS.Timeout;
  private writing?: Promise<void>;
  /** No write before this time (after a failed one). */
  private notBefore = 0;
  private closed = false;

  constructor(
    @Inject(LOGGER) private readonly logger: Logger,
    @Optional() @Inject(REFUSAL_METRICS) private readonly metrics?: RefusalMetrics,
    @Optional() dataSource?: DataSource,
  ) {
    if (dataSource) this.repository = new AuthRefusalsRepository(dataSource);
  }

  record(refusal: Refusal): void {
    this.metrics?.recordAuthFailure(refusal.reason);
    this.logger.warn(
      {
        status: refusal.status,
        code: refusal.code,
        reason: refusal.reason,
        principal: refusal.principal ?? null,
        ip: refusal.ip ?? null,
        method: refusal.method,
        route: refusal.route ?? null,
      },
      'request refused',
    );
    if (!this.repository) return;
    if (this.queue.length >= MAX_QUEUED) {
      this.dropped++;
      return;
    }
    this.queue.push(refusal);
    this.schedule(FLUSH_DELAY_MS);
  }

  /** Writes everything queued so far; resolves once it is stored (or its loss logged). */
  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    while (this.writing) await this.writing;
    if (this.queue.length > 0) {
      this.writing = this.write();
      try {
        await this.writing;
      } finally {
        this.writing = undefined;
      }
    }
    this.reportDropped();
    if (this.queue.length > 0) this.schedule(0);
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.flush();
    this.closed = true;
    clearTimeout(this.timer);
  }

  private schedule(delayMs: number): void {
    if (this.timer || this.writing || this.closed) return;
    this.timer = setTimeout(() => void this.flush(), Math.max(delayMs, this.notBefore - Date.now()));
    this.timer.unref();
  }

  private async write(): Promise<void> {
    while (this.queue.length > 0 && this.repository) {
      const batch = this.queue.splice(0, MAX_BATCH);
      try {
        await this.repository.insertMany(batch);
      } catch (error) {
        this.notBefore = Date.now() + RETRY_DELAY_MS;
        this.logger.error(
          { err_message: error instanceof Error ? error.message : String(error), rows: batch.length },
          'could not store refusal audit rows; they are lost',
        );
        return;
      }
    }
  }

  private reportDropped(): void {
    if (this.dropped === 0) return;
    this.logger.error({ rows: this.dropped }, 'refusal audit queue full: rows dropped');
    this.dropped = 0;
  }
}
