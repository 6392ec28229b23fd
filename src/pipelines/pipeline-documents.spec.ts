import { describe, expect, it } from 'vitest';
import { toAcceptedDocument, toRunDocument, toRunListDocument, toStatusDocument } from './pipeline-documents.js';
import type { PipelineRunStepRecord, PipelineRunWithSteps } from './pipeline-run.js';
import { resolvePipelinesOptions } from './pipelines.options.js';

const at = (ms: number) => new Date(Date.UTC(2025, 0, 1, 12, 0, 0) + ms);
const usage = (input: number, output: number) => ({ input_tokens: input, output_tokens: output, total_tokens: input + output });

function step(overrides: Partial<PipelineRunStepRecord> & { name: string }): PipelineRunStepRecord {
  return {
    position: 0,
    agent: overrides.name,
    status: 'pending',
    input: null,
    output: null,
    usage: null,
    error: null,
    startedAt: null,
    finishedAt: null,
    executions: 0,
    ...overrides,
  };
}

function run(overrides: Partial<PipelineRunWithSteps>): PipelineRunWithSteps {
  return {
    runId: 'run_01JBZX0000000000000000000',
    pipeline: 'review',
    input: 'in',
    status: 'running',
    output: null,
    usage: usage(0, 0),
    error: null,
    principal: 'anonymous',
    correlationId: 'c',
    mode: 'sync',
    definition: { name: 'review', steps: [] },
    createdAt: at(0),
    startedAt: at(5),
    finishedAt: null,
    owner: 'replica-a',
    heartbeatAt: at(10),
    cancelRequestedAt: null,
    attempt: 1,
    steps: [],
    ...overrides,
  };
}

describe('run documents', () => {
  const failed = run({
    status: 'failed',
    usage: usage(10, 5),
    finishedAt: at(900),
    error: { code: 'pipeline_error', message: "Step 'check' failed: mock/x: server error at the provider (HTTP 500)" },
    steps: [
      step({ name: 'draft', status: 'completed', output: 'D', usage: usage(10, 5), startedAt: at(10), finishedAt: at(400) }),
      step({
        name: 'check',
        position: 1,
        status: 'failed',
        startedAt: at(400),
        finishedAt: at(900),
        error: { code: 'provider_error', message: 'mock/x: server error at the provider (HTTP 500)' },
      }),
      step({ name: 'publish', position: 2, status: 'skipped' }),
    ],
  });

  it('builds the synchronous run document of a failed run (the 500 body)', () => {
    expect(toRunDocument(failed)).toEqual({
      pipeline: 'review',
      run_id: 'run_01JBZX0000000000000000000',
      status: 'failed',
      steps: [
        { name: 'draft', agent: 'draft', status: 'completed', output: 'D', usage: usage(10, 5), duration_ms: 390 },
        {
          name: 'check',
          agent: 'check',
          status: 'failed',
          output: null,
          usage: usage(0, 0),
          duration_ms: 500,
          error: { code: 'provider_error', message: 'mock/x: server error at the provider (HTTP 500)' },
        },
        { name: 'publish', agent: 'publish', status: 'skipped', output: null, usage: usage(0, 0), duration_ms: null },
      ],
      output: null,
      total_duration_ms: 900,
      usage: usage(10, 5),
      error: { code: 'pipeline_error', message: "Step 'check' failed: mock/x: server error at the provider (HTTP 500)" },
    });
  });

  it('reports a queued run as running, timed from when it was accepted', () => {
    const queued = run({ status: 'queued', startedAt: null, owner: null, heartbeatAt: null, attempt: 0, steps: [step({ name: 'a' })] });
    expect(toStatusDocument(queued, at(250))).toEqual({
      pipeline: 'review',
      run_id: queued.runId,
      status: 'running',
      steps: [{ name: 'a', status: 'pending', duration_ms: null }],
      started_at: '2025-01-01T12:00:00.000Z',
      elapsed_ms: 250,
    });
    expect(toAcceptedDocument(queued)).toEqual({
      pipeline: 'review',
      run_id: queued.runId,
      status: 'running',
      started_at: '2025-01-01T12:00:00.000Z',
    });
  });

  it('adds finished_at, output and usage to the status of a finished run', () => {
    const completed = run({
      status: 'completed',
      output: 'final',
      usage: usage(3, 4),
      finishedAt: at(1_500),
      steps: [step({ name: 'a', status: 'completed', output: 'final', startedAt: at(100), finishedAt: at(1_400) })],
    });
    expect(toStatusDocument(completed, at(99_999))).toEqual({
      pipeline: 'review',
      run_id: completed.runId,
      status: 'completed',
      steps: [{ name: 'a', status: 'completed', duration_ms: 1_300 }],
      started_at: '2025-01-01T12:00:00.000Z',
      elapsed_ms: 1_500,
      finished_at: '2025-01-01T12:00:01.500Z',
      output: 'final',
      usage: usage(3, 4),
    });
    expect(toStatusDocument(failed).error?.code).toBe('pipeline_error');
  });

  it('lists runs with the client statuses', () => {
    const document = toRunListDocument(
      {
        runs: [
          { ...failed, runId: 'run_B' },
          { ...run({ status: 'queued' }), runId: 'run_A' },
        ],
        total: 7,
      },
      at(2_000),
    );
    expect(document.total).toBe(7);
    expect(document.runs.map((item) => [item.run_id, item.status, item.finished_at, item.elapsed_ms])).toEqual([
      ['run_B', 'failed', '2025-01-01T12:00:00.900Z', 900],
      ['run_A', 'running', null, 2_000],
    ]);
  });
});

describe('pipelines options', () => {
  it('keeps the takeover bounded: the heartbeat must beat at least twice per stale period', () => {
    expect(resolvePipelinesOptions({}).staleAfterMs).toBeLessThan(30_000);
    expect(() => resolvePipelinesOptions({ staleAfterMs: 1_000, heartbeatIntervalMs: 600 })).toThrow(/at most half/);
    expect(resolvePipelinesOptions({ staleAfterMs: 900 }).heartbeatIntervalMs).toBe(300);
    expect(() => resolvePipelinesOptions({ workerConcurrency: 0 })).toThrow(/workerConcurrency/);
  });
});
