import type { DataSource, EntityManager } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isDatabaseUnavailable } from '../../src/common/errors/database-errors.js';
import { toErrorResponse } from '../../src/common/errors/error-table.js';
import { connect, createTestDatabase, openDataSource } from '../support/database.js';
import { eventually } from '../support/eventually.js';

/**
 * A transaction whose connection PostgreSQL terminates between two of its statements (57P01,
 * as `pg_terminate_backend` or a fast restart does). TypeORM releases the transaction's query
 * runner when its connection emits 'error', so the next statement, or the COMMIT, fails with
 * TypeORM's "already released" error rather than pg's: it must still answer 503 `unavailable`,
 * not 500 (a pipeline run's start met this in the fault suite).
 */
describe('a transaction that loses its connection between statements', () => {
  let url: string;
  let dataSource: DataSource;

  beforeAll(async () => {
    url = await createTestDatabase();
    dataSource = await openDataSource(url, 4);
    await dataSource.query('CREATE TABLE notes (text text NOT NULL)');
  });

  afterAll(async () => {
    await dataSource?.destroy();
  });

  /** Terminates the transaction's backend and waits until TypeORM has released its runner. */
  async function terminate(manager: EntityManager): Promise<void> {
    const [{ pid }] = await manager.query<{ pid: number }[]>('SELECT pg_backend_pid() AS pid');
    const admin = await connect(url);
    try {
      await admin.query('SELECT pg_terminate_backend($1)', [pid]);
    } finally {
      await admin.end();
    }
    await eventually(() => Promise.resolve(manager.queryRunner?.isReleased === true), { what: 'the query runner to be released' });
  }

  async function failure(work: (manager: EntityManager) => Promise<void>): Promise<unknown> {
    return dataSource.transaction(work).then(
      () => undefined,
      (error: unknown) => error,
    );
  }

  async function storedNotes(): Promise<number> {
    const [{ n }] = await dataSource.query<{ n: number }[]>('SELECT count(*)::int AS n FROM notes');
    return n;
  }

  it('fails the next statement as "unavailable" (503 with Retry-After)', async () => {
    const before = await storedNotes();
    const error = await failure(async (manager) => {
      await manager.query(`INSERT INTO notes VALUES ('lost')`);
      await terminate(manager);
      await manager.query(`INSERT INTO notes VALUES ('never')`);
    });
    expect((error as Error).name).toBe('QueryRunnerProviderAlreadyReleasedError');
    expect(isDatabaseUnavailable(error)).toBe(true);
    const answer = toErrorResponse(error);
    expect(answer.status).toBe(503);
    expect(answer.body.error.code).toBe('unavailable');
    expect(answer.headers['Retry-After']).toBeDefined();
    expect(await storedNotes()).toBe(before);
  });

  it('fails the COMMIT as "unavailable", and nothing of the transaction is stored', async () => {
    const before = await storedNotes();
    const error = await failure(async (manager) => {
      await manager.query(`INSERT INTO notes VALUES ('lost')`);
      await terminate(manager);
    });
    expect((error as Error).name).toBe('QueryRunnerAlreadyReleasedError');
    expect(toErrorResponse(error).status).toBe(503);
    expect(await storedNotes()).toBe(before);
    // The pool gave up the dead connection: the next transaction commits.
    await dataSource.transaction((manager) => manager.query(`INSERT INTO notes VALUES ('kept')`));
    expect(await storedNotes()).toBe(before + 1);
  });

  it('still answers 500 for a statement the database refuses', async () => {
    const error = await failure(async (manager) => {
      await manager.query('SELECT * FROM no_such_table');
    });
    expect(isDatabaseUnavailable(error)).toBe(false);
    expect(toErrorResponse(error).status).toBe(500);
  });
});
