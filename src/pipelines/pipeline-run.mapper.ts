import { toUsageDto, type UsageDto } from '../common/dto/agent-run.dto.js';
import { ZERO_USAGE, type Usage } from '../providers/model-provider.js';
import { AcceptedRunDto, ListRunsResponseDto, RunDocumentDto, RunStatusDto } from './dto/pipeline.dto.js';
import {
  isFinished,
  type ClientRunStatus,
  type PipelineRunRecord,
  type PipelineRunStepRecord,
  type PipelineRunSummary,
  type PipelineRunWithSteps,
  type RunStatus,
} from './pipeline-run.js';

/*
 * Stored runs as the API shows them (docs/api.md §7.2–7.6). A queued run is reported as `running`: to a client it
 * has started. `started_at` is when the run was accepted, so it does not move when a worker
 * picks the run up, and durations count from there.
 */

/** The answer of a synchronous run; the controller answers 500 when its `status` is `failed`. */
export function toRunDocumentDto(run: PipelineRunWithSteps, now: Date = new Date()): RunDocumentDto {
  return {
    pipeline: run.pipeline,
    run_id: run.runId,
    status: clientStatus(run.status),
    steps: run.steps.map((step) => ({
      name: step.name,
      agent: step.agent,
      status: step.status,
      output: step.status === 'completed' ? step.output : null,
      usage: step.usage ? toStoredUsageDto(step.usage) : toUsageDto(ZERO_USAGE),
      duration_ms: stepDuration(step),
      ...(step.error ? { error: step.error } : {}),
    })),
    output: run.status === 'completed' ? run.output : null,
    total_duration_ms: elapsed(run, now),
    usage: toStoredUsageDto(run.usage),
    ...(run.error ? { error: run.error } : {}),
  };
}

export function toRunStatusDto(run: PipelineRunWithSteps, now: Date = new Date()): RunStatusDto {
  const status: RunStatusDto = {
    pipeline: run.pipeline,
    run_id: run.runId,
    status: clientStatus(run.status),
    steps: run.steps.map((step) => ({
      name: step.name,
      status: step.status,
      duration_ms: stepDuration(step),
      agent: step.agent,
      started_at: step.startedAt?.toISOString() ?? null,
      input: step.status === 'pending' || step.status === 'skipped' ? null : step.input,
      output: step.status === 'completed' ? step.output : null,
      ...(step.error ? { error: step.error } : {}),
    })),
    started_at: run.createdAt.toISOString(),
    elapsed_ms: elapsed(run, now),
    input: run.input,
  };
  if (isFinished(run.status) && run.finishedAt) {
    status.finished_at = run.finishedAt.toISOString();
    status.output = run.status === 'completed' ? run.output : null;
    status.usage = toStoredUsageDto(run.usage);
    if (run.error) status.error = run.error;
  }
  return status;
}

/** The 202 answer of an asynchronous run. */
export function toAcceptedRunDto(run: PipelineRunRecord): AcceptedRunDto {
  return { pipeline: run.pipeline, run_id: run.runId, status: 'running', started_at: run.createdAt.toISOString() };
}

export function toListRunsResponseDto(
  page: { runs: PipelineRunSummary[]; total: number },
  now: Date = new Date(),
): ListRunsResponseDto {
  return {
    runs: page.runs.map((run) => ({
      run_id: run.runId,
      pipeline: run.pipeline,
      status: clientStatus(run.status),
      mode: run.mode,
      started_at: run.createdAt.toISOString(),
      finished_at: run.finishedAt?.toISOString() ?? null,
      elapsed_ms: elapsed(run, now),
      usage: toStoredUsageDto(run.usage),
      ...(run.error ? { error: run.error } : {}),
    })),
    total: page.total,
  };
}

/**
 * A stored usage in the key order the API has always shown it in: the order PostgreSQL's jsonb
 * reads it back in (input, total, output). Only steps that never ran get `toUsageDto`'s order.
 */
function toStoredUsageDto(usage: Usage): UsageDto {
  return { input_tokens: usage.inputTokens, total_tokens: usage.totalTokens, output_tokens: usage.outputTokens };
}

function clientStatus(status: RunStatus): ClientRunStatus {
  return status === 'queued' ? 'running' : status;
}

/** Known once a step has both started and finished; null for pending, running or never-started steps. */
function stepDuration(step: PipelineRunStepRecord): number | null {
  if (!step.startedAt || !step.finishedAt) return null;
  return Math.max(0, step.finishedAt.getTime() - step.startedAt.getTime());
}

function elapsed(run: { createdAt: Date; finishedAt: Date | null }, now: Date): number {
  const end = run.finishedAt ?? now;
  return Math.max(0, end.getTime() - run.createdAt.getTime());
}
