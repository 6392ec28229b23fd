import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { AppModule, type AppModuleOptions } from './app.module.js';
import { configureApp } from './app.setup.js';
import { NestPinoLogger } from './common/logging/logger.js';

export interface CreateAppOptions {
  /**
   * False stops once the modules exist, enough to describe the API: no HTTP set-up, no
   * initialisation, so no database connection. Default true.
   */
  configure?: boolean;
}

/**
 * The application as main.ts serves it; the tests and scripts/generate-openapi.ts build theirs
 * here too. Express's body parser stays off because configureApp installs its own.
 */
export async function createApp(options: AppModuleOptions, { configure = true }: CreateAppOptions = {}): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(options), {
    bodyParser: false,
    logger: new NestPinoLogger(options.logger),
    abortOnError: false,
  });
  if (configure) await configureApp(app, options.config, options.logger);
  return app;
}
