import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, createTestDatabase } from '../support/database.js';
import { eventually } from '../support/eventually.js';
import { post } from '../support/http.js';
import { spawnServer, type SpawnedServer } from '../support/spawn-server.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

const WAIT = { timeoutMs: 15_000 };
const ENV = { AGENTSPEC_DEFINITIONS: 'test/fixtures/e2e-pipelines', AGENTSPEC_PIPELINE_STALE_AFTER: '2s' };

type Status = { status: string; steps: { name: string; status: string }[] };

describe('pipelines over HTTP', () => {
  let databaseUrl: string;
  let a: TestApp;
  let b: TestApp;

  beforeAll(async () => {
    databaseUrl = await createTestDatabase();
    a = await startTestApp({ databaseUrl, env: ENV });
    // B executes nothing itself, so a run started on A stays on A.
    b = await startTestApp({ databaseUrl, env: { ...ENV, AGENTSPEC_PIPELINE_WORKER: 'false' } });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
  });

  it('lists pipelines with their steps', async () => {
    const body = await (await fetch(`${a.url}/v1/pipelines`)).json();
    expect(body.pipelines.map((p: { name: string }) => p.name)).toEqual(['fan', 'breaks', 'conditional', 'long']);
    expect(body.pipelines[0].steps[2]).toEqual({ name: 'merge', agent: 'quick', depends_on: ['left', 'right'] });
  });

  it('runs independent steps concurrently and fans in their outputs in depends_on order', async () => {
    const started = Date.now();
    const response = await post(a, '/v1/pipelines/fan/run', { input: 'tides' });
    const elapsed = Date.now() - started;
    expect(response.status).toBe(200);
    const run = await response.json();
    expect(run).toMatchObject({ pipeline: 'fan', run_id: expect.stringMatching(/^run_/), status: 'completed' });
    expect(run.steps.map((s: { name: string; status: string }) => [s.name, s.status])).toEqual([
      ['left', 'completed'],
      ['right', 'completed'],
      ['merge', 'completed'],
    ]);
    expect(run.steps[0]).toMatchObject({ agent: 'steady', output: 'Echo: tides', duration_ms: expect.any(Number) });
    expect(run.steps[1].output).toBe('Echo: right side of tides');
    // Two 200 ms steps side by side, not one after the other.
    expect(elapsed).toBeLessThan(400 + 300);
    expect(run.steps[0].duration_ms + run.steps[1].duration_ms).toBeGreaterThanOrEqual(400);
    const merged: string = run.output;
    expect(merged).toBe(run.steps[2].output);
    expect(merged.indexOf('Echo: tides')).toBeGreaterThan(0);
    expect(merged.indexOf('Echo: tides')).toBeLessThan(merged.indexOf('Echo: right side of tides'));
    expect(merged).toMatch(/left[\s\S]*right/);
    const sum = run.steps.reduce((total: number, s: { usage: { total_tokens: number } }) => total + s.usage.total_tokens, 0);
    expect(run.usage.total_tokens).toBe(sum);
  });

  it('fails fast: 500 pipeline_error with the run, failed step error, later steps skipped, output null', async () => {
    const response = await post(a, '/v1/pipelines/breaks/run', { input: 'x' });
    expect(response.status).toBe(500);
    const run = await response.json();
    expect(run).toMatchObject({
      pipeline: 'breaks',
      status: 'failed',
      output: null,
      error: { code: 'pipeline_error', message: expect.any(String) },
    });
    expect(run.steps.map((s: { status: string }) => s.status)).toEqual(['completed', 'failed', 'skipped']);
    expect(run.steps[1].error).toEqual({ code: 'internal_error', message: expect.stringMatching(/mock\/echo/) });
  });

  it('skips a step whose when condition is false, and runs it when true', async () => {
    const skipped = await (await post(a, '/v1/pipelines/conditional/run', { input: 'stay' })).json();
    expect(skipped.steps.map((s: { status: string }) => s.status)).toEqual(['completed', 'skipped']);
    const ran = await (await post(a, '/v1/pipelines/conditional/run', { input: 'go' })).json();
    expect(ran.steps.map((s: { status: string }) => s.status)).toEqual(['completed', 'completed']);
  });

  it('accepts the trigger compatibility form and validates the body', async () => {
    const run = await (await post(a, '/v1/pipelines/conditional/run', { trigger: { ticket: 7 } })).json();
    expect(run.steps[0].output).toBe('Echo: {"ticket":7}');
    expect((await post(a, '/v1/pipelines/fan/run', {})).status).toBe(400);
    expect((await post(a, '/v1/pipelines/fan/run', { input: 'x', options: { async: 'yes' } })).status).toBe(400);
    expect((await post(a, '/v1/pipelines/nope/run', { input: 'x' })).status).toBe(404);
  });

  it("names the run's request on its steps' model call lines, sync and async", async () => {
    const sync = await post(a, '/v1/pipelines/fan/run', { input: 'named' }, { 'X-Correlation-ID': 'pipeline-lines-sync' });
    expect(sync.status).toBe(200);
    const accepted = await post(
      a,
      '/v1/pipelines/fan/run',
      { input: 'named later', options: { async: true } },
      { 'X-Correlation-ID': 'pipeline-lines-async' },
    );
    expect(accepted.status).toBe(202);
    const { run_id: runId } = await accepted.json();
    await eventually(
      async () => (await (await fetch(`${a.url}/v1/pipelines/fan/status?run_id=${runId}`)).json()) as Status,
      (status) => status.status !== 'running',
      WAIT,
    );
    for (const id of ['pipeline-lines-sync', 'pipeline-lines-async']) {
      // Whichever replica ran the steps: three steps, three model calls.
      const lines = [...a.logs.withCorrelationId(id), ...b.logs.withCorrelationId(id)].filter((line) => line.msg === 'model call');
      expect(lines.map((line) => line.agent).sort()).toEqual(['quick', 'steady', 'steady']);
    }
  });

  it('answers 202 for an async run; status shows live progress from the other replica', async () => {
    const accepted = await post(a, '/v1/pipelines/long/run', { input: 'slow', options: { async: true } });
    expect(accepted.status).toBe(202);
    const body = await accepted.json();
    expect(body).toEqual({ pipeline: 'long', run_id: expect.stringMatching(/^run_/), status: 'running', started_at: expect.any(String) });
    const url = `${b.url}/v1/pipelines/long/status?run_id=${body.run_id}`;
    const live = await eventually(
      async () => (await (await fetch(url)).json()) as Status,
      (s) => s.steps[0].status === 'running',
      WAIT,
    );
    expect(live.status).toBe('running');
    expect(live.steps.map((s) => s.status)).toEqual(['running', 'pending', 'pending']);
    const latest = await (await fetch(`${b.url}/v1/pipelines/long/status`)).json();
    expect(latest.run_id).toBe(body.run_id);
    const finished = await eventually(
      async () => (await (await fetch(url)).json()) as Status & { output: string },
      (s) => s.status !== 'running',
      { timeoutMs: 20_000 },
    );
    expect(finished.status).toBe('completed');
    expect(finished.output).toBe('Echo: Echo: Echo: slow');
  }, 30_000);

  it('cancels through replica B a run executing on replica A', async () => {
    const { run_id: runId } = await (await post(a, '/v1/pipelines/long/run', { input: 'stop me', options: { async: true } })).json();
    const url = `${b.url}/v1/pipelines/long/status?run_id=${runId}`;
    await eventually(
      async () => (await (await fetch(url)).json()) as Status,
      (s) => s.steps[0].status === 'running',
      WAIT,
    );
    const cancelled = await post(b, `/v1/pipelines/long/runs/${runId}/cancel`);
    expect(cancelled.status).toBe(200);
    const body = await cancelled.json();
    expect(body.status).toBe('cancelled');
    expect(body.steps.map((s: { status: string }) => s.status)).toEqual(['skipped', 'skipped', 'skipped']);
    const runs = await (await fetch(`${a.url}/v1/pipelines/long/runs?limit=1`)).json();
    expect(runs.runs[0]).toMatchObject({ run_id: runId, status: 'cancelled' });
  }, 20_000);

  it('answers 404 for an unknown run id, a run of another pipeline, or no run yet', async () => {
    expect((await fetch(`${a.url}/v1/pipelines/fan/status?run_id=run_nope`)).status).toBe(404);
    const { run_id: runId } = await (await post(a, '/v1/pipelines/conditional/run', { input: 'x' })).json();
    expect((await fetch(`${a.url}/v1/pipelines/fan/status?run_id=${runId}`)).status).toBe(404);
    const fresh = await startTestApp({ databaseUrl: await createTestDatabase(), env: ENV });
    try {
      const none = await fetch(`${fresh.url}/v1/pipelines/fan/status`);
      expect(none.status).toBe(404);
      expect((await none.json()).error.code).toBe('not_found');
    } finally {
      await fresh.close();
    }
  });

  it('counts pipeline steps and runs in the metrics', async () => {
    const text = await (await fetch(`${a.url}/v1/metrics`)).text();
    expect(text).toMatch(/agentspec_pipeline_steps_total\{pipeline="fan",step="left",status="completed"\} \d+/);
    expect(text).toMatch(/agentspec_pipeline_runs_total\{pipeline="breaks",status="failed"\} \d+/);
  });
});

