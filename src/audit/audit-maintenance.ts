import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { Logger } from 'pino';
import { isDatabaseUnavailable } from '../common/errors/database-errors.js';
import { LOGGER } from '../common/logging/logging.module.js';
import { AuditChainRepository } from './audit-chain.repository.js';

export const AUDIT_MAINTENANCE_OPTIONS = Symbol('AUDIT_MAINTENANCE_OPTIONS');

export interface AuditMaintenanceOptions {
  /** AGENTSPEC_AUDIT_SEAL_INTERVAL: pause between two sealer runs; 0 = this replica never seals. */
  sealIntervalMs: number;
  /** AGENTSPEC_AUDIT_RETENTION; unset keeps every event. */
  retentionMs?: number;
  /** Pause between two purges. Default 10 minutes. */
  purgeIntervalMs?: number;
  /** First purge after start-up. Default 60 s. */
  purgeInitialDelayMs?: number;
  /** Events deleted per transaction. Default 1000. */
  purgeBatchSize?: number;
}

/**
 * Runs the sealer and the retention purge of the audit chain on a timer. Every replica runs
 * both; the chain lock (AUDIT_CHAIN_LOCK_KEY) lets one of them work at a time and the others
 * skip that turn. Failures are logged, never thrown: the next turn tries again.
 */
@Injectable()
export class AuditMaintenance implements OnModuleInit, OnModuleDestroy {
  private readonly stopping = new AbortController();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly unavailable = new Set<string>();
  private sealing?: Promise<number>;
  private purging?: Promise<number>;

  constructor(
    private readonly chain: AuditChainRepository,
    @Inject(AUDIT_MAINTENANCE_OPTIONS) private readonly options: AuditMaintenanceOptions,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onModuleInit(): void {
    if (this.options.sealIntervalMs > 0) this.every(this.options.sealIntervalMs, this.options.sealIntervalMs, () => this.sealOnce());
    if (this.options.retentionMs !== undefined) {
      const interval = this.options.purgeIntervalMs ?? 10 * 60_000;
      this.logger.info({ retention_ms: this.options.retentionMs, interval_ms: interval }, 'audit retention enabled');
      this.every(this.options.purgeInitialDelayMs ?? 60_000, interval, () => this.purgeOnce());
    }
  }

  async onModuleDestroy(): Promise<void> {
    this.stopping.abort();
    for (const timer of this.timers) clearTimeout(timer);
    await Promise.all([this.sealing, this.purging]);
  }

  /** Seals what is pending now; 0 when nothing was or another replica is at it. */
  sealOnce(): Promise<number> {
    if (this.stopping.signal.aborted) return Promise.resolve(0);
    this.sealing ??= this.chain
      .seal()
      .then((sealed) => this.succeeded('audit sealing', sealed ?? 0))
      .catch((error: unknown) => this.failed(error, 'audit sealing'))
      .finally(() => {
        this.sealing = undefined;
      });
    return this.sealing;
  }

  /** One purge of events older than the retention now. */
  purgeOnce(): Promise<number> {
    const retentionMs = this.options.retentionMs;
    if (retentionMs === undefined || this.stopping.signal.aborted) return Promise.resolve(0);
    const started = Date.now();
    this.purging ??= this.chain
      .purge(new Date(started - retentionMs), this.options.purgeBatchSize ?? 1_000, this.stopping.signal)
      .then(({ purged, broken, fromSeq, toSeq }) => {
        if (purged > 0) {
          this.logger.info({ purged, from_seq: fromSeq, to_seq: toSeq, duration_ms: Date.now() - started }, 'purged expired audit events');
        }
        if (broken) this.logger.error({ first_broken: broken }, 'audit purge stopped before a broken link of the chain');
        return this.succeeded('audit purge', purged);
      })
      .catch((error: unknown) => this.failed(error, 'audit purge'))
      .finally(() => {
        this.purging = undefined;
      });
    return this.purging;
  }

  /** An outage is logged once when it starts, not on every turn of the sealer. */
  private failed(error: unknown, what: string): number {
    const context = { err_message: (error as Error).message };
    if (!isDatabaseUnavailable(error)) this.logger.error(context, `${what} failed`);
    else if (!this.unavailable.has(what)) {
      this.unavailable.add(what);
      this.logger.warn(context, `${what} skipped: database unavailable`);
    }
    return 0;
  }

  private succeeded<T>(what: string, value: T): T {
    if (this.unavailable.delete(what)) this.logger.info(`${what} resumed`);
    return value;
  }

  private every(firstDelayMs: number, intervalMs: number, work: () => Promise<unknown>): void {
    const schedule = (delayMs: number) => {
      if (this.stopping.signal.aborted) return;
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        void work().then(() => schedule(intervalMs));
      }, delayMs);
      timer.unref();
      this.timers.add(timer);
    };
    schedule(firstDelayMs);
  }
}
