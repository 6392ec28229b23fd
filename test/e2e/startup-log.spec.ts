import { describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/database.js';
import { spawnServer, type SpawnedServer } from '../support/spawn-server.js';

const NEST_START_UP = ['NestFactory', 'InstanceLoader', 'RoutesResolver', 'RouterExplorer', 'NestApplication'];

function logLines(server: SpawnedServer): Record<string, unknown>[] {
  return server
    .output()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

async function stop(server: SpawnedServer): Promise<void> {
  server.process.kill('SIGTERM');
  await server.exited;
}

describe('start-up log of the server process', () => {
  it('says once, at info, where it serves, its docs, its database (no credentials), what and how protected', async () => {
    const databaseUrl = await createTestDatabase();
    const url = new URL(databaseUrl);
    const server = await spawnServer({
      DATABASE_URL: databaseUrl,
      AGENTSPEC_DEFINITIONS: 'test/fixtures/e2e-pipelines/pipelines.ias',
      AGENTSPEC_API_KEY: 'start-up-key-0123456789',
    });
    try {
      const lines = logLines(server);
      const info = lines.filter((line) => line.level === 'info');
      const serving = info.filter((line) => String(line.msg).startsWith('serving '));
      expect(serving).toHaveLength(1);
      const database = `${url.hostname}:${url.port || '5432'}${url.pathname}`;
      expect(serving[0]).toMatchObject({
        url: server.url,
        docs_url: `${server.url}/docs`,
        database,
        agents: 4,
        pipelines: 4,
        auth: 'api-key',
      });
      expect(serving[0].msg).toBe(
        `serving ${server.url}, API docs at ${server.url}/docs; database ${database}; 4 agents, 4 pipelines; auth api-key`,
      );
      expect((await fetch(serving[0].docs_url as string)).status).toBe(200);
      expect(info.filter((line) => NEST_START_UP.includes(String(line.context)))).toEqual([]);
      if (url.password) expect(server.output()).not.toContain(url.password);
    } finally {
      await stop(server);
    }
  });

  it("writes Nest's module and route lines at debug, for LOG_LEVEL=debug only", async () => {
    const server = await spawnServer({
      DATABASE_URL: await createTestDatabase(),
      AGENTSPEC_DEFINITIONS: 'test/fixtures/e2e/agents.ias',
      LOG_LEVEL: 'debug',
    });
    try {
      const lines = logLines(server);
      const nest = lines.filter((line) => NEST_START_UP.includes(String(line.context)));
      expect(nest.map((line) => line.context)).toEqual(expect.arrayContaining(['InstanceLoader', 'RoutesResolver', 'RouterExplorer']));
      expect(new Set(nest.map((line) => line.level))).toEqual(new Set(['debug']));
      expect(lines.filter((line) => String(line.msg).startsWith('serving '))).toEqual([
        expect.objectContaining({ level: 'info', auth: 'none (development)', agents: 7, pipelines: 0 }),
      ]);
    } finally {
      await stop(server);
    }
  });
});
