import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { formatDiagnostics, loadDefinitions, memorySourceHost, type LoadResult } from '../../../src/definitions/index.js';
import { VALID_DIR, fixtureEntries } from './fixtures.js';

// UPDATE_GOLDEN=1 rewrites the golden files; review the diff before committing it.
const update = process.env.UPDATE_GOLDEN === '1';

function expectOk(result: LoadResult): Extract<LoadResult, { ok: true }> {
  if (!result.ok) throw new Error(`expected the definitions to load:\n${formatDiagnostics(result.diagnostics)}`);
  return result;
}

describe('valid definitions corpus', () => {
  const entries = fixtureEntries(VALID_DIR);

  it('covers every statement kind', () => {
    const full = readFileSync(join(VALID_DIR, 'full.ias'), 'utf8');
    const kinds = ['prompt', 'skill', 'agent', 'pipeline', 'deploy', 'secret', 'server', 'client'];
    const kept = ['environment', 'policy', 'type', 'user', 'guardrail', 'state', 'plugin', 'binding'];
    for (const kw of [...kinds, ...kept]) {
      expect(full).toMatch(new RegExp(`^${kw} "`, 'm'));
    }
    expect(entries.map((e) => e.name)).toContain('imports');
  });

  for (const entry of entries) {
    it(`${entry.name} lowers to its golden model`, async () => {
      const result = expectOk(await loadDefinitions(entry.path, { cwd: VALID_DIR }));
      const golden = join(VALID_DIR, `${entry.name.replace(/\.(ias|json|ya?ml)$/, '')}.golden.json`);
      const warnings = formatDiagnostics(result.warnings).split('\n').filter(Boolean);
      const actual = JSON.parse(JSON.stringify({ definitions: result.definitions, warnings }));
      if (update || !existsSync(golden)) writeFileSync(golden, `${JSON.stringify(actual, null, 2)}\n`);
      expect(actual).toEqual(JSON.parse(readFileSync(golden, 'utf8')));
    });

    it(`${entry.name} reads back identically from its JSON and YAML forms`, async () => {
      const { definitions } = expectOk(await loadDefinitions(entry.path, { cwd: VALID_DIR }));
      const host = memorySourceHost({
        '/m/model.json': JSON.stringify(definitions, null, 2),
        '/m/model.yaml': stringify(definitions),
      });
      const fromJson = expectOk(await loadDefinitions('/m/model.json', { host }));
      const fromYaml = expectOk(await loadDefinitions('/m/model.yaml', { host }));
      expect(fromJson.definitions).toEqual(definitions);
      expect(fromYaml.definitions).toEqual(definitions);
    });
  }
});
