import { Global, Module } from '@nestjs/common';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/configuration.js';
import { BudgetRepository } from './budget.repository.js';
import { BudgetService } from './budget.service.js';
import { GovernanceEventsRepository } from './governance-events.repository.js';
import { ModelPrices } from './prices.js';

/**
 * Spending governance: model prices and the agents' daily/monthly budgets. Global so that the
 * runtime, the agent listing and the start-up can use it without importing it.
 */
@Global()
@Module({
  providers: [
    { provide: ModelPrices, useFactory: (config: AppConfig) => new ModelPrices(config.modelPrices), inject: [APP_CONFIG] },
    BudgetRepository,
    BudgetService,
    GovernanceEventsRepository,
  ],
  exports: [ModelPrices, BudgetService, GovernanceEventsRepository],
})
export class GovernanceModule {}
