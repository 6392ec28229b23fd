import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import type { Logger } from 'pino';
import type { Gauge } from 'prom-client';
import { CatalogService } from '../runtime/catalog.service.js';
import { LOGGER } from '../common/logging/logging.module.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/configuration.js';
import { METRIC } from '../metrics/metric-names.js';
import { SessionsRepository } from './sessions.repository.js';

const REFRESH_MS = 5_000;
/** Counter rows are folded every this many refreshes (5 minutes). */
const COMPACT_EVERY = 60;
/**
 * Counter minutes younger than this are never folded, whatever this replica's idle timeout: a
 * replica with a longer timeout (mixed settings during a rolling change) still reads them, and
 * its `total` would miss the sessions of folded minutes (docs/sessions.md "Listing").
 */
const MIN_KEEP_MS = 7 * 24 * 60 * 60_000;

/**
 * `agentspec_sessions_active{agent}` from the database, refreshed every few seconds, so every
 * replica reports the same number. Now and then it also folds the session counters of minutes
 * no count reads any more (SessionsRepository.compactCounts).
 */
@Injectable()
export class SessionsGauge implements OnModuleInit, OnModuleDestroy {
  private timer?: NodeJS.Timeout;
  private refreshes = 0;

  constructor(
    private readonly repository: SessionsRepository,
    private readonly catalog: CatalogService,
    @InjectMetric(METRIC.sessionsActive) private readonly gauge: Gauge<string>,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onModuleInit(): void {
    this.timer = setInterval(() => void this.refresh(), REFRESH_MS);
    this.timer.unref();
    void this.refresh();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  async refresh(): Promise<void> {
    try {
      const counts = await this.repository.countActiveByAgent(this.config.sessionIdleTimeoutMs);
      for (const agent of this.catalog.listAgents()) this.gauge.set({ agent: agent.name }, counts.get(agent.name) ?? 0);
    } catch (error) {
      this.logger.debug({ err_message: (error as Error).message }, 'sessions gauge not refreshed');
    }
    if (this.refreshes++ % COMPACT_EVERY === 0) await this.compact();
  }

  /** Folds old counter rows; a failure waits for the next round. */
  async compact(): Promise<void> {
    const idle = this.config.sessionIdleTimeoutMs;
    // A margin of two minutes past the oldest minute a count of any replica reads.
    const keepMs = Math.max(idle, MIN_KEEP_MS) + 2 * 60_000;
    try {
      await this.repository.compactCounts(keepMs);
    } catch (error) {
      this.logger.debug({ err_message: (error as Error).message }, 'session counters not compacted');
    }
  }
}
