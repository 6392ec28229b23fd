import { type DynamicModule, Module } from '@nestjs/common';
import type { Logger } from 'pino';
import { AgentsModule } from './agents/agents.module.js';
import { AuditModule } from './audit/audit.module.js';
import { AuthModule } from './auth/auth.module.js';
import { LoggingModule } from './common/logging/logging.module.js';
import { ConfigModule } from './config/config.module.js';
import { ConsoleModule } from './console/console.module.js';
import type { AppConfig } from './config/configuration.js';
import type { Definitions } from './definitions/index.js';
import { DatabaseModule } from './database/database.module.js';
import { GovernanceModule } from './governance/governance.module.js';
import { HealthModule } from './health/health.module.js';
import { KeysModule } from './keys/keys.module.js';
import { MetricsModule } from './metrics/metrics.module.js';
import { PipelinesModule } from './pipelines/pipelines.module.js';
import { RuntimeModule } from './runtime/runtime.module.js';
import { SessionsModule } from './sessions/sessions.module.js';

export interface AppModuleOptions {
  config: AppConfig;
  logger: Logger;
  /** The database actually used: DATABASE_URL, or the embedded server's address. */
  databaseUrl: string;
  definitions: Definitions;
}

@Module({})
export class AppModule {
  static forRoot(options: AppModuleOptions): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(options.config),
        LoggingModule.forRoot(options.logger),
        DatabaseModule.forRoot({ url: options.databaseUrl, poolSize: options.config.databasePoolSize }),
        MetricsModule.forRoot(),
        RuntimeModule.forRoot(options.definitions),
        GovernanceModule,
        AuthModule,
        HealthModule,
        AgentsModule,
        SessionsModule,
        PipelinesModule,
        KeysModule,
        AuditModule,
        ConsoleModule,
      ],
    };
  }
}
