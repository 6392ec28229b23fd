import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { OpenAPIObject } from '@nestjs/swagger';
import { createApp } from '../src/app.factory.js';
import { createLogger } from '../src/common/logging/logger.js';
import { loadConfig } from '../src/config/configuration.js';
import { buildOpenApiDocument } from '../src/common/http/swagger.js';
import { emptyDefinitions } from '../src/definitions/index.js';

/**
 * The OpenAPI document the code describes. The app is created but never initialised: no
 * database connection is made. DTO schemas come from the Swagger CLI plugin, compiled into
 * dist/ by `npm run build`; from source, load them first (test/support/swagger-plugin-metadata.ts).
 */
export async function generateOpenApiDocument(): Promise<OpenAPIObject> {
  const config = loadConfig({ DATABASE_URL: 'postgres://unused@127.0.0.1:1/unused', LOG_LEVEL: 'silent' });
  const app = await createApp(
    {
      config,
      logger: createLogger('silent'),
      databaseUrl: config.databaseUrl!,
      definitions: emptyDefinitions({ name: 'openapi', version: '0.0.0', lang: '2.0' }),
    },
    { configure: false },
  );
  try {
    return buildOpenApiDocument(app, config.version);
  } finally {
    await app.close();
  }
}

/** `npm run openapi [file]` writes the document to openapi.json, or to stdout for `-`. */
async function main(): Promise<void> {
  const target = process.argv[2] ?? 'openapi.json';
  const text = `${JSON.stringify(await generateOpenApiDocument(), null, 2)}\n`;
  if (target === '-') process.stdout.write(text);
  else writeFileSync(target, text);
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (invokedDirectly) void main();
