import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/database.js';
import { eventually } from '../support/eventually.js';
import { post } from '../support/http.js';
import { spawnServer } from '../support/spawn-server.js';

const HEADER = 'package "reload" version "1.0.0" lang "2.0"\n';
const agent = (name: string) => `prompt "p-${name}" {\n  content "Hi."\n}\nagent "${name}" {\n  uses prompt "p-${name}"\n  model "mock/echo"\n}\n`;

async function agentNames(url: string): Promise<string[]> {
  const body = (await (await fetch(`${url}/v1/agents`)).json()) as { agents: { name: string }[] };
  return body.agents.map((entry) => entry.name);
}

describe('definitions at start and on SIGHUP', () => {
  it('refuses to start on invalid definitions, printing every error with its position', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'agentspec-defs-'));
    await writeFile(join(folder, 'bad.ias'), `${HEADER}agent "a" {\n  model "mock/echo"\n  temperature 7\n}\n`);
    await expect(spawnServer({ DATABASE_URL: await createTestDatabase(), AGENTSPEC_DEFINITIONS: folder }, 10_000)).rejects.toThrow(
      /exited with 1:[\s\S]*bad\.ias:\d+:\d+: error: [\s\S]*bad\.ias:\d+:\d+: error:/,
    );
  });

  it('reloads on SIGHUP: a valid new set replaces the old one, an invalid one is refused', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'agentspec-defs-'));
    const file = join(folder, 'agents.ias');
    await writeFile(file, HEADER + agent('first'));
    const server = await spawnServer({ DATABASE_URL: await createTestDatabase(), AGENTSPEC_DEFINITIONS: folder });
    try {
      expect(await agentNames(server.url)).toEqual(['first']);

      await writeFile(file, HEADER + agent('first') + agent('second'));
      server.process.kill('SIGHUP');
      await eventually(async () => (await agentNames(server.url)).length === 2);
      expect(await agentNames(server.url)).toEqual(['first', 'second']);
      const invoked = await post(server, '/v1/agents/second/invoke', { input: 'new' });
      expect(invoked.status).toBe(200);

      await writeFile(file, `${HEADER}agent "broken" {\n  uses prompt "missing"\n}\n`);
      server.process.kill('SIGHUP');
      await eventually(async () => server.output().includes('definitions reload refused'));
      expect(await agentNames(server.url)).toEqual(['first', 'second']);
      expect(server.process.exitCode).toBeNull();
    } finally {
      server.process.kill('SIGTERM');
      await server.exited;
    }
  });
});
