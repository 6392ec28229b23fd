import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Keeps the session list's `total` and the active-sessions gauge flat in the number of live
 * sessions (issue 16, docs/sessions.md "Listing"). `session_counts` holds, per agent, principal
 * and minute of last activity, how many non-deleted sessions there are; principal '' counts
 * every principal's. Triggers on `sessions` keep it in step in the same transaction as any
 * change, whoever makes it; a session moves between minutes at most once a minute, so a turn
 * rarely touches it. Rows are spread over 8 stripes so that sessions created in the same minute
 * do not all queue on one row lock. A live count is the sum of the minutes from the idle cut-off
 * on, minus the sessions of the cut-off minute that are already idle (an index range). Rows of
 * minutes nobody reads any more are folded into minute 0 by SessionsRepository.compactCounts.
 *
 * Both list indexes now include `last_active_at` (and the idle-range index `principal`), so a
 * page at a large offset skips entries without reading the table, and the cut-off minute is
 * counted from the index alone.
 */
export class SessionCounts1764490100000 implements MigrationInterface {
  name = 'SessionCounts1764490100000';

  async up(queryRunner: QueryRunner): Promise<void> {
    // A few hundred rows, each updated many times: room on every page for in-place (HOT)
    // updates, and a vacuum after a fixed number of dead versions rather than a fraction of a
    // table this small, so that sums read few dead versions.
    await queryRunner.query(`
      CREATE TABLE session_counts (
        agent     text     NOT NULL,
        principal text     NOT NULL,
        minute    bigint   NOT NULL,
        stripe    smallint NOT NULL,
        sessions  integer  NOT NULL,
        CONSTRAINT pk_session_counts PRIMARY KEY (agent, principal, minute, stripe),
        CONSTRAINT ck_session_counts_stripe CHECK (stripe BETWEEN 0 AND 7)
      ) WITH (fillfactor = 50, autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 2000)`);
    // Deltas are written in key order, so that two statements never wait on each other's rows
    // in opposite orders.
    await queryRunner.query(`
      CREATE FUNCTION session_counts_track() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        agents text[] := '{}';
        principals text[] := '{}';
        minutes bigint[] := '{}';
        deltas integer[] := '{}';
        old_minute bigint;
        new_minute bigint;
      BEGIN
        IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.status = 'active' THEN
          old_minute := floor(extract(epoch FROM OLD.last_active_at) / 60)::bigint;
          agents := agents || OLD.agent || OLD.agent;
          principals := principals || ''::text || OLD.principal;
          minutes := minutes || old_minute || old_minute;
          deltas := deltas || -1 || -1;
        END IF;
        IF TG_OP IN ('UPDATE', 'INSERT') AND NEW.status = 'active' THEN
          new_minute := floor(extract(epoch FROM NEW.last_active_at) / 60)::bigint;
          agents := agents || NEW.agent || NEW.agent;
          principals := principals || ''::text || NEW.principal;
          minutes := minutes || new_minute || new_minute;
          deltas := deltas || 1 || 1;
        END IF;
        INSERT INTO session_counts AS c (agent, principal, minute, stripe, sessions)
        SELECT d.agent, d.principal, d.minute, floor(random() * 8)::smallint, sum(d.delta)
        FROM unnest(agents, principals, minutes, deltas) AS d (agent, principal, minute, delta)
        GROUP BY d.agent, d.principal, d.minute
        HAVING sum(d.delta) <> 0
        ORDER BY d.agent, d.principal, d.minute
        ON CONFLICT ON CONSTRAINT pk_session_counts DO UPDATE SET sessions = c.sessions + excluded.sessions;
        RETURN NULL;
      END
      $$`);
    await queryRunner.query(`
      CREATE TRIGGER tr_sessions_counts_insert AFTER INSERT ON sessions
      FOR EACH ROW WHEN (NEW.status = 'active') EXECUTE FUNCTION session_counts_track()`);
    await queryRunner.query(`
      CREATE TRIGGER tr_sessions_counts_delete AFTER DELETE ON sessions
      FOR EACH ROW WHEN (OLD.status = 'active') EXECUTE FUNCTION session_counts_track()`);
    // Claims, renewals and releases set none of these columns: the trigger is not even checked.
    await queryRunner.query(`
      CREATE TRIGGER tr_sessions_counts_update AFTER UPDATE OF status, last_active_at, agent, principal ON sessions
      FOR EACH ROW WHEN (
        OLD.status IS DISTINCT FROM NEW.status OR OLD.agent IS DISTINCT FROM NEW.agent
        OR OLD.principal IS DISTINCT FROM NEW.principal
        OR floor(extract(epoch FROM OLD.last_active_at) / 60) <> floor(extract(epoch FROM NEW.last_active_at) / 60)
      ) EXECUTE FUNCTION session_counts_track()`);
    await queryRunner.query(`
      CREATE FUNCTION session_counts_clear() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        DELETE FROM session_counts;
        RETURN NULL;
      END
      $$`);
    await queryRunner.query(`
      CREATE TRIGGER tr_sessions_counts_truncate AFTER TRUNCATE ON sessions
      FOR EACH STATEMENT EXECUTE FUNCTION session_counts_clear()`);
    // After the triggers: they hold off writers to sessions until this transaction commits.
    await queryRunner.query(`
      INSERT INTO session_counts (agent, principal, minute, stripe, sessions)
      SELECT s.agent, p.principal, floor(extract(epoch FROM s.last_active_at) / 60)::bigint, 0, count(*)
      FROM sessions s CROSS JOIN LATERAL (VALUES (''), (s.principal)) AS p (principal)
      WHERE s.status = 'active'
      GROUP BY 1, 2, 3`);

    await queryRunner.query('DROP INDEX ix_sessions_agent_created_at');
    await queryRunner.query(
      `CREATE INDEX ix_sessions_agent_created_at ON sessions (agent, created_at DESC, id DESC)
         INCLUDE (last_active_at) WHERE status = 'active'`,
    );
    await queryRunner.query('DROP INDEX ix_sessions_agent_last_active_at');
    await queryRunner.query(
      `CREATE INDEX ix_sessions_agent_last_active_at ON sessions (agent, last_active_at)
         INCLUDE (principal) WHERE status = 'active'`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP INDEX ix_sessions_agent_last_active_at');
    await queryRunner.query(`CREATE INDEX ix_sessions_agent_last_active_at ON sessions (agent, last_active_at) WHERE status = 'active'`);
    await queryRunner.query('DROP INDEX ix_sessions_agent_created_at');
    await queryRunner.query(
      `CREATE INDEX ix_sessions_agent_created_at ON sessions (agent, created_at DESC, id DESC) WHERE status = 'active'`,
    );
    await queryRunner.query('DROP TRIGGER tr_sessions_counts_truncate ON sessions');
    await queryRunner.query('DROP TRIGGER tr_sessions_counts_update ON sessions');
    await queryRunner.query('DROP TRIGGER tr_sessions_counts_delete ON sessions');
    await queryRunner.query('DROP TRIGGER tr_sessions_counts_insert ON sessions');
    await queryRunner.query('DROP FUNCTION session_counts_clear()');
    await queryRunner.query('DROP FUNCTION session_counts_track()');
    await queryRunner.query('DROP TABLE session_counts');
  }
}
