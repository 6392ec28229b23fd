import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { queryRows } from '../database/query-rows.js';
import { newUlid } from '../common/ids.js';
import type { Usage } from '../providers/model-provider.js';
import type { PipelineSpec } from './pipeline-graph.js';
import type {
  PipelineRunRecord,
  PipelineRunStepRecord,
  PipelineRunSummary,
  PipelineRunWithSteps,
  RunError,
  RunLease,
  RunMode,
  RunResult,
  RunStatus,
} from './pipeline-run.js';

export interface CreateRunInput {
  /** Must already be validated (`PipelineGraph.from(spec).toSpec()`). */
  definition: PipelineSpec;
  input: string;
  principal: string;
  correlationId: string;
  mode: RunMode;
  /** Set for synchronous runs: created `running`, owned by this replica, attempt 1. */
  owner?: string;
}

export interface RunControl {
  status: RunStatus;
  owner: string | null;
  attempt: number;
  cancelRequested: boolean;
}

export interface RunsPage {
  runs: PipelineRunSummary[];
  total: number;
}

/**
 * Whose runs a statement may see or change: one principal's id, or `null` for every principal's
 * (admin, auditor; docs/security.md "Authorization"). Not the `owner` column, which names the
 * replica executing a run.
 */
export type RunPrincipal = string | null;

/** A run as a caller names it: by pipeline, and visible to `principal`. */
export interface RunScope {
  pipeline: string;
  principal: RunPrincipal;
}

const RUN_COLUMNS = `run_id, pipeline, input, status, output, usage, error, principal, correlation_id, mode,
  definition, created_at, started_at, finished_at, owner, heartbeat_at, cancel_requested_at, attempt`;
const STEP_COLUMNS = 'name, position, agent, status, input, output, usage, error, started_at, finished_at, executions';
const CANCELLED: RunError = { code: 'cancelled', message: 'The run was cancelled.' };

/**
 * Owns all SQL on `pipeline_runs` and `pipeline_run_steps`. Times come from the database
 * clock, so replicas with skewed clocks agree on heartbeat ages. Writes made on behalf of an
 * executing replica take a `RunLease` and report `false` when the lease is no longer valid.
 */
@Injectable()
export class PipelineRunsRepository {
  constructor(private readonly dataSource: DataSource) {}

  isReady(): boolean {
    return this.dataSource.isInitialized;
  }

  async createRun(input: CreateRunInput): Promise<PipelineRunWithSteps> {
    const runId = `run_${newUlid()}`;
    const sync = input.owner !== undefined;
    return this.dataSource.transaction(async (manager) => {
      const [row] = await queryRows<RunRow>(
        manager,
        `INSERT INTO pipeline_runs
           (run_id, pipeline, input, status, principal, correlation_id, mode, definition, started_at, owner, heartbeat_at, attempt)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8,
                 CASE WHEN $9 THEN now() END, $10, CASE WHEN $9 THEN now() END, CASE WHEN $9 THEN 1 ELSE 0 END)
         RETURNING ${RUN_COLUMNS}`,
        [
          runId,
          input.definition.name,
          input.input,
          sync ? 'running' : 'queued',
          input.principal,
          input.correlationId,
          input.mode,
          JSON.stringify(input.definition),
          sync,
          input.owner ?? null,
        ],
      );
      const steps = input.definition.steps;
      await manager.query(
        `INSERT INTO pipeline_run_steps (run_id, name, position, agent)
         SELECT $1, step.name, step.position - 1, step.agent
         FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS step(name, agent, position)`,
        [runId, steps.map((step) => step.name), steps.map((step) => step.agent)],
      );
      return { ...toRun(row), steps: await this.stepsOf(manager, runId) };
    });
  }

  /** A run and its steps; with a scope, only when the run is of that pipeline and visible to that principal. */
  async findRun(runId: string, scope?: RunScope): Promise<PipelineRunWithSteps | null> {
    const [row] = await queryRows<RunRow>(
      this.dataSource.manager,
      `SELECT ${RUN_COLUMNS} FROM pipeline_runs
       WHERE run_id = $1 AND ($2::text IS NULL OR pipeline = $2) AND ($3::text IS NULL OR principal = $3)`,
      [runId, scope?.pipeline ?? null, scope?.principal ?? null],
    );
    if (!row) return null;
    return { ...toRun(row), steps: await this.stepsOf(this.dataSource.manager, runId) };
  }

