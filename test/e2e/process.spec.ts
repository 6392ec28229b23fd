import { describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/database.js';
import { spawnServer } from '../support/spawn-server.js';

describe('the server process', () => {
  it('stops on SIGTERM: refuses new connections, closes the pool, exits 0', async () => {
    const server = await spawnServer({ DATABASE_URL: await createTestDatabase() });
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);

    server.process.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
    expect(server.output()).toContain('"msg":"stopped"');
  });

  it('refuses to start on an invalid variable, naming it, with a non-zero exit', async () => {
    await expect(spawnServer({ AGENTSPEC_SESSION_IDLE_TIMEOUT: 'forever' }, 5_000)).rejects.toThrow(
      /exited with 2:[\s\S]*AGENTSPEC_SESSION_IDLE_TIMEOUT/,
    );
  });
});
