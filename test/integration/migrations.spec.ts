import { afterEach, describe, expect, it } from 'vitest';
import type { DataSource } from 'typeorm';
import { MIGRATIONS } from '../../migrations/index.js';
import { MIGRATIONS_TABLE, revertLastMigration, runMigrations } from '../../src/database/data-source.js';
import { connect, createTestDatabase, openDataSource } from '../support/database.js';

describe('migrations', () => {
  const open: DataSource[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((dataSource) => dataSource.destroy()));
  });

  async function dataSourceFor(url: string): Promise<DataSource> {
    const dataSource = await openDataSource(url, 3);
    open.push(dataSource);
    return dataSource;
  }

  it('lets several replicas start at once: each migration is applied exactly once', async () => {
    const url = await createTestDatabase();
    const replicas = await Promise.all([1, 2, 3, 4, 5].map(() => dataSourceFor(url)));
    const applied = await Promise.all(replicas.map((replica) => runMigrations(replica)));

    expect(applied.flat().sort()).toEqual(MIGRATIONS.map((migration) => new migration().name).sort());
    const client = await connect(url);
    try {
      const { rows } = await client.query(`SELECT name FROM ${MIGRATIONS_TABLE}`);
      expect(rows).toHaveLength(MIGRATIONS.length);
    } finally {
      await client.end();
    }
  });

  it('reverts every migration and applies them again', async () => {
    const url = await createTestDatabase();
    const dataSource = await dataSourceFor(url);
    await runMigrations(dataSource);
    for (let i = 0; i < MIGRATIONS.length; i++) await revertLastMigration(dataSource);

    const client = await connect(url);
    try {
      const tables = await client.query(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_name <> $1",
        [MIGRATIONS_TABLE],
      );
      expect(tables.rows).toEqual([]);
      expect(await runMigrations(dataSource)).toHaveLength(MIGRATIONS.length);
      const again = await client.query(
        "SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = 'public' AND table_name <> $1",
        [MIGRATIONS_TABLE],
      );
      expect(again.rows[0].n).toBeGreaterThan(0);
    } finally {
      await client.end();
    }
  });
});