  async latestRun(pipeline: string, principal: RunPrincipal): Promise<PipelineRunWithSteps | null> {
    const [row] = await queryRows<RunRow>(
      this.dataSource.manager,
      `SELECT ${RUN_COLUMNS} FROM pipeline_runs WHERE pipeline = $1 AND ($2::text IS NULL OR principal = $2)
       ORDER BY created_at DESC, run_id DESC LIMIT 1`,
      [pipeline, principal],
    );
    if (!row) return null;
    return { ...toRun(row), steps: await this.stepsOf(this.dataSource.manager, row.run_id) };
  }

  /** Newest first; `total` counts every run of the pipeline that `principal` may see. */
  async listRuns(pipeline: string, principal: RunPrincipal, page: { limit: number; offset: number }): Promise<RunsPage> {
    const list = await queryRows<RunRow>(
      this.dataSource.manager,
      `SELECT run_id, pipeline, status, mode, usage, error, created_at, started_at, finished_at
       FROM pipeline_runs WHERE pipeline = $1 AND ($4::text IS NULL OR principal = $4)
       ORDER BY created_at DESC, run_id DESC LIMIT $2 OFFSET $3`,
      [pipeline, page.limit, page.offset, principal],
    );
    const [count] = await queryRows<{ total: number }>(
      this.dataSource.manager,
      'SELECT count(*)::int AS total FROM pipeline_runs WHERE pipeline = $1 AND ($2::text IS NULL OR principal = $2)',
      [pipeline, principal],
    );
    return {
      runs: list.map((row) => ({
        runId: row.run_id,
        pipeline: row.pipeline,
        status: row.status,
        mode: row.mode,
        usage: fromStoredUsage(row.usage),
        error: row.error,
        createdAt: row.created_at,
        startedAt: row.started_at,
        finishedAt: row.finished_at,
      })),
      total: count?.total ?? 0,
    };
  }

  async getSteps(runId: string): Promise<PipelineRunStepRecord[]> {
    return this.stepsOf(this.dataSource.manager, runId);
  }

  /**
   * Asks for a run to stop. A queued run, or a running one whose replica stopped
   * heartbeating, is cancelled here and now; a live one is cancelled by its replica, which
   * polls the flag. Returns the run's state after the request, or null for an unknown run (or
   * one `principal` may not see).
   */
  async requestCancel(runId: string, options: { staleAfterMs: number; principal: RunPrincipal }): Promise<PipelineRunRecord | null> {
    return this.dataSource.transaction(async (manager) => {
      const [row] = await queryRows<RunRow & { stale: boolean }>(
        manager,
        `SELECT ${RUN_COLUMNS},
                (status = 'running' AND heartbeat_at < now() - make_interval(secs => $2::double precision / 1000)) AS stale
         FROM pipeline_runs WHERE run_id = $1 AND ($3::text IS NULL OR principal = $3) FOR UPDATE`,
        [runId, options.staleAfterMs, options.principal],
      );
      if (!row) return null;
      if (row.status !== 'queued' && row.status !== 'running') return toRun(row);
      if (row.status === 'queued' || row.stale) {
        await manager.query(
          `UPDATE pipeline_run_steps SET status = 'skipped',
             finished_at = CASE WHEN started_at IS NOT NULL THEN now() END
           WHERE run_id = $1 AND status IN ('pending', 'running')`,
          [runId],
        );
        // attempt + 1 also invalidates the lease of a replica that is only slow, not dead.
        const [cancelled] = await queryRows<RunRow>(
          manager,
          `UPDATE pipeline_runs SET status = 'cancelled', finished_at = now(), output = NULL, error = $2,
             cancel_requested_at = COALESCE(cancel_requested_at, now()), attempt = attempt + 1,
             usage = COALESCE((
               SELECT jsonb_build_object(
                 'input_tokens', sum((usage->>'input_tokens')::int),
                 'output_tokens', sum((usage->>'output_tokens')::int),
                 'total_tokens', sum((usage->>'total_tokens')::int))
               FROM pipeline_run_steps WHERE run_id = $1 AND usage IS NOT NULL), usage)
           WHERE run_id = $1 RETURNING ${RUN_COLUMNS}`,
          [runId, JSON.stringify(CANCELLED)],
        );
        return toRun(cancelled);
      }
      const [flagged] = await queryRows<RunRow>(
        manager,
        `UPDATE pipeline_runs SET cancel_requested_at = COALESCE(cancel_requested_at, now())
         WHERE run_id = $1 RETURNING ${RUN_COLUMNS}`,
        [runId],
      );
      return toRun(flagged);
    });
  }

