import { Module } from '@nestjs/common';
import { AgentRuntimeModule } from '../agents/agent-runtime.module.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/configuration.js';
import { SESSION_RETENTION_OPTIONS, SessionRetention, type SessionRetentionOptions } from './session-retention.js';
import { SessionsController } from './sessions.controller.js';
import { SessionsGauge } from './sessions-gauge.js';
import { SessionsRepository } from './sessions.repository.js';
import { SessionsService } from './sessions.service.js';

@Module({
  imports: [AgentRuntimeModule],
  controllers: [SessionsController],
  providers: [
    SessionsRepository,
    SessionsService,
    SessionsGauge,
    SessionRetention,
    {
      provide: SESSION_RETENTION_OPTIONS,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig): SessionRetentionOptions => ({ retentionMs: config.sessionRetentionMs }),
    },
  ],
  exports: [SessionsService],
})
export class SessionsModule {}
