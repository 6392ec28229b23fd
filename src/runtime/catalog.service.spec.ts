import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../common/logging/logger.js';
import { loadConfig } from '../config/configuration.js';
import { CatalogService, loadInitialDefinitions } from './catalog.service.js';

const dir = mkdtempSync(join(tmpdir(), 'catalog-config-'));
const path = join(dir, 'desk.ias');
const VARIABLE = 'AGENTSPEC_CONFIG_DESK_TOKEN';
const SECRET = 'tok-catalog-0123456789';

function writeDefinitions(config: string): void {
  writeFileSync(
    path,
    'package "desk" version "1.0.0" lang "3.0"\n' +
      'prompt "p" { content "Desk {{config.tier}}" }\n' +
      `agent "desk" {\n  uses prompt "p"\n  model "mock/echo"\n  config {\n${config}  }\n}\n`,
  );
}

afterEach(() => {
  delete process.env[VARIABLE];
  delete process.env.AGENTSPEC_CONFIG_DESK_TIER;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('agent config at start and reload', () => {
  it('refuses to start without a required value, naming the variable', async () => {
    writeDefinitions('    tier string\n    token string required secret\n      "Desk token"\n');
    expect(await loadInitialDefinitions(path)).toEqual({
      ok: false,
      errors:
        'error: config parameter "token" of agent "desk" is required: set AGENTSPEC_CONFIG_DESK_TOKEN ' +
        '(or AGENTSPEC_CONFIG_DESK_TOKEN_FILE, a file holding the value)',
    });
    process.env[VARIABLE] = SECRET;
    expect(await loadInitialDefinitions(path)).toMatchObject({ ok: true });
  });

  it('refuses a reload whose values are missing or wrong, keeps the old set, and never logs a value', async () => {
    writeDefinitions('    tier string default "gold"\n');
    const loaded = await loadInitialDefinitions(path);
    if (!loaded.ok) throw new Error(loaded.errors);
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString('utf8'));
        done();
      },
    });
    const catalog = new CatalogService(loaded.definitions, loadConfig({ AGENTSPEC_DEFINITIONS: path }), createLogger('info', sink));
    try {
      expect(catalog.findAgent('desk')?.profile.prompt?.config?.get('tier')).toBe('gold');

      writeDefinitions('    tier string default "gold"\n    token int required secret\n');
      process.env[VARIABLE] = SECRET;
      const refused = await catalog.reload();
      expect(refused).toEqual({
        ok: false,
        errors: 'AGENTSPEC_CONFIG_DESK_TOKEN: must be an integer (config parameter "token" of agent "desk" is of type int)',
      });
      expect(catalog.definitions.agents[0].config.map((p) => p.name)).toEqual(['tier']);

      process.env.AGENTSPEC_CONFIG_DESK_TIER = 'platinum';
      process.env[VARIABLE] = '4242';
      expect(await catalog.reload()).toMatchObject({ ok: true });
      expect(catalog.findAgent('desk')?.profile.prompt?.config?.get('tier')).toBe('platinum');
      expect(lines.join('')).not.toContain(SECRET);
      expect(lines.join('')).not.toContain('4242');
    } finally {
      await catalog.onApplicationShutdown();
    }
  });
});
