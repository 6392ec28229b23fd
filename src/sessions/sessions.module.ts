import { Global, Module } from '@nestjs/common';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/configuration.js';
import { SESSION_TURNS } from '../runtime/session-turns.port.js';
import { SESSION_RETENTION_OPTIONS, SessionRetention, type SessionRetentionOptions } from './session-retention.js';
import { SessionsController } from './sessions.controller.js';
import { SessionsGauge } from './sessions-gauge.js';
import { SessionsRepository } from './sessions.repository.js';
import { SessionsService } from './sessions.service.js';

/** Global so that its SESSION_TURNS port reaches the agents feature without an import. */
@Global()
@Module({
  controllers: [SessionsController],
  providers: [
    SessionsRepository,
    SessionsService,
    { provide: SESSION_TURNS, useExisting: SessionsService },
    SessionsGauge,
    SessionRetention,
    {
      provide: SESSION_RETENTION_OPTIONS,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig): SessionRetentionOptions => ({ retentionMs: config.sessionRetentionMs }),
    },
  ],
  exports: [SESSION_TURNS],
})
export class SessionsModule {}
