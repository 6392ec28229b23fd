import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DataSource } from 'typeorm';
import type pg from 'pg';
import { PipelineGraph, type PipelineSpec } from '../../src/pipelines/pipeline-graph.js';
import { leaseOf } from '../../src/pipelines/pipeline-run.js';
import { PipelineRunsRepository } from '../../src/pipelines/pipeline-runs.repository.js';
import { connect, createMigratedDatabase } from '../support/database.js';

const spec: PipelineSpec = PipelineGraph.from({
  name: 'review',
  steps: [
    { name: 'draft', agent: 'writer' },
    { name: 'check', agent: 'checker', depends_on: 'draft' },
  ],
}).toSpec();

function request(overrides: Partial<Parameters<PipelineRunsRepository['createRun']>[0]> = {}) {
  return { definition: spec, input: 'topic', principal: 'key:abc', correlationId: 'corr-1', mode: 'async' as const, ...overrides };
}

describe('pipeline runs repository (real PostgreSQL)', () => {
  let url: string;
  let dataSource: DataSource;
  let repository: PipelineRunsRepository;
  let client: pg.Client;

  beforeAll(async () => {
    ({ url, dataSource } = await createMigratedDatabase(12));
    repository = new PipelineRunsRepository(dataSource);
    client = await connect(url);
  });
  afterAll(async () => {
    await client?.end();
    await dataSource?.destroy();
  });

  it('creates the tables with named constraints and the indexes the queries use', async () => {
    const constraints = await client.query<{ conname: string }>(
      `SELECT conname FROM pg_constraint WHERE conrelid IN ('pipeline_runs'::regclass, 'pipeline_run_steps'::regclass)
         AND contype <> 'n' ORDER BY conname`,
    );
    expect(constraints.rows.map((row) => row.conname)).toEqual([
      'ck_pipeline_run_steps_executions',
      'ck_pipeline_run_steps_position',
      'ck_pipeline_run_steps_status',
      'ck_pipeline_runs_attempt',
      'ck_pipeline_runs_finished',
      'ck_pipeline_runs_mode',
      'ck_pipeline_runs_run_id',
      'ck_pipeline_runs_running_owner',
      'ck_pipeline_runs_status',
      'fk_pipeline_run_steps_run',
      'pk_pipeline_run_steps',
      'pk_pipeline_runs',
      'uq_pipeline_run_steps_position',
    ]);
    const indexes = await client.query<{ indexname: string }>(
      "SELECT indexname FROM pg_indexes WHERE tablename IN ('pipeline_runs', 'pipeline_run_steps') ORDER BY indexname",
    );
    expect(indexes.rows.map((row) => row.indexname)).toEqual([
      'ix_pipeline_runs_pipeline_created_at',
      'ix_pipeline_runs_pipeline_principal_created_at',
      'ix_pipeline_runs_queued',
      'ix_pipeline_runs_running_heartbeat',
      'pk_pipeline_run_steps',
      'pk_pipeline_runs',
      'uq_pipeline_run_steps_position',
    ]);
    await expect(
      client.query(
        `INSERT INTO pipeline_runs (run_id, pipeline, input, status, principal, correlation_id, mode, definition)
         VALUES ('run_0123456789ABCDEFGH', 'p', 'i', 'running', 'x', 'c', 'async', '{}')`,
      ),
    ).rejects.toThrow(/ck_pipeline_runs_running_owner/);
  });

  it('stores a queued run with its steps pending in definition order', async () => {
    const created = await repository.createRun(request());
    expect(created.runId).toMatch(/^run_[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(created).toMatchObject({ status: 'queued', owner: null, attempt: 0, startedAt: null, mode: 'async' });
    expect(created.steps.map((step) => [step.name, step.position, step.agent, step.status, step.executions])).toEqual([
      ['draft', 0, 'writer', 'pending', 0],
      ['check', 1, 'checker', 'pending', 0],
    ]);
    const found = await repository.findRun(created.runId);
    expect(found?.definition).toEqual(spec);
    expect(await repository.findRun(created.runId, { pipeline: 'another-pipeline', principal: null })).toBeNull();
    expect(await repository.findRun('run_doesnotexist0000000000')).toBeNull();
  });

  it('creates a synchronous run already owned by its replica', async () => {
    const created = await repository.createRun(request({ mode: 'sync', owner: 'replica-sync' }));
    expect(created).toMatchObject({ status: 'running', owner: 'replica-sync', attempt: 1, mode: 'sync' });
    expect(created.startedAt).toBeInstanceOf(Date);
    expect(created.heartbeatAt).toBeInstanceOf(Date);
  });

  it('lists runs newest first with the total, and finds the latest', async () => {
    const other: PipelineSpec = { ...spec, name: 'listing' };
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await repository.createRun(request({ definition: other }))).runId);
    const page = await repository.listRuns('listing', null, { limit: 2, offset: 1 });
    expect(page.total).toBe(5);
    expect(page.runs.map((run) => run.runId)).toEqual([ids[3], ids[2]]);
    expect((await repository.latestRun('listing', null))?.runId).toBe(ids[4]);
    expect(await repository.latestRun('never-run', null)).toBeNull();
    expect(await repository.listRuns('never-run', null, { limit: 10, offset: 0 })).toEqual({ runs: [], total: 0 });
  });

  it("finds, lists and cancels only a principal's own runs, unless given null (everyone's)", async () => {
    const owned: PipelineSpec = { ...spec, name: 'owned' };
    const alice1 = (await repository.createRun(request({ definition: owned, principal: 'user:alice' }))).runId;
    const bob = (await repository.createRun(request({ definition: owned, principal: 'user:bob' }))).runId;
    const alice2 = (await repository.createRun(request({ definition: owned, principal: 'user:alice' }))).runId;
    const page = { limit: 10, offset: 0 };

    expect(await repository.listRuns('owned', 'user:alice', page)).toMatchObject({ total: 2, runs: [{ runId: alice2 }, { runId: alice1 }] });
    expect((await repository.listRuns('owned', 'user:alice', { limit: 1, offset: 1 })).runs.map((run) => run.runId)).toEqual([alice1]);
    expect((await repository.listRuns('owned', null, page)).total).toBe(3);
    expect((await repository.latestRun('owned', 'user:bob'))?.runId).toBe(bob);
    expect((await repository.latestRun('owned', null))?.runId).toBe(alice2);
    expect(await repository.latestRun('owned', 'user:carol')).toBeNull();

    expect(await repository.findRun(bob, { pipeline: 'owned', principal: 'user:alice' })).toBeNull();
    expect((await repository.findRun(bob, { pipeline: 'owned', principal: 'user:bob' }))?.runId).toBe(bob);
    expect((await repository.findRun(bob, { pipeline: 'owned', principal: null }))?.runId).toBe(bob);

    expect(await repository.requestCancel(bob, { staleAfterMs: 10_000, principal: 'user:alice' })).toBeNull();
    expect((await repository.readControl(bob))?.status).toBe('queued');
    expect(await repository.requestCancel(bob, { staleAfterMs: 10_000, principal: 'user:bob' })).toMatchObject({ status: 'cancelled' });
  });

  it('gives each queued run to exactly one of many concurrent claimers', async () => {
    const pipeline: PipelineSpec = { ...spec, name: 'claiming' };
    const created = await Promise.all(Array.from({ length: 20 }, () => repository.createRun(request({ definition: pipeline }))));
    const claims = await Promise.all(
      Array.from({ length: 30 }, (_, i) => repository.claimNext(`replica-${i % 3}`, { staleAfterMs: 60_000 })),
    );
    const claimed = claims.filter((run) => run !== null && run.pipeline === 'claiming').map((run) => run!.runId);
    expect(new Set(claimed).size).toBe(claimed.length);
    // Claims may also take queued runs of earlier tests; those of this one must all be taken once.
    const mine = claimed.filter((id) => created.some((run) => run.runId === id));
    expect(mine.sort()).toEqual(created.map((run) => run.runId).sort());
    const rows = await client.query(`SELECT attempt, owner, status FROM pipeline_runs WHERE pipeline = 'claiming'`);
    expect(rows.rows.every((row) => row.attempt === 1 && row.status === 'running' && row.owner.startsWith('replica-'))).toBe(true);
  });

  it('fences writes by owner and attempt: a replica whose run was taken over changes nothing', async () => {
    const pipeline: PipelineSpec = { ...spec, name: 'fencing' };
    const created = await repository.createRun(request({ definition: pipeline, mode: 'sync', owner: 'replica-old' }));
    const oldLease = leaseOf(created);
    expect(await repository.markStepRunning(oldLease, 'draft', 'topic')).toBe(true);

    expect(await repository.claimNext('replica-new', { staleAfterMs: 60_000 })).toBeNull();
    await client.query(`UPDATE pipeline_runs SET heartbeat_at = now() - interval '5 seconds' WHERE run_id = $1`, [created.runId]);
    const taken = await repository.claimNext('replica-new', { staleAfterMs: 1_000 });
    expect(taken).toMatchObject({ runId: created.runId, owner: 'replica-new', attempt: 2 });

    expect(await repository.heartbeat(oldLease)).toBe(false);
    expect(await repository.markStepCompleted(oldLease, 'draft', { output: 'late', usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 } })).toBe(false);
    expect(await repository.finishRun(oldLease, { status: 'completed', output: 'x', usage: { inputTokens: 0, outputTokens: 0, totalTokens: 0 }, error: null })).toBeNull();
    expect(await repository.releaseRun(oldLease)).toBe(false);

    const newLease = leaseOf(taken!);
    expect(await repository.heartbeat(newLease)).toBe(true);
    expect(await repository.markStepRunning(newLease, 'draft', 'topic')).toBe(true);
    const steps = await repository.getSteps(created.runId);
    expect(steps[0]).toMatchObject({ name: 'draft', status: 'running', output: null, executions: 2 });
  });

  it('finishes a run in one go: remaining steps skipped, final status, usage and error stored', async () => {
    const created = await repository.createRun(request({ definition: { ...spec, name: 'finishing' }, mode: 'sync', owner: 'r1' }));
    const lease = leaseOf(created);
    await repository.markStepRunning(lease, 'draft', 'topic');
    await repository.markStepFailed(lease, 'draft', { code: 'provider_error', message: 'mock/x: boom' });
    const finished = await repository.finishRun(lease, {
      status: 'failed',
      output: null,
      usage: { inputTokens: 1, outputTokens: 2, totalTokens: 3 },
      error: { code: 'pipeline_error', message: "Step 'draft' failed: mock/x: boom" },
    });
    expect(finished?.skippedSteps).toEqual(['check']);
    expect(finished?.run).toMatchObject({ status: 'failed', output: null, usage: { totalTokens: 3 } });
    const stored = await repository.findRun(created.runId);
    expect(stored?.finishedAt).toBeInstanceOf(Date);
    expect(stored?.steps.map((step) => [step.status, step.error?.code ?? null])).toEqual([
      ['failed', 'provider_error'],
      ['skipped', null],
    ]);
    expect(await repository.heartbeat(lease)).toBe(false);
  });

  it('stores usage as snake_case jsonb, as older rows have it, and reads it back camelCase', async () => {
    const created = await repository.createRun(request({ definition: { ...spec, name: 'usage-format' }, mode: 'sync', owner: 'r1' }));
    expect(created.usage).toEqual({ inputTokens: 0, outputTokens: 0, totalTokens: 0 });
    const lease = leaseOf(created);
    await repository.markStepRunning(lease, 'draft', 'topic');
    await repository.markStepCompleted(lease, 'draft', { output: 'D', usage: { inputTokens: 4, outputTokens: 5, totalTokens: 9 } });
    await repository.finishRun(lease, {
      status: 'completed',
      output: 'D',
      usage: { inputTokens: 4, outputTokens: 5, totalTokens: 9 },
      error: null,
    });

    const stored = { input_tokens: 4, output_tokens: 5, total_tokens: 9 };
    const run = await client.query(`SELECT usage FROM pipeline_runs WHERE run_id = $1`, [created.runId]);
    expect(run.rows[0].usage).toEqual(stored);
    const step = await client.query(`SELECT usage FROM pipeline_run_steps WHERE run_id = $1 AND name = 'draft'`, [created.runId]);
    expect(step.rows[0].usage).toEqual(stored);

    const found = await repository.findRun(created.runId);
    expect(found?.usage).toEqual({ inputTokens: 4, outputTokens: 5, totalTokens: 9 });
    expect(found?.steps.map((s) => s.usage)).toEqual([{ inputTokens: 4, outputTokens: 5, totalTokens: 9 }, null]);
    expect((await repository.listRuns('usage-format', null, { limit: 1, offset: 0 })).runs[0]?.usage).toEqual({
      inputTokens: 4,
      outputTokens: 5,
      totalTokens: 9,
    });
  });

  it('cancels a queued run at once, and only flags a live running one', async () => {
    const queued = await repository.createRun(request({ definition: { ...spec, name: 'cancelling' } }));
    const cancelled = await repository.requestCancel(queued.runId, { staleAfterMs: 10_000, principal: null });
    expect(cancelled).toMatchObject({ status: 'cancelled', error: { code: 'cancelled' } });
    expect(cancelled?.finishedAt).toBeInstanceOf(Date);
    expect((await repository.getSteps(queued.runId)).map((step) => step.status)).toEqual(['skipped', 'skipped']);

    const live = await repository.createRun(request({ definition: { ...spec, name: 'cancelling' }, mode: 'sync', owner: 'r2' }));
    expect((await repository.readControl(live.runId))?.cancelRequested).toBe(false);
    const flagged = await repository.requestCancel(live.runId, { staleAfterMs: 10_000, principal: null });
    expect(flagged).toMatchObject({ status: 'running', owner: 'r2' });
    expect(flagged?.cancelRequestedAt).toBeInstanceOf(Date);
    expect(await repository.readControl(live.runId)).toEqual({ status: 'running', owner: 'r2', attempt: 1, cancelRequested: true });
    expect(await repository.requestCancel('run_unknown0000000000000000', { staleAfterMs: 10_000, principal: null })).toBeNull();
  });

  it('cancels a running run whose replica is gone directly, and invalidates that replica’s lease', async () => {
    const orphan = await repository.createRun(request({ definition: { ...spec, name: 'orphan' }, mode: 'sync', owner: 'dead' }));
    await client.query(`UPDATE pipeline_runs SET heartbeat_at = now() - interval '1 minute' WHERE run_id = $1`, [orphan.runId]);
    const cancelled = await repository.requestCancel(orphan.runId, { staleAfterMs: 10_000, principal: null });
    expect(cancelled).toMatchObject({ status: 'cancelled', attempt: 2 });
    expect(await repository.heartbeat(leaseOf(orphan))).toBe(false);
  });

  it('releases a run back to the queue and deletes steps with their run', async () => {
    const created = await repository.createRun(request({ definition: { ...spec, name: 'release' }, mode: 'sync', owner: 'r3' }));
    expect(await repository.releaseRun(leaseOf(created))).toBe(true);
    expect(await repository.readControl(created.runId)).toEqual({ status: 'queued', owner: null, attempt: 1, cancelRequested: false });
    await client.query('DELETE FROM pipeline_runs WHERE run_id = $1', [created.runId]);
    const left = await client.query('SELECT count(*)::int AS n FROM pipeline_run_steps WHERE run_id = $1', [created.runId]);
    expect(left.rows[0].n).toBe(0);
  });
});