describe('a replica killed in the middle of a run', () => {
  let servers: SpawnedServer[] = [];
  afterAll(() => servers.forEach((server) => server.process.kill('SIGKILL')));

  it('is taken over by the other replica, resuming after the last completed step', async () => {
    const databaseUrl = await createTestDatabase();
    servers = [await spawnServer({ DATABASE_URL: databaseUrl, ...ENV }), await spawnServer({ DATABASE_URL: databaseUrl, ...ENV })];
    const [first] = servers;
    const { run_id: runId } = await (await post(first, '/v1/pipelines/long/run', { input: 'survive', options: { async: true } })).json();
    const client = await connect(databaseUrl);
    try {
      const owner = await eventually(
        async () =>
          (
            await client.query(
              "SELECT r.owner FROM pipeline_runs r JOIN pipeline_run_steps s USING (run_id) WHERE run_id = $1 AND s.name = 'two' AND s.status = 'running'",
              [runId],
            )
          ).rows[0]?.owner as string | undefined,
        WAIT,
      );
      expect(owner).toBeDefined();
      const victim = servers.find((server) => owner.includes(`:${server.process.pid}:`))!;
      const survivor = servers.find((server) => server !== victim)!;
      victim.process.kill('SIGKILL');
      await victim.exited;

      const finished = await eventually(
        async () => (await (await fetch(`${survivor.url}/v1/pipelines/long/status?run_id=${runId}`)).json()) as Status & { output: string },
        (status) => status.status !== 'running',
        { timeoutMs: 25_000 },
      );
      expect(finished.status).toBe('completed');
      expect(finished.output).toBe('Echo: Echo: Echo: survive');
      const { rows } = await client.query('SELECT name, executions FROM pipeline_run_steps WHERE run_id = $1 ORDER BY position', [runId]);
      expect(rows).toEqual([
        { name: 'one', executions: 1 },
        { name: 'two', executions: 2 },
        { name: 'three', executions: 1 },
      ]);
    } finally {
      await client.end();
    }
  }, 60_000);
});
