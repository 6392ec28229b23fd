import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Usage } from '../providers/model-provider.js';
import type { FinalRunStatus } from './pipeline-run.js';

/** Nest token of the `PipelinesOptions` object shared by executor, worker and runner. */
export const PIPELINES_OPTIONS = Symbol('PIPELINES_OPTIONS');
/** Nest token of the `StepRunner` that runs one agent call (provided by the agent engine). */
export const PIPELINE_STEP_RUNNER = Symbol('PIPELINE_STEP_RUNNER');

export interface StepCall {
  runId: string;
  pipeline: string;
  step: string;
  agent: string;
  input: string;
  /** Who started the run: named by the governance audit of the step's call. */
  principal: string;
  /** The correlation id of the request that started the run: its audit rows and log lines carry it. */
  correlationId: string;
  /** Aborted when the run is cancelled, another step fails, or the replica gives the run up. */
  signal: AbortSignal;
}

export interface StepResult {
  output: string;
  usage: Usage;
}

/** Runs one step's agent call. Throwing fails the step (see `toStepError` in src/common/errors/error-table.ts). */
export type StepRunner = (call: StepCall) => Promise<StepResult>;

export interface StepFinishedEvent {
  runId: string;
  pipeline: string;
  step: string;
  status: 'completed' | 'failed' | 'skipped';
  /** Time spent in the step runner on this replica; null for steps that never ran. */
  durationMs: number | null;
}

export interface RunFinishedEvent {
  runId: string;
  pipeline: string;
  status: FinalRunStatus;
  /** From acceptance to the end, queue time included. */
  durationMs: number;
}

/** Metrics hooks; they must not throw (errors are caught and logged). */
export interface PipelineHooks {
  onStepFinished?(event: StepFinishedEvent): void;
  onRunFinished?(event: RunFinishedEvent): void;
}

/** A pino logger fits. */
export interface PipelineLogger {
  info(object: object, message: string): void;
  warn(object: object, message: string): void;
  error(object: object, message: string): void;
}

export interface PipelinesOptions {
  /** Identifies this replica as the owner of runs; unique per process. Default: host:pid:random. */
  replicaId?: string;
  /** How often the worker looks for queued or stale runs. Default 1000 ms. */
  pollIntervalMs?: number;
  /** A running run whose heartbeat is older than this is taken over. Default 10 000 ms. */
  staleAfterMs?: number;
  /** How often an executing replica renews its lease. Default 2000 ms (at most staleAfterMs / 2). */
  heartbeatIntervalMs?: number;
  /** How often an executing replica checks the cancel flag and its ownership. Default 250 ms. */
  controlPollIntervalMs?: number;
  /** Runs one worker executes at once. Default 8. */
  workerConcurrency?: number;
  /** Steps of one run executing at once. Default 4. */
  stepConcurrency?: number;
  /** A run claimed more often than this (its replicas keep dying) is failed instead. Default 5. */
  maxAttempts?: number;
  /** On shutdown, how long running runs may finish before they are released. Default 10 000 ms. */
  shutdownGraceMs?: number;
  /** Whether this replica's worker claims runs at all. Default true. */
  workerEnabled?: boolean;
  hooks?: PipelineHooks;
  logger?: PipelineLogger;
}

/** One per process, so the worker and the runner of a replica agree on its id. */
const DEFAULT_REPLICA_ID = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;

export type ResolvedPipelinesOptions = Required<Omit<PipelinesOptions, 'hooks' | 'logger'>> & Pick<PipelinesOptions, 'hooks' | 'logger'>;

export function resolvePipelinesOptions(options: PipelinesOptions = {}): ResolvedPipelinesOptions {
  const resolved: ResolvedPipelinesOptions = {
    ...options,
    replicaId: options.replicaId ?? DEFAULT_REPLICA_ID,
    pollIntervalMs: options.pollIntervalMs ?? 1_000,
    staleAfterMs: options.staleAfterMs ?? 10_000,
    heartbeatIntervalMs: options.heartbeatIntervalMs ?? Math.min(2_000, Math.floor((options.staleAfterMs ?? 10_000) / 3)),
    controlPollIntervalMs: options.controlPollIntervalMs ?? 250,
    workerConcurrency: options.workerConcurrency ?? 8,
    stepConcurrency: options.stepConcurrency ?? 4,
    maxAttempts: options.maxAttempts ?? 5,
    shutdownGraceMs: options.shutdownGraceMs ?? 10_000,
    workerEnabled: options.workerEnabled ?? true,
  };
  for (const key of [
    'pollIntervalMs',
    'staleAfterMs',
    'heartbeatIntervalMs',
    'controlPollIntervalMs',
    'workerConcurrency',
    'stepConcurrency',
    'maxAttempts',
  ] as const) {
    const value = resolved[key];
    if (!Number.isInteger(value) || value < 1) throw new Error(`pipelines option ${key} must be a positive integer, got ${value}`);
  }
  if (!Number.isInteger(resolved.shutdownGraceMs) || resolved.shutdownGraceMs < 0) {
    throw new Error(`pipelines option shutdownGraceMs must be an integer ≥ 0, got ${resolved.shutdownGraceMs}`);
  }
  if (resolved.heartbeatIntervalMs * 2 > resolved.staleAfterMs) {
    throw new Error('pipelines option heartbeatIntervalMs must be at most half of staleAfterMs');
  }
  if (resolved.replicaId === '') throw new Error('pipelines option replicaId must not be empty');
  return resolved;
}
