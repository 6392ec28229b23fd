import { Module } from '@nestjs/common';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/configuration.js';
import { defaultConsoleDirectory } from './console-assets.js';
import { ConsoleController } from './console.controller.js';
import { CONSOLE_DIRECTORY, ConsoleService } from './console.service.js';

/** The web console at /console (docs/console.md). */
@Module({
  controllers: [ConsoleController],
  providers: [
    ConsoleService,
    {
      provide: CONSOLE_DIRECTORY,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => config.console.directory ?? defaultConsoleDirectory(),
    },
  ],
})
export class ConsoleModule {}
