import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Audit rows for stateless invoke/stream calls. Content only when AGENTSPEC_AUDIT_CONTENT=true. */
export class CreateInvocations1764460800000 implements MigrationInterface {
  name = 'CreateInvocations1764460800000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE invocations (
        id             text        NOT NULL,
        agent          text        NOT NULL,
        endpoint       text        NOT NULL,
        principal      text        NOT NULL,
        status         text        NOT NULL,
        error_code     text        NULL,
        input_tokens   integer     NOT NULL DEFAULT 0,
        output_tokens  integer     NOT NULL DEFAULT 0,
        duration_ms    integer     NOT NULL,
        correlation_id text        NOT NULL,
        input          text        NULL,
        output         text        NULL,
        created_at     timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT pk_invocations PRIMARY KEY (id),
        CONSTRAINT ck_invocations_status CHECK (status IN ('completed', 'failed', 'cancelled'))
      )`);
    await queryRunner.query(
      'CREATE INDEX ix_invocations_agent_created_at ON invocations (agent, created_at DESC)',
    );
    await queryRunner.query('CREATE INDEX ix_invocations_correlation_id ON invocations (correlation_id)');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE invocations');
  }
}