  /** What an executing replica polls: the cancel flag and whether it still owns the run. */
  async readControl(runId: string): Promise<RunControl | null> {
    const [row] = await queryRows<{ status: RunStatus; owner: string | null; attempt: number; cancel_requested: boolean }>(
      this.dataSource.manager,
      `SELECT status, owner, attempt, cancel_requested_at IS NOT NULL AS cancel_requested
       FROM pipeline_runs WHERE run_id = $1`,
      [runId],
    );
    if (!row) return null;
    return { status: row.status, owner: row.owner, attempt: row.attempt, cancelRequested: row.cancel_requested };
  }

  /**
   * Claims one run for `owner`: first a running run whose heartbeat is older than
   * `staleAfterMs` (its replica died), else the oldest queued run. The row lock and SKIP
   * LOCKED make concurrent claimers take different runs, and the lock's recheck of the WHERE
   * clause stops a second claimer from taking a run that was just claimed.
   */
  async claimNext(owner: string, options: { staleAfterMs: number }): Promise<PipelineRunRecord | null> {
    const stale = await this.claim(
      owner,
      `status = 'running' AND heartbeat_at < now() - make_interval(secs => $2::double precision / 1000)`,
      'heartbeat_at',
      [options.staleAfterMs],
    );
    return stale ?? this.claim(owner, `status = 'queued'`, 'created_at', []);
  }

  private async claim(owner: string, where: string, orderBy: string, params: unknown[]): Promise<PipelineRunRecord | null> {
    const [row] = await queryRows<RunRow>(
      this.dataSource.manager,
      `WITH candidate AS (
         SELECT run_id FROM pipeline_runs WHERE ${where} ORDER BY ${orderBy} LIMIT 1 FOR UPDATE SKIP LOCKED
       )
       UPDATE pipeline_runs run SET status = 'running', owner = $1, heartbeat_at = now(), attempt = run.attempt + 1,
         started_at = COALESCE(run.started_at, now())
       FROM candidate WHERE run.run_id = candidate.run_id
       RETURNING ${RUN_COLUMNS.replace(/(\w+)/g, 'run.$1')}`,
      [owner, ...params],
    );
    return row ? toRun(row) : null;
  }

  /** Renews the lease; false when the run was taken over, released or finished meanwhile. */
  async heartbeat(lease: RunLease): Promise<boolean> {
    const updated = await queryRows<{ run_id: string }>(
      this.dataSource.manager,
      `UPDATE pipeline_runs SET heartbeat_at = now()
       WHERE run_id = $1 AND owner = $2 AND attempt = $3 AND status = 'running' RETURNING run_id`,
      [lease.runId, lease.owner, lease.attempt],
    );
    return updated.length === 1;
  }

  /** Gives a claimed run back to the queue (shutdown), so another replica resumes it now. */
  async releaseRun(lease: RunLease): Promise<boolean> {
    const updated = await queryRows<{ run_id: string }>(
      this.dataSource.manager,
      `UPDATE pipeline_runs SET status = 'queued', owner = NULL, heartbeat_at = NULL
       WHERE run_id = $1 AND owner = $2 AND attempt = $3 AND status = 'running' RETURNING run_id`,
      [lease.runId, lease.owner, lease.attempt],
    );
    return updated.length === 1;
  }

  async markStepRunning(lease: RunLease, step: string, input: string): Promise<boolean> {
    return this.updateStep(
      lease,
      step,
      `status = 'running', input = $5, output = NULL, usage = NULL, error = NULL, started_at = now(),
       finished_at = NULL, executions = step.executions + 1`,
      [input],
    );
  }

  async markStepCompleted(lease: RunLease, step: string, result: { output: string; usage: Usage }): Promise<boolean> {
    return this.updateStep(lease, step, `status = 'completed', output = $5, usage = $6, error = NULL, finished_at = now()`, [
      result.output,
      JSON.stringify(toStoredUsage(result.usage)),
    ]);
  }

  async markStepFailed(lease: RunLease, step: string, error: RunError): Promise<boolean> {
    return this.updateStep(lease, step, `status = 'failed', output = NULL, error = $5, finished_at = now()`, [
      JSON.stringify(error),
    ]);
  }

  /** A step decided not to run (`when` false, or nothing to feed it). */
  async markStepSkipped(lease: RunLease, step: string): Promise<boolean> {
    return this.updateStep(lease, step, `status = 'skipped', output = NULL, finished_at = now()`, []);
  }

  /**
   * Step writes lock the run row in SHARE mode: a concurrent claim (which takes it FOR
   * UPDATE) either waits for this write and then sees it, or has already moved the lease, in
   * which case this write matches nothing.
   */
  private async updateStep(lease: RunLease, step: string, set: string, params: unknown[]): Promise<boolean> {
    const updated = await queryRows<{ name: string }>(
      this.dataSource.manager,
      `WITH lease AS (
         SELECT run_id FROM pipeline_runs
         WHERE run_id = $1 AND owner = $2 AND attempt = $3 AND status = 'running' FOR SHARE
       )
       UPDATE pipeline_run_steps step SET ${set}
       FROM lease WHERE step.run_id = lease.run_id AND step.name = $4
       RETURNING step.name`,
      [lease.runId, lease.owner, lease.attempt, step, ...params],
    );
    return updated.length === 1;
  }

