import { describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/database.js';
import { spawnServer } from '../support/spawn-server.js';

describe('safe defaults of the server process', () => {
  it('refuses to start in production without any credential, naming the variables', async () => {
    const databaseUrl = await createTestDatabase();
    const failure = await spawnServer({ NODE_ENV: 'production', DATABASE_URL: databaseUrl }, 15_000).then(
      () => undefined,
      (error: Error) => error.message,
    );
    expect(failure).toMatch(/server exited with [1-9]/);
    expect(failure).toContain('NODE_ENV=production but no credentials are configured');
    for (const variable of ['AGENTSPEC_API_KEY', 'AGENTSPEC_API_KEYS', 'OIDC_ISSUER', 'AGENTSPEC_AUTH=none'])
      expect(failure).toContain(variable);
    expect(failure).not.toContain('"msg":"serving ');
  });

  it('serves in production once a key is configured, or when AGENTSPEC_AUTH=none says so on purpose', async () => {
    const databaseUrl = await createTestDatabase();
    const keyed = await spawnServer({ NODE_ENV: 'production', DATABASE_URL: databaseUrl, AGENTSPEC_API_KEY: 'prod-key-0123456789abcdef' });
    try {
      expect((await fetch(`${keyed.url}/v1/agents`)).status).toBe(401);
    } finally {
      keyed.process.kill('SIGTERM');
      await keyed.exited;
    }
    const open = await spawnServer({ NODE_ENV: 'production', DATABASE_URL: databaseUrl, AGENTSPEC_AUTH: 'none' });
    try {
      expect((await fetch(`${open.url}/v1/agents`)).status).toBe(200);
      expect(open.output()).toContain('DEVELOPMENT MODE');
    } finally {
      open.process.kill('SIGTERM');
      await open.exited;
    }
  });

  it('refuses AGENTSPEC_AUTH=none next to a configured key, with exit code 2', async () => {
    await expect(spawnServer({ AGENTSPEC_AUTH: 'none', AGENTSPEC_API_KEY: 'some-key-0123456789' }, 5_000)).rejects.toThrow(
      /exited with 2:[\s\S]*AGENTSPEC_AUTH: none contradicts/,
    );
  });
});
