import { DataSource, type QueryRunner } from 'typeorm';
import { MIGRATIONS } from '../../migrations/index.js';

export const MIGRATIONS_TABLE = 'agentspec_migrations';
/** Key of the session advisory lock held while migrating (any constant shared by replicas). */
export const MIGRATION_LOCK_KEY = 4_717_011_001;
const STATEMENT_TIMEOUT_MS = 30_000;

export interface DatabaseOptions {
  url: string;
  poolSize: number;
  applicationName?: string;
  /**
   * Called when an idle pooled connection fails (e.g. `57P01` on a fast restart of
   * PostgreSQL); the pool has already dropped it. Without a listener pg would crash the process.
   */
  onPoolError?: (error: Error) => void;
}

/** The one DataSource definition, used by the app, the migration CLI and the tests. */
export function createDataSource(options: DatabaseOptions): DataSource {
  return new DataSource({
    type: 'postgres',
    url: options.url,
    migrations: MIGRATIONS,
    migrationsTableName: MIGRATIONS_TABLE,
    migrationsRun: false,
    synchronize: false,
    logging: false,
    entities: [],
    applicationName: options.applicationName ?? 'agentspec-runtime',
    ...(options.onPoolError ? { poolErrorHandler: options.onPoolError } : {}),
    extra: {
      max: options.poolSize,
      // Fail fast while the database is unreachable, so callers answer 503 instead of hanging.
      connectionTimeoutMillis: 3_000,
      idleTimeoutMillis: 30_000,
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      // A database that stops answering (rather than refusing) must not hold a request forever.
      statement_timeout: STATEMENT_TIMEOUT_MS,
      query_timeout: STATEMENT_TIMEOUT_MS + 5_000,
    },
  });
}

/**
 * Runs pending migrations under a Postgres advisory lock so that replicas starting together
 * take turns: the first migrates, the others then find nothing to do.
 */
export async function runMigrations(dataSource: DataSource): Promise<string[]> {
  const lockRunner = dataSource.createQueryRunner();
  await lockRunner.connect();
  try {
    await acquireMigrationLock(lockRunner);
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    return applied.map((migration) => migration.name);
  } finally {
    await lockRunner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
    await lockRunner.release();
  }
}

export async function revertLastMigration(dataSource: DataSource): Promise<void> {
  const lockRunner = dataSource.createQueryRunner();
  await lockRunner.connect();
  try {
    await acquireMigrationLock(lockRunner);
    await dataSource.undoLastMigration({ transaction: 'each' });
  } finally {
    await lockRunner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
    await lockRunner.release();
  }
}

/** Polls rather than blocks, so waiting for another replica's migration is never one long statement. */
async function acquireMigrationLock(runner: QueryRunner): Promise<void> {
  for (;;) {
    const [{ locked }] = (await runner.query('SELECT pg_try_advisory_lock($1) AS locked', [MIGRATION_LOCK_KEY])) as { locked: boolean }[];
    if (locked) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
