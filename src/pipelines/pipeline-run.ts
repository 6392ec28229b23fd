import type { Usage } from '../providers/model-provider.js';
import type { PipelineSpec, StepStatus } from './pipeline-graph.js';

/** Stored statuses. `queued` is shown to clients as `running` (docs/api.md §7.3). */
export type RunStatus = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';
/** As a list, so that openapi.json names them in this order whatever order TypeScript keeps a union in. */
export const CLIENT_RUN_STATUSES = ['running', 'completed', 'failed', 'cancelled'] as const;
export type ClientRunStatus = (typeof CLIENT_RUN_STATUSES)[number];
export type FinalRunStatus = 'completed' | 'failed' | 'cancelled';
export type RunMode = 'sync' | 'async';

export interface RunError {
  code: string;
  message: string;
}

/** What a run ends with, stored when it finishes. */
export interface RunResult {
  status: FinalRunStatus;
  output: string | null;
  usage: Usage;
  error: RunError | null;
}

/** A row of `pipeline_runs`. */
export interface PipelineRunRecord {
  runId: string;
  pipeline: string;
  input: string;
  status: RunStatus;
  output: string | null;
  usage: Usage;
  error: RunError | null;
  principal: string;
  correlationId: string;
  mode: RunMode;
  /** The definition the run executes, fixed when it was created. */
  definition: PipelineSpec;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  /** Replica executing the run (or that executed it last). */
  owner: string | null;
  heartbeatAt: Date | null;
  cancelRequestedAt: Date | null;
  /** How many times the run was claimed; with `owner`, fences writes of a replica that lost it. */
  attempt: number;
}

/** A row of `pipeline_run_steps`. */
export interface PipelineRunStepRecord {
  name: string;
  position: number;
  agent: string;
  status: StepStatus;
  input: string | null;
  output: string | null;
  usage: Usage | null;
  error: RunError | null;
  startedAt: Date | null;
  finishedAt: Date | null;
  /** How many times the step was started (more than 1 only after a takeover). */
  executions: number;
}

export interface PipelineRunWithSteps extends PipelineRunRecord {
  /** In definition order. */
  steps: PipelineRunStepRecord[];
}

/** The fields listed by the runs list (no input, output or definition). */
export interface PipelineRunSummary {
  runId: string;
  pipeline: string;
  status: RunStatus;
  mode: RunMode;
  usage: Usage;
  error: RunError | null;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

/**
 * The right to write a claimed run: every executor write checks that the run still has this
 * owner and attempt, so a replica that lost the run (stale heartbeat, taken over) changes
 * nothing any more.
 */
export interface RunLease {
  runId: string;
  owner: string;
  attempt: number;
}

export function leaseOf(run: PipelineRunRecord): RunLease {
  if (run.owner === null) throw new Error(`Run ${run.runId} has no owner; claim it first`);
  return { runId: run.runId, owner: run.owner, attempt: run.attempt };
}

export function isFinished(status: RunStatus): status is FinalRunStatus {
  return status === 'completed' || status === 'failed' || status === 'cancelled';
}
