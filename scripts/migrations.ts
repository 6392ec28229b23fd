import { startEmbeddedDatabase, type EmbeddedDatabase } from '../src/database/embedded-database.js';
import { loadConfig } from '../src/config/configuration.js';
import { createDataSource, revertLastMigration, runMigrations } from '../src/database/data-source.js';

/** `npm run migration:run` / `migration:revert` against DATABASE_URL or the embedded database. */
async function main(): Promise<void> {
  const command = process.argv[2];
  if (command !== 'run' && command !== 'revert') {
    process.stderr.write('usage: migrations.js run|revert\n');
    process.exit(2);
  }
  const config = loadConfig();
  let embedded: EmbeddedDatabase | undefined;
  const url = config.databaseUrl ?? (embedded = await startEmbeddedDatabase({ dataDir: config.dataDir })).url;
  const dataSource = createDataSource({ url, poolSize: 2, applicationName: 'agentspec-migrations' });
  try {
    await dataSource.initialize();
    if (command === 'run') {
      const applied = await runMigrations(dataSource);
      process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'nothing to apply\n');
    } else {
      await revertLastMigration(dataSource);
      process.stdout.write('reverted the last migration\n');
    }
  } finally {
    if (dataSource.isInitialized) await dataSource.destroy();
    await embedded?.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
