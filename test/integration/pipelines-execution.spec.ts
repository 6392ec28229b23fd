import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DataSource } from 'typeorm';
import { ProviderError } from '../../src/providers/model-provider.js';
import { PipelineExecutor } from '../../src/pipelines/pipeline-executor.js';
import type { PipelineSpec } from '../../src/pipelines/pipeline-graph.js';
import { toRunDocumentDto, toRunStatusDto } from '../../src/pipelines/pipeline-run.mapper.js';
import { PipelineRunner } from '../../src/pipelines/pipeline-runner.js';
import { PipelineRunsRepository } from '../../src/pipelines/pipeline-runs.repository.js';
import type { PipelinesOptions, RunFinishedEvent, StepCall, StepFinishedEvent, StepRunner } from '../../src/pipelines/pipelines.options.js';
import { createMigratedDatabase, openDataSource } from '../support/database.js';

interface Behaviour {
  delayMs?: number;
  /** Thrown after the delay. */
  fail?: () => Error;
  output?: (input: string) => string;
}

interface Call {
  step: string;
  input: string;
  startedAt: number;
  endedAt?: number;
  aborted: boolean;
  signal: AbortSignal;
}

/** A deterministic agent per step name: waits, then answers `<step>(<input>)` or fails. */
function fakeAgents(behaviours: Record<string, Behaviour>): { runStep: StepRunner; calls: Call[]; started: (step: string) => Promise<Call> } {
  const calls: Call[] = [];
  const waiting = new Map<string, (call: Call) => void>();
  const runStep: StepRunner = async ({ step, input, signal }: StepCall) => {
    const behaviour = behaviours[step] ?? {};
    const call: Call = { step, input, startedAt: performance.now(), aborted: false, signal };
    calls.push(call);
    waiting.get(step)?.(call);
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, behaviour.delayMs ?? 10);
        signal.addEventListener(
          'abort',
          () => {
            call.aborted = true;
            clearTimeout(timer);
            reject(signal.reason);
          },
          { once: true },
        );
      });
      if (behaviour.fail) throw behaviour.fail();
      const output = behaviour.output ? behaviour.output(input) : `${step}(${input})`;
      return { output, usage: { inputTokens: input.length, outputTokens: output.length, totalTokens: input.length + output.length } };
    } finally {
      call.endedAt = performance.now();
    }
  };
  const started = (step: string) => {
    const existing = calls.find((call) => call.step === step);
    return existing ? Promise.resolve(existing) : new Promise<Call>((resolve) => waiting.set(step, resolve));
  };
  return { runStep, calls, started };
}

const request = (pipeline: PipelineSpec, input = 'topic') => ({ pipeline, input, principal: 'key:test', correlationId: 'corr-exec' });

