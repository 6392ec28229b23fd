import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { DataSource } from 'typeorm';
import type pg from 'pg';
import { ClientClosedError } from '../../src/common/errors/domain-errors.js';
import { toErrorResponse } from '../../src/common/errors/error-table.js';
import { PipelineExecutor } from '../../src/pipelines/pipeline-executor.js';
import { PipelineGraph, type PipelineSpec } from '../../src/pipelines/pipeline-graph.js';
import type { PipelineRunWithSteps } from '../../src/pipelines/pipeline-run.js';
import { PipelineRunsRepository } from '../../src/pipelines/pipeline-runs.repository.js';
import { PipelineRunner } from '../../src/pipelines/pipeline-runner.js';
import { PipelineWorker } from '../../src/pipelines/pipeline-worker.js';
import type { PipelinesOptions, StepRunner } from '../../src/pipelines/pipelines.options.js';
import { connect, createMigratedDatabase, openDataSource } from '../support/database.js';
import { eventually } from '../support/eventually.js';
import { TcpProxy } from '../support/tcp-proxy.js';

interface Call {
  replica: string;
  runId: string;
  step: string;
  at: number;
}

/** Each step waits `delays[step]` ms (aborted by its signal) and answers `<step>(<input>)`. */
function agents(replica: string, delays: Record<string, number>, calls: Call[]): StepRunner {
  return async ({ runId, step, input, signal }) => {
    calls.push({ replica, runId, step, at: performance.now() });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, delays[step] ?? 10);
      signal.addEventListener('abort', () => (clearTimeout(timer), reject(signal.reason)), { once: true });
    });
    const output = `${step}(${input})`;
    return { output, usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 } };
  };
}

/** Polls every 20 ms: these tests time takeovers, so a slow poll would blur them. */
const within = (timeoutMs: number, what: string) => ({ timeoutMs, intervalMs: 20, what });

const chain: PipelineSpec = PipelineGraph.from({
  name: 'chain',
  steps: [
    { name: 'a', agent: 'x' },
    { name: 'b', agent: 'x', depends_on: 'a' },
    { name: 'c', agent: 'x', depends_on: 'b' },
  ],
}).toSpec();

const timing: PipelinesOptions = {
  staleAfterMs: 1_000,
  heartbeatIntervalMs: 200,
  controlPollIntervalMs: 100,
  pollIntervalMs: 50,
  shutdownGraceMs: 100,
};

