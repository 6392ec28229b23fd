import type { StepStatus } from './pipeline-graph.js';
import {
  isFinished,
  ZERO_USAGE,
  type PipelineRunRecord,
  type PipelineRunStepRecord,
  type PipelineRunSummary,
  type PipelineRunWithSteps,
  type RunError,
  type RunStatus,
  type TokenUsage,
} from './pipeline-run.js';

/**
 * The run documents of api.md §5, built from stored runs. A queued run is reported as
 * `running`: to a client it has started. `started_at` is when the run was accepted, so it
 * does not move when a worker picks the run up, and durations count from there.
 */
export type ClientRunStatus = 'running' | 'completed' | 'failed' | 'cancelled';

export interface RunStepDocument {
  name: string;
  agent: string;
  status: StepStatus;
  output: string | null;
  usage: TokenUsage;
  duration_ms: number | null;
  error?: RunError;
}

/** The 200 (and 500 `pipeline_error`) answer of a synchronous run. */
export interface RunDocument {
  pipeline: string;
  run_id: string;
  status: ClientRunStatus;
  steps: RunStepDocument[];
  output: string | null;
  total_duration_ms: number;
  usage: TokenUsage;
  error?: RunError;
}

export interface StatusStepDocument {
  name: string;
  status: StepStatus;
  duration_ms: number | null;
}

export interface StatusDocument {
  pipeline: string;
  run_id: string;
  status: ClientRunStatus;
  steps: StatusStepDocument[];
  started_at: string;
  elapsed_ms: number;
  finished_at?: string;
  output?: string | null;
  usage?: TokenUsage;
  error?: RunError;
}

/** The 202 answer of an asynchronous run. */
export interface AcceptedDocument {
  pipeline: string;
  run_id: string;
  status: 'running';
  started_at: string;
}

export interface RunListItemDocument {
  run_id: string;
  pipeline: string;
  status: ClientRunStatus;
  mode: 'sync' | 'async';
  started_at: string;
  finished_at: string | null;
  elapsed_ms: number;
  usage: TokenUsage;
  error?: RunError;
}

export interface RunListDocument {
  runs: RunListItemDocument[];
  total: number;
}

export function clientStatus(status: RunStatus): ClientRunStatus {
  return status === 'queued' ? 'running' : status;
}

/** 200 when completed, 500 when failed: the HTTP layer picks the status from `run.status`. */
export function toRunDocument(run: PipelineRunWithSteps, now: Date = new Date()): RunDocument {
  return {
    pipeline: run.pipeline,
    run_id: run.runId,
    status: clientStatus(run.status),
    steps: run.steps.map((step) => ({
      name: step.name,
      agent: step.agent,
      status: step.status,
      output: step.status === 'completed' ? step.output : null,
      usage: step.usage ?? { ...ZERO_USAGE },
      duration_ms: stepDuration(step),
      ...(step.error ? { error: step.error } : {}),
    })),
    output: run.status === 'completed' ? run.output : null,
    total_duration_ms: elapsed(run, now),
    usage: run.usage,
    ...(run.error ? { error: run.error } : {}),
  };
}

export function toStatusDocument(run: PipelineRunWithSteps, now: Date = new Date()): StatusDocument {
  const document: StatusDocument = {
    pipeline: run.pipeline,
    run_id: run.runId,
    status: clientStatus(run.status),
    steps: run.steps.map((step) => ({ name: step.name, status: step.status, duration_ms: stepDuration(step) })),
    started_at: run.createdAt.toISOString(),
    elapsed_ms: elapsed(run, now),
  };
  if (isFinished(run.status) && run.finishedAt) {
    document.finished_at = run.finishedAt.toISOString();
    document.output = run.status === 'completed' ? run.output : null;
    document.usage = run.usage;
    if (run.error) document.error = run.error;
  }
  return document;
}

export function toAcceptedDocument(run: PipelineRunRecord): AcceptedDocument {
  return { pipeline: run.pipeline, run_id: run.runId, status: 'running', started_at: run.createdAt.toISOString() };
}

export function toRunListDocument(page: { runs: PipelineRunSummary[]; total: number }, now: Date = new Date()): RunListDocument {
  return {
    runs: page.runs.map((run) => ({
      run_id: run.runId,
      pipeline: run.pipeline,
      status: clientStatus(run.status),
      mode: run.mode,
      started_at: run.createdAt.toISOString(),
      finished_at: run.finishedAt?.toISOString() ?? null,
      elapsed_ms: elapsed(run, now),
      usage: run.usage,
      ...(run.error ? { error: run.error } : {}),
    })),
    total: page.total,
  };
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
