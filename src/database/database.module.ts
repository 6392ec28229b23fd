import {
  type DynamicModule,
  Global,
  Inject,
  Injectable,
  Module,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import type { Logger } from 'pino';
import { DataSource } from 'typeorm';
import { LOGGER } from '../common/logging/logging.module.js';
import { createDataSource, runMigrations } from './data-source.js';
import { poolErrorLogger } from './pool-errors.js';

export interface DatabaseModuleOptions {
  url: string;
  poolSize: number;
  /** How long start-up keeps retrying an unreachable database before giving up. */
  connectTimeoutMs?: number;
}

const DATABASE_OPTIONS = Symbol('DATABASE_OPTIONS');

/** Connects (retrying while the database starts), migrates under a lock, and closes the pool. */
@Injectable()
class DatabaseLifecycle implements OnModuleInit, OnApplicationShutdown {
  constructor(
    private readonly dataSource: DataSource,
    @Inject(DATABASE_OPTIONS) private readonly options: DatabaseModuleOptions,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async onModuleInit(): Promise<void> {
    const deadline = Date.now() + (this.options.connectTimeoutMs ?? 30_000);
    for (let attempt = 1; ; attempt++) {
      try {
        await this.dataSource.initialize();
        break;
      } catch (error) {
        if (Date.now() >= deadline) throw error;
        this.logger.warn({ attempt, err_message: (error as Error).message }, 'database not reachable yet; retrying');
        await new Promise((resolve) => setTimeout(resolve, Math.min(5_000, 250 * 2 ** attempt)));
      }
    }
    const applied = await runMigrations(this.dataSource);
    this.logger.info({ applied }, applied.length ? 'database migrated' : 'database schema up to date');
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
  }
}

@Global()
@Module({})
export class DatabaseModule {
  static forRoot(options: DatabaseModuleOptions): DynamicModule {
    return {
      module: DatabaseModule,
      providers: [
        { provide: DATABASE_OPTIONS, useValue: options },
        {
          provide: DataSource,
          inject: [LOGGER],
          useFactory: (logger: Logger) =>
            createDataSource({ url: options.url, poolSize: options.poolSize, onPoolError: poolErrorLogger(logger) }),
        },
        DatabaseLifecycle,
      ],
      exports: [DataSource],
    };
  }
}
