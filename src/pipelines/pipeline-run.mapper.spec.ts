import { describe, expect, it } from 'vitest';
import type { PipelineRunStepRecord, PipelineRunWithSteps } from './pipeline-run.js';
import { toAcceptedRunDto, toListRunsResponseDto, toRunDocumentDto, toRunStatusDto } from './pipeline-run.mapper.js';

const at = (ms: number) => new Date(Date.UTC(2025, 0, 1, 12, 0, 0) + ms);
const usage = (input: number, output: number) => ({ inputTokens: input, outputTokens: output, totalTokens: input + output });
/** A stored usage as the API shows it: in the key order PostgreSQL's jsonb reads it back in. */
const storedUsageDto = (input: number, output: number) => ({ input_tokens: input, total_tokens: input + output, output_tokens: output });
/** The usage of a step that never ran. */
const noUsageDto = { input_tokens: 0, output_tokens: 0, total_tokens: 0 };

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

describe('pipeline run mapper', () => {
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

  it('builds the synchronous run document of a failed run (the 500 body), fields in API order', () => {
    const expected = {
      pipeline: 'review',
      run_id: 'run_01JBZX0000000000000000000',
      status: 'failed',
      steps: [
        { name: 'draft', agent: 'draft', status: 'completed', output: 'D', usage: storedUsageDto(10, 5), duration_ms: 390 },
        {
          name: 'check',
          agent: 'check',
          status: 'failed',
          output: null,
          usage: noUsageDto,
          duration_ms: 500,
          error: { code: 'provider_error', message: 'mock/x: server error at the provider (HTTP 500)' },
        },
        { name: 'publish', agent: 'publish', status: 'skipped', output: null, usage: noUsageDto, duration_ms: null },
      ],
      output: null,
      total_duration_ms: 900,
      usage: storedUsageDto(10, 5),
      error: { code: 'pipeline_error', message: "Step 'check' failed: mock/x: server error at the provider (HTTP 500)" },
    };
    const document = toRunDocumentDto(failed);
    expect(document).toEqual(expected);
    expect(JSON.stringify(document)).toBe(JSON.stringify(expected));
  });

  it('reports a queued run as running, timed from when it was accepted', () => {
    const queued = run({ status: 'queued', startedAt: null, owner: null, heartbeatAt: null, attempt: 0, steps: [step({ name: 'a' })] });
    expect(toRunStatusDto(queued, at(250))).toEqual({
      pipeline: 'review',
      run_id: queued.runId,
      status: 'running',
      steps: [{ name: 'a', status: 'pending', duration_ms: null, agent: 'a', started_at: null, input: null, output: null }],
      started_at: '2025-01-01T12:00:00.000Z',
      elapsed_ms: 250,
      input: 'in',
    });
    expect(toAcceptedRunDto(queued)).toEqual({
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
      steps: [step({ name: 'a', status: 'completed', input: 'sent', output: 'final', startedAt: at(100), finishedAt: at(1_400) })],
    });
    const expected = {
      pipeline: 'review',
      run_id: completed.runId,
      status: 'completed',
      steps: [
        { name: 'a', status: 'completed', duration_ms: 1_300, agent: 'a', started_at: '2025-01-01T12:00:00.100Z', input: 'sent', output: 'final' },
      ],
      started_at: '2025-01-01T12:00:00.000Z',
      elapsed_ms: 1_500,
      input: 'in',
      finished_at: '2025-01-01T12:00:01.500Z',
      output: 'final',
      usage: storedUsageDto(3, 4),
    };
    const status = toRunStatusDto(completed, at(99_999));
    expect(status).toEqual(expected);
    expect(JSON.stringify(status)).toBe(JSON.stringify(expected));
    expect(toRunStatusDto(failed).error?.code).toBe('pipeline_error');
  });

  it('lists runs with the client statuses', () => {
    const document = toListRunsResponseDto(
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
    expect(Object.keys(document.runs[0])).toEqual([
      'run_id',
      'pipeline',
      'status',
      'mode',
      'started_at',
      'finished_at',
      'elapsed_ms',
      'usage',
      'error',
    ]);
    expect(JSON.stringify(document.runs[0].usage)).toBe(JSON.stringify(storedUsageDto(10, 5)));
  });
});
