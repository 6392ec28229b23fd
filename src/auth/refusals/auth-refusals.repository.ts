import type { DataSource } from 'typeorm';
import type { Refusal } from './refusal.js';

/** All SQL of the `auth_refusals` table (migration 1764470300000). */
export class AuthRefusalsRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** One statement for a whole batch, whatever its size: one array parameter per column. */
  async insertMany(refusals: readonly Refusal[]): Promise<void> {
    if (refusals.length === 0) return;
    await this.dataSource.query(
      `INSERT INTO auth_refusals (at, status, code, reason, principal, ip, method, route, correlation_id)
       SELECT * FROM unnest($1::timestamptz[], $2::smallint[], $3::text[], $4::text[], $5::text[], $6::inet[],
                            $7::text[], $8::text[], $9::text[])`,
      [
        refusals.map((refusal) => refusal.at.toISOString()),
        refusals.map((refusal) => refusal.status),
        refusals.map((refusal) => refusal.code),
        refusals.map((refusal) => refusal.reason),
        refusals.map((refusal) => refusal.principal ?? null),
        refusals.map((refusal) => refusal.ip ?? null),
        refusals.map((refusal) => refusal.method),
        refusals.map((refusal) => refusal.route ?? null),
        refusals.map((refusal) => refusal.correlationId),
      ],
    );
  }
}
