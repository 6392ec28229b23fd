import { Module } from '@nestjs/common';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/configuration.js';
import { AuditChainRepository } from './audit-chain.repository.js';
import { AuditEventsRepository } from './audit-events.repository.js';
import { AUDIT_MAINTENANCE_OPTIONS, AuditMaintenance, type AuditMaintenanceOptions } from './audit-maintenance.js';
import { AuditController } from './audit.controller.js';
import { AuditService } from './audit.service.js';

/** The audit events API, the hash chain's sealer and the audit retention (docs/audit.md). */
@Module({
  controllers: [AuditController],
  providers: [
    AuditEventsRepository,
    AuditChainRepository,
    AuditService,
    AuditMaintenance,
    {
      provide: AUDIT_MAINTENANCE_OPTIONS,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig): AuditMaintenanceOptions => ({
        sealIntervalMs: config.audit.sealIntervalMs,
        retentionMs: config.audit.retentionMs,
      }),
    },
  ],
})
export class AuditModule {}
