import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

/**
 * openapi.json is committed so API changes are reviewed. It must equal what the compiled code
 * (with the Swagger CLI plugin) generates; `npm run build && npm run openapi` refreshes it.
 */
describe('openapi.json', () => {
  it('matches the document the code generates', () => {
    const generator = 'dist/scripts/generate-openapi.js';
    expect(existsSync(generator), 'run `npm run build` first (npm test does)').toBe(true);
    const generated = execFileSync(process.execPath, [generator, '-'], { encoding: 'utf8', timeout: 60_000 });
    const committed = readFileSync('openapi.json', 'utf8');
    expect(JSON.parse(generated), 'openapi.json is stale: run `npm run build && npm run openapi`').toEqual(
      JSON.parse(committed),
    );
  });
});
