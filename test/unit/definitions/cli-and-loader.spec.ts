import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runDefinitionsCli } from '../../../scripts/definitions-cli.js';
import {
  DEFINITIONS_SCHEMA,
  defaultDeployPort,
  formatDiagnostics,
  loadDefinitions,
  memorySourceHost,
} from '../../../src/definitions/index.js';
import { AGENTS_DIR, INVALID_DIR, VALID_DIR } from './fixtures.js';

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runDefinitionsCli(args, { out: (t) => (out += t), err: (t) => (err += t), cwd: INVALID_DIR });
  return { code, out, err };
}

describe('definitions CLI', () => {
  it('check prints a one-line summary and exits 0 on valid definitions', async () => {
    const r = await cli('check', AGENTS_DIR);
    expect(r.code).toBe(0);
    expect(r.out).toBe('OK agentspec-examples 1.0.0: 3 files, 6 agents, 6 prompts, 0 skills, 2 pipelines\n');
    expect(r.err).toBe('');
  });

  it('check prints every error and exits 1 on invalid definitions', async () => {
    const r = await cli('check', 'missing-references.ias');
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.err).toBe(`${readFileSync(join(INVALID_DIR, 'missing-references.expected.txt'), 'utf8')}5 errors\n`);
  });

  it('print writes the lowered model as JSON', async () => {
    const r = await cli('print', join(VALID_DIR, 'minimal.ias'));
    expect(r.code).toBe(0);
    const golden = JSON.parse(readFileSync(join(VALID_DIR, 'minimal.golden.json'), 'utf8'));
    expect(JSON.parse(r.out)).toEqual(golden.definitions);
  });

  it('print refuses invalid definitions with exit 1 and no output', async () => {
    const r = await cli('print', 'pipeline-cycle.ias');
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.err).toContain('pipeline-cycle.ias:6:37: error: dependency cycle in pipeline "loop": one -> three -> two -> one');
  });

  it('check reports warnings on stderr but still exits 0', async () => {
    const r = await cli('check', join(VALID_DIR, 'lang-unknown.ias'));
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^OK future 1\.0\.0: 1 file, .*, 2 warnings\n$/);
    expect(r.err).toMatch(/lang-unknown\.ias:1:39: warning: unknown IntentLang version "4\.2"/);
  });

  it('exits 2 with usage on a bad command line', async () => {
    expect((await cli()).code).toBe(2);
    expect((await cli('lint', 'x.ias')).code).toBe(2);
    const r = await cli('check');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^usage: npm run definitions/);
  });

  it('exits 1 when the path does not exist', async () => {
    const r = await cli('check', 'no-such-file.ias');
    expect(r.code).toBe(1);
    expect(r.err).toContain('no-such-file.ias:1:1: error: cannot read definitions: no-such-file.ias does not exist');
  });

  it('schema prints the committed JSON Schema file byte for byte', async () => {
    const r = await cli('schema');
    expect(r.code).toBe(0);
    const committed = readFileSync(resolve(import.meta.dirname, '../../../schema/agentspec-definitions.schema.json'), 'utf8');
    expect(r.out).toBe(committed);
    expect(JSON.parse(committed)).toEqual(DEFINITIONS_SCHEMA);
  });
});

describe('loadDefinitions', () => {
  it('loads the bundled examples with the shapes the runtime serves', async () => {
    const r = await loadDefinitions(AGENTS_DIR);
    if (!r.ok) throw new Error(formatDiagnostics(r.diagnostics));
    const d = r.definitions;
    expect(r.warnings).toEqual([]);
    expect(d.agents.every((a) => a.models.every((m) => m.startsWith('mock/')))).toBe(true);
    const support = d.agents.find((a) => a.name === 'support-assistant');
    // Offline as the README promises: no bundled agent has a tool that reaches the network.
    expect(d.agents.flatMap((a) => a.skills)).toEqual([]);
    expect([d.skills, d.mcp_servers]).toEqual([[], []]);
    const prompt = d.prompts.find((p) => p.name === support?.prompt);
    expect(prompt?.variables).toEqual([
      { name: 'company', type: 'string', required: true, default: 'Acme Outdoor' },
      { name: 'tone', type: 'string', required: false },
    ]);
    const research = d.pipelines.find((p) => p.name === 'research-and-summarize');
    expect(research?.steps.map((s) => [s.name, s.agent, s.depends_on])).toEqual([
      ['research', 'researcher', []],
      ['summarize', 'summarizer', ['research']],
    ]);
    const review = d.pipelines.find((p) => p.name === 'review');
    expect(review?.steps.map((s) => [s.name, s.depends_on])).toEqual([
      ['security', []],
      ['style', []],
      ['verdict', ['security', 'style']],
    ]);
    expect(defaultDeployPort(d)).toBe(8080);
  });

  it('refuses a file type it does not know and an empty folder', async () => {
    const host = memorySourceHost({ '/defs/notes.txt': 'x', '/empty/sub/readme.md': '' });
    const txt = await loadDefinitions('/defs/notes.txt', { host, cwd: '/' });
    expect(txt.ok ? [] : formatDiagnostics(txt.diagnostics)).toBe(
      'defs/notes.txt:1:1: error: cannot read definitions from /defs/notes.txt: expected a .ias, .json, .yaml or .yml file, or a folder',
    );
    const empty = await loadDefinitions('/empty', { host, cwd: '/' });
    expect(empty.ok ? [] : formatDiagnostics(empty.diagnostics)).toBe('empty:1:1: error: no .ias files in /empty');
  });

  it('ignores a leading byte order mark', async () => {
    const host = memorySourceHost({
      '/bom.ias': '\uFEFFpackage "bom" version "1.0.0" lang "2.0"\nprompt "p" { content "x" }\nagent "a" { uses prompt "p" model "mock/echo" }\n',
    });
    const r = await loadDefinitions('/bom.ias', { host, cwd: '/' });
    expect(r.ok && r.definitions.package.name).toBe('bom');
  });

  it('shows paths outside the working folder as absolute paths', async () => {
    const host = memorySourceHost({ '/elsewhere/x.ias': 'prompt "p" { content "x" }\n' });
    const r = await loadDefinitions('/elsewhere/x.ias', { host, cwd: '/work' });
    expect(r.ok ? '' : formatDiagnostics(r.diagnostics)).toMatch(/^\/elsewhere\/x\.ias:1:1: error: missing package header/);
  });

  it('picks the default deploy block, or the only one, for the port', async () => {
    const base = { package: { name: 'p', version: '1.0.0', lang: '2.0' } };
    const load = async (deploy: unknown[]): Promise<number | undefined> => {
      const host = memorySourceHost({ '/m.json': JSON.stringify({ ...base, deploy }) });
      const r = await loadDefinitions('/m.json', { host, cwd: '/' });
      if (!r.ok) throw new Error(formatDiagnostics(r.diagnostics));
      return defaultDeployPort(r.definitions);
    };
    expect(await load([{ name: 'only', target: 'process', port: 7000 }])).toBe(7000);
    expect(await load([{ name: 'a', target: 'docker', port: 1 }, { name: 'b', target: 'process', port: 2, default: true }])).toBe(2);
    expect(await load([{ name: 'a', target: 'docker', port: 1 }, { name: 'b', target: 'process', port: 2 }])).toBeUndefined();
  });
});
