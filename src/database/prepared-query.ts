import { createHash } from 'node:crypto';
import type { Pool, QueryResultRow } from 'pg';
import type { DataSource } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver.js';

/** A statement run by name: each pooled connection parses it once. */
export interface PreparedStatement {
  readonly name: string;
  readonly text: string;
}

/**
 * Names a statement by the hash of its text, so that a changed text is a new statement on
 * connections that prepared the old one.
 */
export function preparedStatement(prefix: string, text: string): PreparedStatement {
  return { name: `${prefix}_${createHash('sha256').update(text).digest('hex').slice(0, 16)}`, text };
}

/**
 * Runs a named prepared statement straight on the pool, past TypeORM's query runner (issue 16:
 * the hot statements of turns and invocations). Only for statements whose plan does not depend
 * on the parameters' values. Errors are pg's own, so isDatabaseUnavailable() still knows them.
 */
export async function preparedRows<T>(dataSource: DataSource, statement: PreparedStatement, values: unknown[]): Promise<T[]> {
  const pool = (dataSource.driver as PostgresDriver).master as Pool;
  const result = await pool.query<T & QueryResultRow>({ name: statement.name, text: statement.text, values });
  return result.rows;
}
