import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { AppModule } from '../src/app.module.js';
import { createLogger } from '../src/common/logging/logger.js';
import { loadConfig } from '../src/config/configuration.js';
import { buildOpenApiDocument } from '../src/common/http/swagger.js';
import { emptyDefinitions } from '../src/definitions/index.js';

/**
 * Writes the OpenAPI document the code describes (`npm run openapi`), from the compiled build
 * so that the Swagger CLI plugin's schemas are included. The app is created but never
 * initialised: no database connection is made.
 */
async function main(): Promise<void> {
  const target = process.argv[2] ?? 'openapi.json';
  const config = loadConfig({ DATABASE_URL: 'postgres://unused@127.0.0.1:1/unused', LOG_LEVEL: 'silent' });
  const logger = createLogger('silent');
  const app = await NestFactory.create<NestExpressApplication>(
    AppModule.forRoot({
      config,
      logger,
      databaseUrl: config.databaseUrl!,
      definitions: emptyDefinitions({ name: 'openapi', version: '0.0.0', lang: '2.0' }),
    }),
    { logger: false, bodyParser: false },
  );
  const document = buildOpenApiDocument(app, config.version);
  const text = `${JSON.stringify(document, null, 2)}\n`;
  if (target === '-') process.stdout.write(text);
  else writeFileSync(target, text);
  await app.close();
}

void main();