describe('pipeline durability across replicas (real PostgreSQL)', () => {
  let replicaA: DataSource;
  let replicaB: DataSource;
  let client: pg.Client;
  let databaseUrl: string;
  const workers: PipelineWorker[] = [];

  beforeAll(async () => {
    ({ url: databaseUrl, dataSource: replicaA } = await createMigratedDatabase());
    replicaB = await openDataSource(databaseUrl);
    client = await connect(databaseUrl);
  });
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((worker) => worker.stop()));
    // Each test starts from an empty queue, so workers only see the runs of their own test.
    await client.query('DELETE FROM pipeline_runs');
  });
  afterAll(async () => {
    await client?.end();
    await replicaA?.destroy();
    await replicaB?.destroy();
  });

  function worker(dataSource: DataSource, replicaId: string, runStep: StepRunner, options: PipelinesOptions = {}) {
    const repository = new PipelineRunsRepository(dataSource);
    const settings = { ...timing, replicaId, ...options };
    const created = new PipelineWorker(repository, new PipelineExecutor(repository, runStep, settings), settings);
    workers.push(created);
    return created;
  }

  function finished(repository: PipelineRunsRepository, runId: string): () => Promise<PipelineRunWithSteps | undefined> {
    return async () => {
      const run = await repository.findRun(runId);
      return run && ['completed', 'failed', 'cancelled'].includes(run.status) ? run : undefined;
    };
  }

  it('takes over a run whose replica died after the stale threshold and resumes after its completed steps', async () => {
    const calls: Call[] = [];
    const repositoryA = new PipelineRunsRepository(replicaA);
    const repositoryB = new PipelineRunsRepository(replicaB);
    const queued = await repositoryA.createRun({
      definition: chain,
      input: 'in',
      principal: 'key:test',
      correlationId: 'corr-takeover',
      mode: 'async',
    });

    const claimed = await repositoryA.claimNext('replica-a', { staleAfterMs: timing.staleAfterMs! });
    expect(claimed?.runId).toBe(queued.runId);
    const executorA = new PipelineExecutor(repositoryA, agents('replica-a', { b: 60_000 }, calls), { ...timing, replicaId: 'replica-a' });
    const death = new AbortController();
    const outcomeA = executorA.execute(claimed!, { signal: death.signal });
    await eventually(async () => calls.find((call) => call.step === 'b'), within(5_000, 'step b on replica A'));
    // Replica A dies: from now on it neither heartbeats nor writes.
    death.abort();
    const diedAt = performance.now();
    expect(await outcomeA).toEqual({ status: 'abandoned', reason: 'halted' });
    expect(await repositoryB.claimNext('replica-probe', { staleAfterMs: timing.staleAfterMs! })).toBeNull();

    worker(replicaB, 'replica-b', agents('replica-b', {}, calls)).start();
    const run = await eventually(finished(repositoryB, queued.runId), within(10_000, 'the run to finish on replica B'));
    const resumedAt = calls.find((call) => call.replica === 'replica-b')!.at;

    expect(resumedAt - diedAt).toBeGreaterThan(timing.staleAfterMs! - timing.heartbeatIntervalMs! - 100);
    expect(resumedAt - diedAt).toBeLessThan(3_000);
    expect(run).toMatchObject({ status: 'completed', owner: 'replica-b', attempt: 2, output: 'c(b(a(in)))' });
    expect(run.steps.map((step) => [step.name, step.status, step.executions])).toEqual([
      ['a', 'completed', 1],
      ['b', 'completed', 2],
      ['c', 'completed', 1],
    ]);
    expect(calls.map((call) => `${call.replica}:${call.step}`)).toEqual(['replica-a:a', 'replica-a:b', 'replica-b:b', 'replica-b:c']);
  });

  it('finishes a synchronous run whose replica died, so it is never left running', async () => {
    const calls: Call[] = [];
    const repositoryA = new PipelineRunsRepository(replicaA);
    const deadRunner = new PipelineRunner(
      repositoryA,
      new PipelineExecutor(repositoryA, agents('replica-a', { a: 60_000 }, calls), { ...timing, replicaId: 'replica-a' }),
      { ...timing, replicaId: 'replica-a' },
    );
    void deadRunner.runSync({ pipeline: chain, input: 'sync', principal: 'key:test', correlationId: 'c' }).catch(() => undefined);
    await eventually(async () => calls.find((call) => call.step === 'a'), within(5_000, 'step a on replica A'));
    const runId = calls[0].runId;
    // Simulates the process being killed: its heartbeat stops, its calls are never answered.
    await client.query(`UPDATE pipeline_runs SET owner = 'replica-killed' WHERE run_id = $1`, [runId]);

    worker(replicaB, 'replica-b', agents('replica-b', {}, calls)).start();
    const run = await eventually(finished(new PipelineRunsRepository(replicaB), runId), within(10_000, 'the sync run to finish on replica B'));
    expect(run).toMatchObject({ status: 'completed', mode: 'sync', owner: 'replica-b', output: 'c(b(a(sync)))' });
    await deadRunner.onModuleDestroy();
  });

  /** Replica A runs `chain` synchronously; once step a started, its lease is taken from it. */
  async function syncRunLostByA(dataSource: DataSource, calls: Call[], input: string, signal?: AbortSignal) {
    const repositoryA = new PipelineRunsRepository(dataSource);
    const settingsA = { ...timing, replicaId: 'replica-a' };
    const runnerA = new PipelineRunner(repositoryA, new PipelineExecutor(repositoryA, agents('replica-a', { a: 60_000 }, calls), settingsA), settingsA);
    const answer = runnerA.runSync({ pipeline: chain, input, principal: 'key:test', correlationId: `c-${input}` }, { signal });
    await eventually(async () => calls.find((call) => call.step === 'a'), within(5_000, 'step a on replica A'));
    const runId = calls[0].runId;
    // Replica A stalls past the stale threshold (as if paused): its lease is no longer its own.
    await client.query(`UPDATE pipeline_runs SET owner = 'replica-stalled', heartbeat_at = now() - interval '1 hour' WHERE run_id = $1`, [runId]);
    return { runnerA, answer, runId };
  }

  it('answers a synchronous caller with the run as the replica that took it over finished it', async () => {
    const calls: Call[] = [];
    const { runnerA, answer } = await syncRunLostByA(replicaA, calls, 'sync');
    // Replica B's steps take a while, so A has to wait for B rather than report a running run.
    worker(replicaB, 'replica-b', agents('replica-b', { a: 300, b: 300, c: 300 }, calls)).start();

    const run = await answer;
    expect(run).toMatchObject({ status: 'completed', mode: 'sync', owner: 'replica-b', output: 'c(b(a(sync)))' });
    expect(calls.filter((call) => call.replica === 'replica-b').map((call) => call.step)).toEqual(['a', 'b', 'c']);
    await runnerA.onModuleDestroy();
  });

  it('stops waiting for a taken-over synchronous run when its caller goes away; the run goes on', async () => {
    const calls: Call[] = [];
    const caller = new AbortController();
    const { runnerA, answer, runId } = await syncRunLostByA(replicaA, calls, 'gone', caller.signal);
    worker(replicaB, 'replica-b', agents('replica-b', { a: 2_000 }, calls)).start();
    await eventually(async () => calls.find((call) => call.replica === 'replica-b'), within(5_000, 'replica B to take the run'));

    caller.abort();
    const closed = await answer.then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(closed).toBeInstanceOf(ClientClosedError);
    expect(toErrorResponse(closed).status).toBe(499);
    const run = await eventually(finished(new PipelineRunsRepository(replicaB), runId), within(10_000, 'the run to finish on replica B'));
    expect(run).toMatchObject({ status: 'completed', owner: 'replica-b' });
    await runnerA.onModuleDestroy();
  });

  it('stops waiting for a lost synchronous run that no replica works on, and answers it as it stands', async () => {
    const calls: Call[] = [];
    const { runnerA, answer } = await syncRunLostByA(replicaA, calls, 'orphan');
    const lostAt = Date.now();
    // No worker anywhere: nobody takes the run over.
    const run = await answer;
    const waited = Date.now() - lostAt;
    expect(run.status).toBe('running');
    expect(waited).toBeGreaterThanOrEqual(3 * timing.staleAfterMs! - 500);
    expect(waited).toBeLessThan(3 * timing.staleAfterMs! + 3_000);
    await runnerA.onModuleDestroy();
  });

  it('answers a caller waiting for a taken-over run at once when the replica shuts down', async () => {
    const calls: Call[] = [];
    const { runnerA, answer, runId } = await syncRunLostByA(replicaA, calls, 'handover');
    worker(replicaB, 'replica-b', agents('replica-b', { a: 5_000 }, calls)).start();
    await eventually(async () => calls.find((call) => call.replica === 'replica-b'), within(5_000, 'replica B to take the run'));
    const started = Date.now();
    await runnerA.handOver();
    const run = await answer;
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(run).toMatchObject({ runId, status: 'running', owner: 'replica-b' });
  });

  it('rides out a short database outage while waiting for a taken-over run', async () => {
    const proxy = TcpProxy.forUrl(databaseUrl);
    await proxy.start();
    const throughProxy = await openDataSource(proxy.rewrite(databaseUrl), 4);
    try {
      const calls: Call[] = [];
      const { runnerA, answer, runId } = await syncRunLostByA(throughProxy, calls, 'outage');
      worker(replicaB, 'replica-b', agents('replica-b', { a: 1_500 }, calls)).start();
      await eventually(async () => calls.find((call) => call.replica === 'replica-b'), within(5_000, 'replica B to take the run'));
      await proxy.cut();
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      await proxy.restore();
      const run = await answer;
      expect(run).toMatchObject({ runId, status: 'completed', owner: 'replica-b', output: 'c(b(a(outage)))' });
      await runnerA.onModuleDestroy();
    } finally {
      await throughProxy.destroy().catch(() => undefined);
      await proxy.cut();
    }
  });

  it('executes every queued run exactly once with two workers polling concurrently', async () => {
    const calls: Call[] = [];
    const twoSteps: PipelineSpec = PipelineGraph.from({
      name: 'many',
      steps: [
        { name: 's1', agent: 'x' },
        { name: 's2', agent: 'x', depends_on: 's1' },
      ],
    }).toSpec();
    const repository = new PipelineRunsRepository(replicaA);
    const runIds: string[] = [];
    for (let i = 0; i < 40; i++) {
      const run = await repository.createRun({ definition: twoSteps, input: `n${i}`, principal: 'p', correlationId: 'c', mode: 'async' });
      runIds.push(run.runId);
    }
    const options = { pollIntervalMs: 10, workerConcurrency: 4 };
    const first = worker(replicaA, 'replica-a', agents('replica-a', { s1: 15, s2: 15 }, calls), options);
    const second = worker(replicaB, 'replica-b', agents('replica-b', { s1: 15, s2: 15 }, calls), options);
    first.start();
    second.start();
    // Extra concurrent polls on top of the timers.
    await Promise.all([first.pollOnce(), second.pollOnce(), first.pollOnce(), second.pollOnce()]);

    await eventually(
      async () => {
        const { rows } = await client.query(`SELECT count(*)::int AS n FROM pipeline_runs WHERE status = 'completed'`);
        return rows[0].n === runIds.length;
      },
      within(20_000, 'all runs to complete'),
    );
    const perStep = new Map<string, number>();
    for (const call of calls) perStep.set(`${call.runId}/${call.step}`, (perStep.get(`${call.runId}/${call.step}`) ?? 0) + 1);
    expect(perStep.size).toBe(runIds.length * 2);
    expect([...perStep.values()].every((count) => count === 1)).toBe(true);

    const { rows: runs } = await client.query<{ run_id: string; owner: string; attempt: number }>(
      'SELECT run_id, owner, attempt FROM pipeline_runs',
    );
    expect(runs.every((run) => run.attempt === 1)).toBe(true);
    expect(new Set(runs.map((run) => run.owner))).toEqual(new Set(['replica-a', 'replica-b']));
    const ownerOf = new Map(runs.map((run) => [run.run_id, run.owner]));
    expect(calls.filter((call) => call.replica !== ownerOf.get(call.runId))).toEqual([]);
    const { rows: steps } = await client.query('SELECT max(executions)::int AS most, min(executions)::int AS least FROM pipeline_run_steps');
    expect(steps[0]).toEqual({ most: 1, least: 1 });
  });

  it('releases its runs on shutdown so another replica resumes them without waiting for the stale threshold', async () => {
    const calls: Call[] = [];
    const repository = new PipelineRunsRepository(replicaA);
    const queued = await repository.createRun({ definition: chain, input: 'x', principal: 'p', correlationId: 'c', mode: 'async' });
    const leaving = worker(replicaA, 'replica-a', agents('replica-a', { b: 60_000 }, calls), { staleAfterMs: 30_000, heartbeatIntervalMs: 1_000 });
    leaving.start();
    await eventually(async () => calls.find((call) => call.step === 'b'), within(5_000, 'step b on replica A'));

    await leaving.stop();
    expect(await repository.readControl(queued.runId)).toEqual({ status: 'queued', owner: null, attempt: 1, cancelRequested: false });
    expect(leaving.activeRuns).toBe(0);

    const stoppedAt = performance.now();
    worker(replicaB, 'replica-b', agents('replica-b', {}, calls), { staleAfterMs: 30_000, heartbeatIntervalMs: 1_000 }).start();
    const run = await eventually(finished(new PipelineRunsRepository(replicaB), queued.runId), within(5_000, 'the released run to finish'));
    expect(performance.now() - stoppedAt).toBeLessThan(2_000);
    expect(run).toMatchObject({ status: 'completed', owner: 'replica-b', attempt: 2 });
    expect(calls.map((call) => `${call.replica}:${call.step}`)).toEqual(['replica-a:a', 'replica-a:b', 'replica-b:b', 'replica-b:c']);
  });

  it('fails a run whose replicas keep dying instead of retrying it forever', async () => {
    const calls: Call[] = [];
    const repository = new PipelineRunsRepository(replicaA);
    const queued = await repository.createRun({ definition: chain, input: 'x', principal: 'p', correlationId: 'c', mode: 'async' });
    await client.query(
      `UPDATE pipeline_runs SET status = 'running', owner = 'gone', started_at = now(), attempt = 3,
         heartbeat_at = now() - interval '1 minute' WHERE run_id = $1`,
      [queued.runId],
    );
    worker(replicaB, 'replica-b', agents('replica-b', {}, calls), { maxAttempts: 3 }).start();
    const run = await eventually(finished(new PipelineRunsRepository(replicaB), queued.runId), within(5_000, 'the run to be given up'));
    expect(run).toMatchObject({ status: 'failed', output: null, attempt: 4, error: { code: 'pipeline_error' } });
    expect(run.error?.message).toContain('interrupted 3 times');
    expect(run.steps.map((step) => step.status)).toEqual(['skipped', 'skipped', 'skipped']);
    expect(calls).toEqual([]);
  });
});
