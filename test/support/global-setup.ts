import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { EmbeddedDatabaseError, startEmbeddedDatabase, type EmbeddedDatabase } from '../../src/database/embedded-database.js';

declare module 'vitest' {
  export interface ProvidedContext {
    adminDatabaseUrl: string;
    databasePrefix: string;
    embeddedDatabase: boolean;
  }
}

/**
 * One PostgreSQL server for the whole run: TEST_DATABASE_URL or DATABASE_URL when set, else an
 * embedded server in a temporary folder. Each test file then makes its own database on it.
 */
export default async function setup(project: TestProject) {
  const given = process.env.TEST_DATABASE_URL ?? process.env.DATABASE_URL;
  let embedded: EmbeddedDatabase | undefined;
  let dataDir: string | undefined;
  let adminUrl: string;
  if (given) {
    adminUrl = given;
  } else {
    dataDir = await mkdtemp(join(tmpdir(), 'agentspec-test-pg-'));
    await import('node:fs/promises').then((fs) => fs.chmod(dataDir!, 0o755));
    try {
      embedded = await startEmbeddedDatabase({ dataDir, persistent: false });
    } catch (error) {
      await rm(dataDir, { recursive: true, force: true });
      // A thrown error would be reported as Vitest's "Unhandled Error" with a stack; this one
      // is a known situation whose message says what to do.
      if (!(error instanceof EmbeddedDatabaseError)) throw error;
      process.stderr.write(`\nThe embedded PostgreSQL for the tests did not start: ${error.message}\n\n`);
      process.exit(1);
    }
    adminUrl = embedded.url;
  }
  const prefix = `agentspec_test_${process.pid}_${Date.now().toString(36)}_`;
  project.provide('adminDatabaseUrl', adminUrl);
  project.provide('databasePrefix', prefix);
  project.provide('embeddedDatabase', embedded !== undefined);

  return async () => {
    if (given) await dropTestDatabases(adminUrl, prefix);
    await embedded?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  };
}

async function dropTestDatabases(adminUrl: string, prefix: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname LIKE $1', [
      `${prefix}%`,
    ]);
    for (const row of rows) await client.query(`DROP DATABASE IF EXISTS "${row.datname}" WITH (FORCE)`);
  } finally {
    await client.end();
  }
}
