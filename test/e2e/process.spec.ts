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

  it('lets an in-flight request finish after SIGTERM before exiting', async () => {
    const server = await spawnServer({ DATABASE_URL: await createTestDatabase(), AGENTSPEC_DEFINITIONS: 'test/fixtures/e2e/agents.ias' });
    // slow-talker streams one word per 40 ms: this call takes about 0.7 s.
    const inFlight = fetch(`${server.url}/v1/agents/slow-talker/stream`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ input: 'a b c d e f g h i j k l m n o p' }),
    }).then((response) => response.text());
    await new Promise((resolve) => setTimeout(resolve, 200));
    server.process.kill('SIGTERM');
    const text = await inFlight;
    expect(text).toContain('"type":"done"');
    expect(await server.exited).toBe(0);
  });

  it('refuses to start on an invalid variable, naming it, with a non-zero exit', async () => {
    await expect(spawnServer({ AGENTSPEC_SESSION_IDLE_TIMEOUT: 'forever' }, 5_000)).rejects.toThrow(
      /exited with 2:[\s\S]*AGENTSPEC_SESSION_IDLE_TIMEOUT/,
    );
  });
});