describe('pipeline execution (real PostgreSQL)', () => {
  let replicaA: DataSource;
  let replicaB: DataSource;

  beforeAll(async () => {
    const migrated = await createMigratedDatabase();
    replicaA = migrated.dataSource;
    replicaB = await openDataSource(migrated.url);
  });
  afterAll(async () => {
    await replicaA?.destroy();
    await replicaB?.destroy();
  });

  function runnerOn(dataSource: DataSource, runStep: StepRunner, options: PipelinesOptions = {}) {
    const repository = new PipelineRunsRepository(dataSource);
    const settings = { replicaId: 'replica-a', controlPollIntervalMs: 100, ...options };
    return new PipelineRunner(repository, new PipelineExecutor(repository, runStep, settings), settings);
  }

  it('runs two independent 200 ms steps concurrently, in well under 400 ms', async () => {
    const agents = fakeAgents({ left: { delayMs: 200 }, right: { delayMs: 200 } });
    const runner = runnerOn(replicaA, agents.runStep);
    const pipeline = { name: 'parallel', steps: [{ name: 'left', agent: 'a' }, { name: 'right', agent: 'b' }] };
    await runner.runSync(request(pipeline, 'warm-up'));

    const started = performance.now();
    const run = await runner.runSync(request(pipeline));
    const wall = performance.now() - started;

    const document = toRunDocumentDto(run);
    expect(document.status).toBe('completed');
    expect(wall).toBeLessThan(330);
    expect(document.total_duration_ms).toBeLessThan(330);
    const [left, right] = agents.calls.slice(-2);
    expect(Math.abs(left.startedAt - right.startedAt)).toBeLessThan(50);
    expect(document.steps.map((step) => step.duration_ms! >= 195)).toEqual([true, true]);
  });

  it('bounds concurrency within a run', async () => {
    const behaviours = Object.fromEntries(['s1', 's2', 's3', 's4', 's5', 's6'].map((name) => [name, { delayMs: 60 }]));
    const agents = fakeAgents(behaviours);
    const runner = runnerOn(replicaA, agents.runStep, { stepConcurrency: 2 });
    const pipeline = { name: 'bounded', steps: Object.keys(behaviours).map((name) => ({ name, agent: 'x' })) };
    await runner.runSync(request(pipeline));
    let most = 0;
    for (const call of agents.calls) {
      const overlapping = agents.calls.filter((other) => other.startedAt <= call.startedAt && other.endedAt! > call.startedAt);
      most = Math.max(most, overlapping.length);
    }
    expect(most).toBe(2);
  });

  it('feeds a fan-in step both outputs in depends_on order, under headings, and returns the final step output', async () => {
    const agents = fakeAgents({ research: { delayMs: 40 }, critique: { delayMs: 5 } });
    const runner = runnerOn(replicaA, agents.runStep);
    const pipeline: PipelineSpec = {
      name: 'fan-in',
      steps: [
        { name: 'research', agent: 'researcher' },
        { name: 'critique', agent: 'critic' },
        { name: 'merge', agent: 'writer', depends_on: ['critique', 'research'] },
        { name: 'polish', agent: 'writer', depends_on: 'merge', input: 'Polish: {{steps.merge.output}} for {{input}}' },
      ],
    };
    const run = await runner.runSync(request(pipeline, 'cats'));

    const merge = agents.calls.find((call) => call.step === 'merge')!;
    expect(merge.input).toBe('## critique\n\ncritique(cats)\n\n## research\n\nresearch(cats)');
    const polishInput = `Polish: merge(${merge.input}) for cats`;
    expect(agents.calls.find((call) => call.step === 'polish')!.input).toBe(polishInput);
    expect(run.output).toBe(`polish(${polishInput})`);
    expect(run.steps.find((step) => step.name === 'merge')!.input).toBe(merge.input);
    const document = toRunDocumentDto(run);
    expect(document.usage.total_tokens).toBe(document.steps.reduce((sum, step) => sum + step.usage.total_tokens, 0));
    expect(document.usage.total_tokens).toBeGreaterThan(0);
  });

  it('fails fast: a failed step fails the run, aborts running steps, skips the rest, output null', async () => {
    const agents = fakeAgents({
      slow: { delayMs: 5_000 },
      broken: { delayMs: 30, fail: () => new ProviderError('mock/flaky: server error at the provider (HTTP 500)', 'mock', { retryable: true }) },
    });
    const steps: StepFinishedEvent[] = [];
    const runs: RunFinishedEvent[] = [];
    const runner = runnerOn(replicaA, agents.runStep, {
      hooks: { onStepFinished: (event) => steps.push(event), onRunFinished: (event) => runs.push(event) },
    });
    const pipeline: PipelineSpec = {
      name: 'failing',
      steps: [
        { name: 'slow', agent: 'x' },
        { name: 'broken', agent: 'x' },
        { name: 'after', agent: 'x', depends_on: ['slow', 'broken'] },
        { name: 'last', agent: 'x', depends_on: 'after' },
      ],
    };
    const started = performance.now();
    const run = await runner.runSync(request(pipeline));
    expect(performance.now() - started).toBeLessThan(2_000);

    const document = toRunDocumentDto(run);
    expect(document).toMatchObject({
      status: 'failed',
      output: null,
      error: { code: 'pipeline_error', message: "Step 'broken' failed: mock/flaky: server error at the provider (HTTP 500)" },
    });
    expect(document.steps.map((step) => [step.name, step.status, step.error?.code ?? null])).toEqual([
      ['slow', 'skipped', null],
      ['broken', 'failed', 'internal_error'],
      ['after', 'skipped', null],
      ['last', 'skipped', null],
    ]);
    expect(document.steps[1].error!.message).toBe('mock/flaky: server error at the provider (HTTP 500)');
    expect(agents.calls.find((call) => call.step === 'slow')!.aborted).toBe(true);
    expect(agents.calls.map((call) => call.step).sort()).toEqual(['broken', 'slow']);
    expect(steps.map((event) => `${event.step}:${event.status}`).sort()).toEqual([
      'after:skipped',
      'broken:failed',
      'last:skipped',
      'slow:skipped',
    ]);
    expect(runs).toEqual([{ runId: run.runId, pipeline: 'failing', status: 'failed', durationMs: expect.any(Number) }]);
  });

  it('never echoes the text of an unexpected error', async () => {
    const agents = fakeAgents({ only: { fail: () => new Error('connect to 10.0.0.5 with password hunter2 failed') } });
    const run = await runnerOn(replicaA, agents.runStep).runSync(request({ name: 'leaky', steps: [{ name: 'only', agent: 'x' }] }));
    expect(run.steps[0].error).toEqual({ code: 'internal_error', message: 'The step failed with an unexpected error.' });
    expect(JSON.stringify(toRunDocumentDto(run))).not.toContain('hunter2');
  });

  it('skips a step whose when is false, and steps that depend only on skipped steps', async () => {
    const agents = fakeAgents({ classify: { output: () => 'billing' } });
    const runner = runnerOn(replicaA, agents.runStep);
    const pipeline: PipelineSpec = {
      name: 'routing',
      steps: [
        { name: 'classify', agent: 'x' },
        { name: 'tech', agent: 'x', depends_on: 'classify', when: "steps.classify.output == 'technical'" },
        { name: 'tech-followup', agent: 'x', depends_on: 'tech' },
        { name: 'billing', agent: 'x', depends_on: 'classify', when: "steps.classify.output contains 'bill'" },
        { name: 'apology', agent: 'x', depends_on: 'tech', when: "steps.tech.status == 'skipped'" },
        { name: 'answer', agent: 'x', depends_on: ['tech', 'billing'] },
      ],
    };
    const run = await runner.runSync(request(pipeline, 'my invoice'));
    expect(run.status).toBe('completed');
    expect(run.steps.map((step) => [step.name, step.status])).toEqual([
      ['classify', 'completed'],
      ['tech', 'skipped'],
      ['tech-followup', 'skipped'],
      ['billing', 'completed'],
      ['apology', 'completed'],
      ['answer', 'completed'],
    ]);
    expect(agents.calls.map((call) => call.step)).not.toContain('tech');
    expect(agents.calls.find((call) => call.step === 'answer')!.input).toBe('## billing\n\nbilling(billing)');
    expect(agents.calls.find((call) => call.step === 'apology')!.input).toBe('my invoice');
    expect(run.output).toBe('answer(## billing\n\nbilling(billing))');
  });

  it('shows running steps to a second replica while the run executes', async () => {
    const agents = fakeAgents({ first: { delayMs: 20 }, second: { delayMs: 600 }, third: { delayMs: 20 } });
    const runner = runnerOn(replicaA, agents.runStep);
    const pipeline: PipelineSpec = {
      name: 'observed',
      steps: [
        { name: 'first', agent: 'x' },
        { name: 'second', agent: 'x', depends_on: 'first' },
        { name: 'third', agent: 'x', depends_on: 'second' },
      ],
    };
    const pending = runner.runSync(request(pipeline));
    await agents.started('second');

    const other = new PipelineRunsRepository(replicaB);
    const latest = await other.latestRun('observed', null);
    const status = toRunStatusDto(latest!);
    expect(status.status).toBe('running');
    expect(status.steps).toEqual([
      {
        name: 'first',
        status: 'completed',
        duration_ms: expect.any(Number),
        agent: 'x',
        started_at: expect.any(String),
        input: 'topic',
        output: 'first(topic)',
      },
      { name: 'second', status: 'running', duration_ms: null, agent: 'x', started_at: expect.any(String), input: 'first(topic)', output: null },
      { name: 'third', status: 'pending', duration_ms: null, agent: 'x', started_at: null, input: null, output: null },
    ]);
    expect(status.finished_at).toBeUndefined();

    const run = await pending;
    const after = toRunStatusDto((await other.findRun(run.runId))!);
    expect(after).toMatchObject({ status: 'completed', output: run.output, finished_at: expect.any(String) });
    expect(after.steps.map((step) => step.status)).toEqual(['completed', 'completed', 'completed']);
  });

  it('stops a run executing on replica A within about a second of a cancel written through replica B', async () => {
    const agents = fakeAgents({ long: { delayMs: 30_000 }, side: { delayMs: 30_000 } });
    const runner = runnerOn(replicaA, agents.runStep, { controlPollIntervalMs: 250 });
    const pipeline: PipelineSpec = {
      name: 'cancellable',
      steps: [
        { name: 'long', agent: 'x' },
        { name: 'side', agent: 'x' },
        { name: 'never', agent: 'x', depends_on: ['long', 'side'] },
      ],
    };
    const pending = runner.runSync(request(pipeline));
    const long = await agents.started('long');
    await agents.started('side');
    const runId = (await new PipelineRunsRepository(replicaB).latestRun('cancellable', null))!.runId;

    const runnerB = runnerOn(replicaB, fakeAgents({}).runStep, { replicaId: 'replica-b' });
    const cancelledAt = performance.now();
    const answered = await runnerB.cancel(runId, { scope: { pipeline: 'cancellable', principal: null }, waitMs: 3_000 });
    const run = await pending;

    expect(long.signal.aborted).toBe(true);
    expect(long.endedAt! - cancelledAt).toBeLessThan(1_000);
    expect(run.status).toBe('cancelled');
    expect(run.output).toBeNull();
    expect(run.steps.map((step) => step.status)).toEqual(['skipped', 'skipped', 'skipped']);
    expect(answered?.status).toBe('cancelled');
    expect(agents.calls.map((call) => call.step)).not.toContain('never');
    expect(await runnerB.cancel('run_unknown0000000000000000')).toBeNull();
  });

  it('refuses an invalid definition before storing anything', async () => {
    const runner = runnerOn(replicaA, fakeAgents({}).runStep);
    await expect(
      runner.runSync(request({ name: 'invalid', steps: [{ name: 'a', agent: 'x', depends_on: 'b' }] })),
    ).rejects.toThrow("step 'a' depends on unknown step 'b'");
    expect(await new PipelineRunsRepository(replicaB).latestRun('invalid', null)).toBeNull();
  });
});
