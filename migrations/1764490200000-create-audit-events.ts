import type { MigrationInterface, QueryRunner } from 'typeorm';

const KINDS = [
  'invocation',
  'session_turn',
  'session_created',
  'session_deleted',
  'pipeline_run',
  'auth_refusal',
  'guardrail',
  'budget',
  'validation',
  'delegation',
];
const OUTCOMES = ['ok', 'error', 'refused', 'blocked', 'warned', 'cancelled'];
const quoted = (values: string[]) => values.map((value) => `'${value}'`).join(', ');
const GENESIS = "decode(repeat('00', 32), 'hex')";

/**
 * The audit events (docs/audit.md, issue 15): one row per invocation, session turn, session
 * creation and deletion, finished pipeline run, refused request and governance event, written
 * by triggers on the record tables, so every replica's writes are covered and no request gains
 * a round trip. An event waits in `audit_pending` until the sealer
 * (src/audit/audit-chain.repository.ts) gives it its link of the hash chain in
 * `audit_chain_links` (`seq`, `prev_hash`, `hash`); `audit_chain` keeps the head and the
 * retention anchor. `at` is truncated to milliseconds so the API's timestamps and
 * cursors are exact.
 *
 * Records written before this migration are not copied in.
 */
export class CreateAuditEvents1764490200000 implements MigrationInterface {
  name = 'CreateAuditEvents1764490200000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE audit_events (
        id             bigint      GENERATED ALWAYS AS IDENTITY,
        at             timestamptz NOT NULL,
        kind           text        NOT NULL,
        outcome        text        NOT NULL,
        principal      text        NULL,
        agent          text        NULL,
        pipeline       text        NULL,
        session_id     text        NULL,
        run_id         text        NULL,
        correlation_id text        NULL,
        detail         jsonb       NOT NULL DEFAULT '{}'::jsonb,
        CONSTRAINT pk_audit_events PRIMARY KEY (id),
        CONSTRAINT ck_audit_events_kind CHECK (kind IN (${quoted(KINDS)})),
        CONSTRAINT ck_audit_events_outcome CHECK (outcome IN (${quoted(OUTCOMES)})),
        CONSTRAINT ck_audit_events_detail CHECK (jsonb_typeof(detail) = 'object')
      )`);
    // The list and export order (newest first, id breaking ties) and its cursor; one compound
    // index per filter, and per filter pair that the console combines, so that a filtered page
    // reads only its own rows (docs/audit.md "Indexes").
    await queryRunner.query('CREATE INDEX ix_audit_events_at_id ON audit_events (at DESC, id DESC)');
    await queryRunner.query(
      'CREATE INDEX ix_audit_events_principal_at_id ON audit_events (principal, at DESC, id DESC) WHERE principal IS NOT NULL',
    );
    await queryRunner.query(
      'CREATE INDEX ix_audit_events_principal_kind_at_id ON audit_events (principal, kind, at DESC, id DESC) WHERE principal IS NOT NULL',
    );
    await queryRunner.query('CREATE INDEX ix_audit_events_agent_at_id ON audit_events (agent, at DESC, id DESC) WHERE agent IS NOT NULL');
    await queryRunner.query(
      'CREATE INDEX ix_audit_events_agent_kind_at_id ON audit_events (agent, kind, at DESC, id DESC) WHERE agent IS NOT NULL',
    );
    await queryRunner.query(
      'CREATE INDEX ix_audit_events_pipeline_at_id ON audit_events (pipeline, at DESC, id DESC) WHERE pipeline IS NOT NULL',
    );
    await queryRunner.query('CREATE INDEX ix_audit_events_kind_at_id ON audit_events (kind, at DESC, id DESC)');
    await queryRunner.query('CREATE INDEX ix_audit_events_outcome_at_id ON audit_events (outcome, at DESC, id DESC)');

    // The sealer's work queue: a narrow row per event not sealed yet. The chain lives in its own
    // table, so sealing never rewrites an event row (nor its nine index entries).
    await queryRunner.query(`
      CREATE TABLE audit_pending (
        event_id bigint NOT NULL,
        CONSTRAINT pk_audit_pending PRIMARY KEY (event_id)
      )`);
    await queryRunner.query(`
      CREATE TABLE audit_chain_links (
        seq       bigint NOT NULL,
        event_id  bigint NOT NULL,
        prev_hash bytea  NOT NULL,
        hash      bytea  NOT NULL,
        CONSTRAINT pk_audit_chain_links PRIMARY KEY (seq),
        CONSTRAINT uq_audit_chain_links_event_id UNIQUE (event_id),
        CONSTRAINT ck_audit_chain_links_seq CHECK (seq >= 1),
        CONSTRAINT ck_audit_chain_links_hashes CHECK (octet_length(prev_hash) = 32 AND octet_length(hash) = 32)
      )`);
    await queryRunner.query(`
      CREATE TABLE audit_chain (
        id                smallint NOT NULL DEFAULT 1,
        head_seq          bigint   NOT NULL DEFAULT 0,
        head_hash         bytea    NOT NULL DEFAULT ${GENESIS},
        anchor_seq        bigint   NOT NULL DEFAULT 0,
        anchor_hash       bytea    NOT NULL DEFAULT ${GENESIS},
        last_verification jsonb    NULL,
        CONSTRAINT pk_audit_chain PRIMARY KEY (id),
        CONSTRAINT ck_audit_chain_single_row CHECK (id = 1),
        CONSTRAINT ck_audit_chain_anchor CHECK (anchor_seq >= 0 AND anchor_seq <= head_seq),
        CONSTRAINT ck_audit_chain_hashes CHECK (octet_length(head_hash) = 32 AND octet_length(anchor_hash) = 32)
      )`);
    await queryRunner.query('INSERT INTO audit_chain (id) VALUES (1)');

    // Every event, however inserted, waits in audit_pending for the sealer.
    await queryRunner.query(`
      CREATE FUNCTION audit_events_enqueue() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO audit_pending (event_id) VALUES (NEW.id);
        RETURN NULL;
      END
      $$`);
    await queryRunner.query(
      'CREATE TRIGGER tg_audit_events_enqueue AFTER INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION audit_events_enqueue()',
    );
    // Events and links are never updated; only the retention purge deletes them. (A superuser
    // can bypass triggers; the chain then shows the edit.)
    await queryRunner.query(`
      CREATE FUNCTION audit_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION '% rows cannot be changed', TG_TABLE_NAME USING ERRCODE = 'integrity_constraint_violation';
      END
      $$`);
    await queryRunner.query(
      'CREATE TRIGGER tg_audit_events_immutable BEFORE UPDATE ON audit_events FOR EACH ROW EXECUTE FUNCTION audit_immutable()',
    );
    await queryRunner.query(
      'CREATE TRIGGER tg_audit_chain_links_immutable BEFORE UPDATE ON audit_chain_links FOR EACH ROW EXECUTE FUNCTION audit_immutable()',
    );

    await queryRunner.query(`
      CREATE FUNCTION audit_from_invocation() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO audit_events (at, kind, outcome, principal, agent, correlation_id, detail)
        VALUES (date_trunc('milliseconds', NEW.created_at), 'invocation',
                CASE NEW.status WHEN 'completed' THEN 'ok' WHEN 'cancelled' THEN 'cancelled' ELSE 'error' END,
                NEW.principal, NEW.agent, NEW.correlation_id,
                jsonb_strip_nulls(jsonb_build_object(
                  'invocation_id', NEW.id, 'endpoint', NEW.endpoint, 'status', NEW.status, 'error_code', NEW.error_code,
                  'input_tokens', NEW.input_tokens, 'output_tokens', NEW.output_tokens, 'duration_ms', NEW.duration_ms)));
        RETURN NULL;
      END
      $$`);
    await queryRunner.query(
      'CREATE TRIGGER tg_invocations_audit AFTER INSERT ON invocations FOR EACH ROW EXECUTE FUNCTION audit_from_invocation()',
    );

    await queryRunner.query(`
      CREATE FUNCTION audit_from_session() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'INSERT' THEN
          INSERT INTO audit_events (at, kind, outcome, principal, agent, session_id, correlation_id, detail)
          VALUES (date_trunc('milliseconds', NEW.created_at), 'session_created', 'ok', NEW.principal, NEW.agent, NEW.id,
                  NEW.correlation_id, '{}'::jsonb);
        ELSIF OLD.status = 'active' AND NEW.status = 'deleted' THEN
          INSERT INTO audit_events (at, kind, outcome, principal, agent, session_id, correlation_id, detail)
          VALUES (date_trunc('milliseconds', NEW.deleted_at), 'session_deleted', 'ok', NEW.principal, NEW.agent, NEW.id,
                  NEW.correlation_id, jsonb_build_object('turns', NEW.turns));
        END IF;
        RETURN NULL;
      END
      $$`);
    await queryRunner.query(
      'CREATE TRIGGER tg_sessions_audit_insert AFTER INSERT ON sessions FOR EACH ROW EXECUTE FUNCTION audit_from_session()',
    );
    await queryRunner.query(`
      CREATE TRIGGER tg_sessions_audit_delete AFTER UPDATE OF status ON sessions
        FOR EACH ROW WHEN (OLD.status = 'active' AND NEW.status = 'deleted') EXECUTE FUNCTION audit_from_session()`);

    // One event per turn, on its answer (the user message of the turn is inserted by the same statement).
    await queryRunner.query(`
      CREATE FUNCTION audit_from_session_message() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO audit_events (at, kind, outcome, principal, agent, session_id, correlation_id, detail)
        SELECT date_trunc('milliseconds', NEW.created_at), 'session_turn', 'ok', NEW.principal, s.agent, NEW.session_id,
               NEW.correlation_id,
               jsonb_strip_nulls(jsonb_build_object(
                 'turn', NEW.turn,
                 'input_tokens', NEW.usage -> 'input_tokens', 'output_tokens', NEW.usage -> 'output_tokens',
                 'tool_calls', CASE WHEN jsonb_typeof(NEW.tool_calls) = 'array' THEN jsonb_array_length(NEW.tool_calls) END))
        FROM sessions s WHERE s.id = NEW.session_id;
        RETURN NULL;
      END
      $$`);
    await queryRunner.query(`
      CREATE TRIGGER tg_session_messages_audit AFTER INSERT ON session_messages
        FOR EACH ROW WHEN (NEW.role = 'assistant') EXECUTE FUNCTION audit_from_session_message()`);

    await queryRunner.query(`
      CREATE FUNCTION audit_from_pipeline_run() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO audit_events (at, kind, outcome, principal, pipeline, run_id, correlation_id, detail)
        VALUES (date_trunc('milliseconds', NEW.finished_at), 'pipeline_run',
                CASE NEW.status WHEN 'completed' THEN 'ok' WHEN 'cancelled' THEN 'cancelled' ELSE 'error' END,
                NEW.principal, NEW.pipeline, NEW.run_id, NEW.correlation_id,
                jsonb_strip_nulls(jsonb_build_object(
                  'status', NEW.status, 'mode', NEW.mode, 'attempt', NEW.attempt, 'error_code', NEW.error ->> 'code',
                  'input_tokens', NEW.usage -> 'input_tokens', 'output_tokens', NEW.usage -> 'output_tokens',
                  'duration_ms', floor(extract(epoch FROM NEW.finished_at - coalesce(NEW.started_at, NEW.created_at)) * 1000)::bigint)));
        RETURN NULL;
      END
      $$`);
    await queryRunner.query(`
      CREATE TRIGGER tg_pipeline_runs_audit_insert AFTER INSERT ON pipeline_runs
        FOR EACH ROW WHEN (NEW.status IN ('completed', 'failed', 'cancelled')) EXECUTE FUNCTION audit_from_pipeline_run()`);
    await queryRunner.query(`
      CREATE TRIGGER tg_pipeline_runs_audit_finish AFTER UPDATE OF status ON pipeline_runs
        FOR EACH ROW WHEN (OLD.status NOT IN ('completed', 'failed', 'cancelled') AND NEW.status IN ('completed', 'failed', 'cancelled'))
        EXECUTE FUNCTION audit_from_pipeline_run()`);

    await queryRunner.query(`
      CREATE FUNCTION audit_from_auth_refusal() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO audit_events (at, kind, outcome, principal, correlation_id, detail)
        VALUES (date_trunc('milliseconds', NEW.at), 'auth_refusal', 'refused', NEW.principal, NEW.correlation_id,
                jsonb_strip_nulls(jsonb_build_object(
                  'status', NEW.status, 'code', NEW.code, 'reason', NEW.reason, 'method', NEW.method, 'route', NEW.route,
                  'ip', host(NEW.ip))));
        RETURN NULL;
      END
      $$`);
    await queryRunner.query(
      'CREATE TRIGGER tg_auth_refusals_audit AFTER INSERT ON auth_refusals FOR EACH ROW EXECUTE FUNCTION audit_from_auth_refusal()',
    );

    // A governance event of a pipeline step names its run; the pipeline comes from the run row.
    await queryRunner.query(`
      CREATE FUNCTION audit_from_governance_event() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO audit_events (at, kind, outcome, principal, agent, pipeline, session_id, run_id, correlation_id, detail)
        VALUES (date_trunc('milliseconds', NEW.at), NEW.kind,
                CASE NEW.action WHEN 'block' THEN 'blocked' WHEN 'refuse' THEN 'refused' WHEN 'delegate' THEN 'ok' ELSE 'warned' END,
                NEW.principal, NEW.agent,
                CASE WHEN NEW.run_id IS NOT NULL THEN (SELECT r.pipeline FROM pipeline_runs r WHERE r.run_id = NEW.run_id) END,
                NEW.session_id, NEW.run_id, NEW.correlation_id,
                jsonb_strip_nulls(jsonb_build_object(
                  'name', NEW.name, 'action', NEW.action, 'side', NEW.side, 'endpoint', NEW.endpoint, 'step', NEW.step,
                  'detail', NEW.detail)));
        RETURN NULL;
      END
      $$`);
    await queryRunner.query(
      'CREATE TRIGGER tg_governance_events_audit AFTER INSERT ON governance_events FOR EACH ROW EXECUTE FUNCTION audit_from_governance_event()',
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TRIGGER tg_governance_events_audit ON governance_events');
    await queryRunner.query('DROP TRIGGER tg_auth_refusals_audit ON auth_refusals');
    await queryRunner.query('DROP TRIGGER tg_pipeline_runs_audit_finish ON pipeline_runs');
    await queryRunner.query('DROP TRIGGER tg_pipeline_runs_audit_insert ON pipeline_runs');
    await queryRunner.query('DROP TRIGGER tg_session_messages_audit ON session_messages');
    await queryRunner.query('DROP TRIGGER tg_sessions_audit_delete ON sessions');
    await queryRunner.query('DROP TRIGGER tg_sessions_audit_insert ON sessions');
    await queryRunner.query('DROP TRIGGER tg_invocations_audit ON invocations');
    for (const fn of [
      'audit_from_governance_event',
      'audit_from_auth_refusal',
      'audit_from_pipeline_run',
      'audit_from_session_message',
      'audit_from_session',
      'audit_from_invocation',
    ]) {
      await queryRunner.query(`DROP FUNCTION ${fn}()`);
    }
    await queryRunner.query('DROP TABLE audit_chain');
    await queryRunner.query('DROP TABLE audit_chain_links');
    await queryRunner.query('DROP TABLE audit_pending');
    await queryRunner.query('DROP TABLE audit_events');
    await queryRunner.query('DROP FUNCTION audit_immutable()');
    await queryRunner.query('DROP FUNCTION audit_events_enqueue()');
  }
}
