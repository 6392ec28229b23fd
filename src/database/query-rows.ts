import { DataSource, type EntityManager, type QueryRunner } from 'typeorm';

/**
 * The rows of one SQL statement. TypeORM's plain `query()` answers UPDATE/DELETE … RETURNING
 * with `[rows, affected]` and SELECT with the rows; the structured result is the same for both.
 * Inside a transaction pass its manager or query runner, so the statement runs there.
 */
export async function queryRows<T>(source: DataSource | EntityManager | QueryRunner, sql: string, parameters: unknown[]): Promise<T[]> {
  const given = source instanceof DataSource ? undefined : 'isReleased' in source ? source : source.queryRunner;
  const runner = given ?? (source instanceof DataSource ? source : (source as EntityManager).connection).createQueryRunner();
  try {
    return (await runner.query(sql, parameters, true)).records as T[];
  } finally {
    if (!given) await runner.release();
  }
}
