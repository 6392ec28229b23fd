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

/**
 * `agentspec_sessions_active{agent}` from the database, refreshed every few seconds, so every
 * replica reports the same number.
 */
@Injectable()
export class SessionsGauge implements OnModuleInit, OnModuleDestroy {
  private timer?: NodeJS.Timeout;

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
  }
}
