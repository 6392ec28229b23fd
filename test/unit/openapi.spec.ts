import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { generateOpenApiDocument } from '../../scripts/generate-openapi.js';
import { loadSwaggerPluginMetadata } from '../support/swagger-plugin-metadata.js';

/**
 * openapi.json is committed so API changes are reviewed. It must equal what the code, with the
 * Swagger CLI plugin, describes; `npm run build && npm run openapi` refreshes it.
 */
describe('openapi.json', () => {
  it('matches the document the code generates', async () => {
    await loadSwaggerPluginMetadata();
    const generated = JSON.parse(JSON.stringify(await generateOpenApiDocument()));
    const committed = readFileSync('openapi.json', 'utf8');
    expect(generated, 'openapi.json is stale: run `npm run build && npm run openapi`').toEqual(JSON.parse(committed));
  }, 120_000);
});
