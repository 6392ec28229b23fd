import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { DataSource } from 'typeorm';
import { inject } from 'vitest';
import { createDataSource, runMigrations } from '../../src/database/data-source.js';

/** Creates an empty database for one test file on the run's server and returns its URL. */
export async function createTestDatabase(): Promise<string> {
  const adminUrl = inject('adminDatabaseUrl');
  const name = `${inject('databasePrefix')}${randomBytes(4).toString('hex')}`;
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE "${name}"`);
  } finally {
    await client.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** A data source on `url`, connected (as one replica of the service would be); the caller destroys it. */
export async function openDataSource(url: string, poolSize = 10): Promise<DataSource> {
  const dataSource = createDataSource({ url, poolSize });
  await dataSource.initialize();
  return dataSource;
}

/**
 * A new test database with every migration applied, as the app leaves it at start-up, and the
 * connected data source that migrated it; the caller destroys it.
 */
export async function createMigratedDatabase(poolSize = 10): Promise<{ url: string; dataSource: DataSource }> {
  const url = await createTestDatabase();
  const dataSource = await openDataSource(url, poolSize);
  await runMigrations(dataSource);
  return { url, dataSource };
}

/** A plain pg client on a test database, for assertions on what was stored. */
export async function connect(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return client;
}
