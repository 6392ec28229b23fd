import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Sessions and their append-only messages (issue 5). Every query of SessionsRepository is
 * served by one of the indexes below; a live session is `status = 'active'` and not idle
 * longer than the configured timeout.
 */
export class CreateSessions1764460900000 implements MigrationInterface {
  name = 'CreateSessions1764460900000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE sessions (
        id               text        NOT NULL,
        agent            text        NOT NULL,
        metadata         jsonb       NOT NULL DEFAULT '{}'::jsonb,
        principal        text        NOT NULL,
        correlation_id   text        NOT NULL,
        created_at       timestamptz NOT NULL DEFAULT now(),
        last_active_at   timestamptz NOT NULL DEFAULT now(),
        turns            integer     NOT NULL DEFAULT 0,
        status           text        NOT NULL DEFAULT 'active',
        deleted_at       timestamptz NULL,
        lease_token      text        NULL,
        lease_expires_at timestamptz NULL,
        CONSTRAINT pk_sessions PRIMARY KEY (id),
        CONSTRAINT ck_sessions_id CHECK (id LIKE 'sess\\_%'),
        CONSTRAINT ck_sessions_metadata CHECK (jsonb_typeof(metadata) = 'object'),
        CONSTRAINT ck_sessions_turns CHECK (turns >= 0),
        CONSTRAINT ck_sessions_status CHECK (status IN ('active', 'deleted')),
        CONSTRAINT ck_sessions_deleted_at CHECK ((status = 'deleted') = (deleted_at IS NOT NULL)),
        CONSTRAINT ck_sessions_lease CHECK ((lease_token IS NULL) = (lease_expires_at IS NULL))
      )`);
    // List page: newest first among an agent's live sessions.
    await queryRunner.query(
      `CREATE INDEX ix_sessions_agent_created_at ON sessions (agent, created_at DESC, id DESC) WHERE status = 'active'`,
    );
    // List total and the active gauge: index-only counts of live sessions per agent.
    await queryRunner.query(
      `CREATE INDEX ix_sessions_agent_last_active_at ON sessions (agent, last_active_at) WHERE status = 'active'`,
    );
    // Retention purge, deleted sessions included.
    await queryRunner.query('CREATE INDEX ix_sessions_last_active_at ON sessions (last_active_at)');

    await queryRunner.query(`
      CREATE TABLE session_messages (
        id             bigint      GENERATED ALWAYS AS IDENTITY,
        session_id     text        NOT NULL,
        turn           integer     NOT NULL,
        role           text        NOT NULL,
        content        text        NOT NULL,
        usage          jsonb       NULL,
        tool_calls     jsonb       NULL,
        principal      text        NOT NULL,
        correlation_id text        NOT NULL,
        created_at     timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT pk_session_messages PRIMARY KEY (id),
        CONSTRAINT fk_session_messages_session_id FOREIGN KEY (session_id) REFERENCES sessions (id) ON DELETE CASCADE,
        CONSTRAINT uq_session_messages_session_id_turn_role UNIQUE (session_id, turn, role),
        CONSTRAINT ck_session_messages_turn CHECK (turn >= 1),
        CONSTRAINT ck_session_messages_role CHECK (role IN ('user', 'assistant'))
      )`);
    // Memory window (backward scan with LIMIT) and history (forward scan) in turn order; within
    // a turn, id orders the user message before the answer (both inserted by one statement).
    await queryRunner.query(
      'CREATE INDEX ix_session_messages_session_id_turn_id ON session_messages (session_id, turn, id)',
    );
    await queryRunner.query('CREATE INDEX ix_session_messages_correlation_id ON session_messages (correlation_id)');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE session_messages');
    await queryRunner.query('DROP TABLE sessions');
  }
}