  /**
   * Ends a run under its lease, in one transaction: steps still pending or running become
   * skipped, then the run gets its final status. Returns the finished run and the names of
   * the steps skipped here, or null when the lease is gone (nothing was written).
   */
  async finishRun(
    lease: RunLease,
    result: RunResult,
  ): Promise<{ run: PipelineRunRecord; skippedSteps: string[] } | null> {
    return this.dataSource.transaction(async (manager) => {
      const locked = await queryRows<{ run_id: string }>(
        manager,
        `SELECT run_id FROM pipeline_runs
         WHERE run_id = $1 AND owner = $2 AND attempt = $3 AND status = 'running' FOR UPDATE`,
        [lease.runId, lease.owner, lease.attempt],
      );
      if (locked.length === 0) return null;
      const skipped = await queryRows<{ name: string; position: number }>(
        manager,
        `UPDATE pipeline_run_steps SET status = 'skipped', finished_at = CASE WHEN started_at IS NOT NULL THEN now() END
         WHERE run_id = $1 AND status IN ('pending', 'running') RETURNING name, position`,
        [lease.runId],
      );
      const [row] = await queryRows<RunRow>(
        manager,
        `UPDATE pipeline_runs SET status = $2, output = $3, usage = $4, error = $5, finished_at = now()
         WHERE run_id = $1 RETURNING ${RUN_COLUMNS}`,
        [
          lease.runId,
          result.status,
          result.output,
          JSON.stringify(toStoredUsage(result.usage)),
          result.error === null ? null : JSON.stringify(result.error),
        ],
      );
      return {
        run: toRun(row),
        skippedSteps: skipped.sort((a, b) => a.position - b.position).map((step) => step.name),
      };
    });
  }

  private async stepsOf(manager: EntityManager, runId: string): Promise<PipelineRunStepRecord[]> {
    const list = await queryRows<StepRow>(
      manager,
      `SELECT ${STEP_COLUMNS} FROM pipeline_run_steps WHERE run_id = $1 ORDER BY position`,
      [runId],
    );
    return list.map(toStep);
  }
}

interface RunRow {
  run_id: string;
  pipeline: string;
  input: string;
  status: RunStatus;
  output: string | null;
  usage: StoredUsage;
  error: RunError | null;
  principal: string;
  correlation_id: string;
  mode: RunMode;
  definition: PipelineSpec;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
  owner: string | null;
  heartbeat_at: Date | null;
  cancel_requested_at: Date | null;
  attempt: number;
}

interface StepRow {
  name: string;
  position: number;
  agent: string;
  status: PipelineRunStepRecord['status'];
  input: string | null;
  output: string | null;
  usage: StoredUsage | null;
  error: RunError | null;
  started_at: Date | null;
  finished_at: Date | null;
  executions: number;
}

function toRun(row: RunRow): PipelineRunRecord {
  return {
    runId: row.run_id,
    pipeline: row.pipeline,
    input: row.input,
    status: row.status,
    output: row.output,
    usage: fromStoredUsage(row.usage),
    error: row.error,
    principal: row.principal,
    correlationId: row.correlation_id,
    mode: row.mode,
    definition: row.definition,
    createdAt: row.created_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    owner: row.owner,
    heartbeatAt: row.heartbeat_at,
    cancelRequestedAt: row.cancel_requested_at,
    attempt: row.attempt,
  };
}

function toStep(row: StepRow): PipelineRunStepRecord {
  return {
    name: row.name,
    position: row.position,
    agent: row.agent,
    status: row.status,
    input: row.input,
    output: row.output,
    usage: row.usage ? fromStoredUsage(row.usage) : null,
    error: row.error,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    executions: row.executions,
  };
}

/** The `usage` jsonb of runs and steps: snake_case, as rows written before have it. */
interface StoredUsage {
  input_tokens: number;
  output_tokens: number;
  total_tokens: number;
}

function toStoredUsage(usage: Usage): StoredUsage {
  return { input_tokens: usage.inputTokens, output_tokens: usage.outputTokens, total_tokens: usage.totalTokens };
}

function fromStoredUsage(stored: StoredUsage): Usage {
  return { inputTokens: stored.input_tokens, outputTokens: stored.output_tokens, totalTokens: stored.total_tokens };
}
