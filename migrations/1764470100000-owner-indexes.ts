import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Sessions and pipeline runs belong to the principal that created them (docs/security.md
 * "Authorization"): a caller who is not admin or auditor lists only its own. These indexes serve
 * those owner-filtered lists, their totals and "the latest run" without reading other
 * principals' rows; the unfiltered lists keep using the existing indexes.
 *
 * Plain CREATE INDEX (migrations run in a transaction) blocks writes to the table while it is
 * built: on a large existing table, create them beforehand with CREATE INDEX CONCURRENTLY under
 * the same names and this migration finds them there.
 */
export class OwnerIndexes1764470100000 implements MigrationInterface {
  name = 'OwnerIndexes1764470100000';

  async up(queryRunner: QueryRunner): Promise<void> {
    // Page and total of one principal's live sessions of an agent; last_active_at is included so
    // the idle check of the total needs no table visit.
    await queryRunner.query(
      `CREATE INDEX IF NOT EXISTS ix_sessions_agent_principal_created_at
         ON sessions (agent, principal, created_at DESC, id DESC) INCLUDE (last_active_at) WHERE status = 'active'`,
    );
    // Page, total and latest of one principal's runs of a pipeline.
    await queryRunner.query(
      `CREATE INDEX IF NOT EXISTS ix_pipeline_runs_pipeline_principal_created_at
         ON pipeline_runs (pipeline, principal, created_at DESC, run_id DESC)`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP INDEX IF EXISTS ix_pipeline_runs_pipeline_principal_created_at');
    await queryRunner.query('DROP INDEX IF EXISTS ix_sessions_agent_principal_created_at');
  }
}
