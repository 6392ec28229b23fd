import { describe, expect, it } from 'vitest';
import { connect, createTestDatabase } from '../support/database.js';
import { post } from '../support/http.js';
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
    const inFlight = post(server, '/v1/agents/slow-talker/stream', { input: 'a b c d e f g h i j k l m n o p' }).then((response) => response.text());
    await new Promise((resolve) => setTimeout(resolve, 200));
    server.process.kill('SIGTERM');
    const text = await inFlight;
    expect(text).toContain('"type":"done"');
    expect(await server.exited).toBe(0);
  });

  it('answers a synchronous pipeline run still executing when the grace period ends with the run as it stands', async () => {
    const databaseUrl = await createTestDatabase();
    const server = await spawnServer({
      DATABASE_URL: databaseUrl,
      AGENTSPEC_DEFINITIONS: 'test/fixtures/e2e-pipelines/pipelines.ias',
      AGENTSPEC_SHUTDOWN_TIMEOUT: '1s',
    });
    // "long" is three 1.5 s steps: far longer than the 1 s grace period.
    const answer = post(server, '/v1/pipelines/long/run', { input: 'slowly' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const stoppingAt = Date.now();
    server.process.kill('SIGTERM');
    const response = await answer;
    const body = await response.json();
    expect(Date.now() - stoppingAt).toBeLessThan(4_000);
    expect(response.status).toBe(200);
    expect(body).toMatchObject({ pipeline: 'long', status: 'running' });
    expect(await server.exited).toBe(0);

    // Handed back to the queue, where another replica's worker picks it up.
    const client = await connect(databaseUrl);
    try {
      const { rows } = await client.query('SELECT status, owner FROM pipeline_runs WHERE run_id = $1', [body.run_id]);
      expect(rows).toEqual([{ status: 'queued', owner: null }]);
    } finally {
      await client.end();
    }
  });

  it('refuses to start on an invalid variable, naming it, with a non-zero exit', async () => {
    await expect(spawnServer({ AGENTSPEC_SESSION_IDLE_TIMEOUT: 'forever' }, 5_000)).rejects.toThrow(
      /exited with 2:[\s\S]*AGENTSPEC_SESSION_IDLE_TIMEOUT/,
    );
  });
});
