import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Pipeline runs and their steps. The run row doubles as the job queue: workers claim
 * `queued` runs and runs whose heartbeat went stale with FOR UPDATE SKIP LOCKED.
 */
export class CreatePipelineRuns1764461000000 implements MigrationInterface {
  name = 'CreatePipelineRuns1764461000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE pipeline_runs (
        run_id              text        NOT NULL,
        pipeline            text        NOT NULL,
        input               text        NOT NULL,
        status              text        NOT NULL,
        output              text        NULL,
        usage               jsonb       NOT NULL DEFAULT '{"input_tokens": 0, "output_tokens": 0, "total_tokens": 0}',
        error               jsonb       NULL,
        principal           text        NOT NULL,
        correlation_id      text        NOT NULL,
        mode                text        NOT NULL,
        definition          jsonb       NOT NULL,
        created_at          timestamptz NOT NULL DEFAULT now(),
        started_at          timestamptz NULL,
        finished_at         timestamptz NULL,
        owner               text        NULL,
        heartbeat_at        timestamptz NULL,
        cancel_requested_at timestamptz NULL,
        attempt             integer     NOT NULL DEFAULT 0,
        CONSTRAINT pk_pipeline_runs PRIMARY KEY (run_id),
        CONSTRAINT ck_pipeline_runs_run_id CHECK (run_id ~ '^run_[0-9A-Za-z]{16,}$'),
        CONSTRAINT ck_pipeline_runs_status CHECK (status IN ('queued', 'running', 'completed', 'failed', 'cancelled')),
        CONSTRAINT ck_pipeline_runs_mode CHECK (mode IN ('sync', 'async')),
        CONSTRAINT ck_pipeline_runs_attempt CHECK (attempt >= 0),
        CONSTRAINT ck_pipeline_runs_running_owner
          CHECK (status <> 'running' OR (owner IS NOT NULL AND heartbeat_at IS NOT NULL AND started_at IS NOT NULL)),
        CONSTRAINT ck_pipeline_runs_finished
          CHECK ((status IN ('completed', 'failed', 'cancelled')) = (finished_at IS NOT NULL))
      )`);
    // Latest run of a pipeline and the runs list, newest first.
    await queryRunner.query(
      'CREATE INDEX ix_pipeline_runs_pipeline_created_at ON pipeline_runs (pipeline, created_at DESC, run_id DESC)',
    );
    // Claiming: the oldest queued run, and running runs by heartbeat age (stale = taken over).
    await queryRunner.query(
      "CREATE INDEX ix_pipeline_runs_queued ON pipeline_runs (created_at) WHERE status = 'queued'",
    );
    await queryRunner.query(
      "CREATE INDEX ix_pipeline_runs_running_heartbeat ON pipeline_runs (heartbeat_at) WHERE status = 'running'",
    );

    await queryRunner.query(`
      CREATE TABLE pipeline_run_steps (
        run_id      text        NOT NULL,
        name        text        NOT NULL,
        position    integer     NOT NULL,
        agent       text        NOT NULL,
        status      text        NOT NULL DEFAULT 'pending',
        input       text        NULL,
        output      text        NULL,
        usage       jsonb       NULL,
        error       jsonb       NULL,
        started_at  timestamptz NULL,
        finished_at timestamptz NULL,
        executions  integer     NOT NULL DEFAULT 0,
        CONSTRAINT pk_pipeline_run_steps PRIMARY KEY (run_id, name),
        CONSTRAINT fk_pipeline_run_steps_run FOREIGN KEY (run_id) REFERENCES pipeline_runs (run_id) ON DELETE CASCADE,
        CONSTRAINT uq_pipeline_run_steps_position UNIQUE (run_id, position),
        CONSTRAINT ck_pipeline_run_steps_status
          CHECK (status IN ('pending', 'running', 'completed', 'failed', 'skipped')),
        CONSTRAINT ck_pipeline_run_steps_position CHECK (position >= 0),
        CONSTRAINT ck_pipeline_run_steps_executions CHECK (executions >= 0)
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE pipeline_run_steps');
    await queryRunner.query('DROP TABLE pipeline_runs');
  }
}
