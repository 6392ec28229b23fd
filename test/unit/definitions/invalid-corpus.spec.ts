import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatDiagnostics, loadDefinitions } from '../../../src/definitions/index.js';
import { INVALID_DIR, fixtureEntries } from './fixtures.js';

/**
 * Each invalid fixture sits next to `<name>.expected.txt`: the exact messages, positions and
 * hints the loader must report, paths relative to the fixture folder.
 */
describe('invalid definitions corpus', () => {
  const entries = fixtureEntries(INVALID_DIR);

  it('has at least 30 cases', () => {
    expect(entries.length).toBeGreaterThanOrEqual(30);
  });

  for (const entry of entries) {
    it(`${entry.name} is refused with the expected messages`, async () => {
      const expected = readFileSync(join(INVALID_DIR, `${entry.name.replace(/\.(ias|json|ya?ml)$/, '')}.expected.txt`), 'utf8');
      const result = await loadDefinitions(entry.path, { cwd: INVALID_DIR });
      expect(result.ok).toBe(false);
      const diagnostics = result.ok ? result.warnings : result.diagnostics;
      expect(`${formatDiagnostics(diagnostics)}\n`).toBe(expected);
    });
  }
});
