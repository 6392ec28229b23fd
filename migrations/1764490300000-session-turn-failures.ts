import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Turns that failed (docs/audit.md, issue 15): a turn whose run failed, was refused mid-run or
 * lost its client stores no messages, so without this table it left no record. The sessions
 * service writes one row in the statement that frees the session; a trigger turns it into a
 * `session_turn` audit event with its outcome. The rows go with their session (retention, as
 * the session's messages); the audit events stay.
 */
export class SessionTurnFailures1764490300000 implements MigrationInterface {
  name = 'SessionTurnFailures1764490300000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE session_turn_failures (
        id             bigint      GENERATED ALWAYS AS IDENTITY,
        session_id     text        NOT NULL,
        turn           integer     NOT NULL,
        principal      text        NOT NULL,
        outcome        text        NOT NULL,
        error_code     text        NOT NULL,
        correlation_id text        NOT NULL,
        at             timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT pk_session_turn_failures PRIMARY KEY (id),
        CONSTRAINT fk_session_turn_failures_session FOREIGN KEY (session_id) REFERENCES sessions (id) ON DELETE CASCADE,
        CONSTRAINT ck_session_turn_failures_outcome CHECK (outcome IN ('error', 'cancelled', 'refused')),
        -- A release retried after its first attempt's answer was lost writes nothing twice.
        CONSTRAINT uq_session_turn_failures_turn UNIQUE (session_id, turn, correlation_id)
      )`);
    await queryRunner.query(`
      CREATE FUNCTION audit_from_session_turn_failure() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO audit_events (at, kind, outcome, principal, agent, session_id, correlation_id, detail)
        SELECT date_trunc('milliseconds', NEW.at), 'session_turn', NEW.outcome, NEW.principal, s.agent, NEW.session_id,
               NEW.correlation_id, jsonb_build_object('turn', NEW.turn, 'error_code', NEW.error_code)
        FROM sessions s WHERE s.id = NEW.session_id;
        RETURN NULL;
      END
      $$`);
    await queryRunner.query(`
      CREATE TRIGGER tg_session_turn_failures_audit AFTER INSERT ON session_turn_failures
        FOR EACH ROW EXECUTE FUNCTION audit_from_session_turn_failure()`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE session_turn_failures');
    await queryRunner.query('DROP FUNCTION audit_from_session_turn_failure()');
  }
}
