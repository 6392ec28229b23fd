import { Inject, Injectable, type OnModuleDestroy, Optional } from '@nestjs/common';
import { ClientClosedError } from '../common/errors/domain-errors.js';
import { isDatabaseUnavailable } from '../common/errors/database-errors.js';
import { PipelineExecutor } from './pipeline-executor.js';
import { PipelineGraph, type PipelineSpec } from './pipeline-graph.js';
import { isFinished, leaseOf, type PipelineRunWithSteps, type RunMode } from './pipeline-run.js';
import { PipelineRunsRepository, type RunScope } from './pipeline-runs.repository.js';
import { PipelineWorker } from './pipeline-worker.js';
import {
  PIPELINES_OPTIONS,
  resolvePipelinesOptions,
  type PipelinesOptions,
  type ResolvedPipelinesOptions,
} from './pipelines.options.js';

export interface StartRunRequest {
  pipeline: PipelineSpec;
  input: string;
  /** `Principal.id` of the caller. */
  principal: string;
  correlationId: string;
}

/**
 * Starts runs. Synchronous runs execute here, owned by this replica and heartbeating like
 * claimed ones, so if this replica dies a worker elsewhere takes the run over and finishes
 * it. Asynchronous runs are queued for any replica's worker.
 */
@Injectable()
export class PipelineRunner implements OnModuleDestroy {
  private readonly settings: ResolvedPipelinesOptions;
  private readonly syncRuns = new Map<string, { halt: AbortController; done: Promise<unknown> }>();
  /** Callers waiting for a run another replica took over; aborted on shutdown. */
  private readonly waiters = new Set<AbortController>();

  constructor(
    private readonly repository: PipelineRunsRepository,
    private readonly executor: PipelineExecutor,
    @Optional() @Inject(PIPELINES_OPTIONS) options: PipelinesOptions = {},
    @Optional() private readonly worker?: PipelineWorker,
  ) {
    this.settings = resolvePipelinesOptions(options);
  }

  /**
   * Runs a pipeline to its end and returns the stored run. Throws `PipelineDefinitionError`
   * for an invalid definition (nothing stored). When another replica took the run over (this
   * one stalled past the stale threshold, or lost the database for that long), it waits for
   * that replica to finish it, however long that takes, as long as some replica shows signs of
   * working on it (see `awaitOtherReplica`): the caller asked for the final run. `signal` (the
   * client went away) ends the wait with `ClientClosedError`; the run goes on. On shutdown
   * (`handOver`) the run is handed back to the queue and its current state returned.
   */
  async runSync(request: StartRunRequest, options: { signal?: AbortSignal } = {}): Promise<PipelineRunWithSteps> {
    const run = await this.create(request, 'sync', this.settings.replicaId);
    const halt = new AbortController();
    const execution = this.executor.execute(run, { signal: halt.signal });
    this.syncRuns.set(run.runId, { halt, done: execution.catch(() => undefined) });
    try {
      const outcome = await execution;
      if (outcome.status === 'abandoned' && outcome.reason === 'halted') {
        // Shutting down: another replica resumes the run; this caller gets its state as it is.
        await this.repository.releaseRun(leaseOf(run));
        return this.waitUntilFinished(run.runId, 0);
      }
    } finally {
      this.syncRuns.delete(run.runId);
    }
    return this.awaitOtherReplica(run.runId, options.signal);
  }

  /** Queues a run and returns it at once (`queued`; reported to clients as running). */
  async runAsync(request: StartRunRequest): Promise<PipelineRunWithSteps> {
    const run = await this.create(request, 'async');
    this.worker?.wake();
    return run;
  }

  /** Checks the definition (throws `PipelineDefinitionError`, nothing stored) and stores the run. */
  private create(request: StartRunRequest, mode: RunMode, owner?: string): Promise<PipelineRunWithSteps> {
    return this.repository.createRun({
      definition: PipelineGraph.from(request.pipeline).toSpec(),
      input: request.input,
      principal: request.principal,
      correlationId: request.correlationId,
      mode,
      ...(owner !== undefined ? { owner } : {}),
    });
  }

  /**
   * Asks a run to stop and waits (up to `waitMs`) until it has, whichever replica executes
   * it. Null for an unknown run (or, with a scope, one of another pipeline or principal).
   */
  async cancel(runId: string, options: { scope?: RunScope; waitMs?: number } = {}): Promise<PipelineRunWithSteps | null> {
    const existing = await this.repository.findRun(runId, options.scope);
    if (!existing) return null;
    const requested = await this.repository.requestCancel(runId, {
      staleAfterMs: this.settings.staleAfterMs,
      principal: options.scope?.principal ?? null,
    });
    if (!requested) return null;
    if (isFinished(requested.status)) return this.repository.findRun(runId);
    return this.waitUntilFinished(runId, options.waitMs ?? 3_000);
  }

  /**
   * On shutdown, synchronous runs get the grace period to finish; those still executing then
   * are handed back to the queue for another replica.
   */
  async onModuleDestroy(): Promise<void> {
    const ended = () => Promise.allSettled([...this.syncRuns.values()].map((run) => run.done));
    let graceTimer: NodeJS.Timeout | undefined;
    await Promise.race([ended(), new Promise<void>((resolve) => (graceTimer = setTimeout(resolve, this.settings.shutdownGraceMs)))]);
    clearTimeout(graceTimer);
    await this.handOver();
    await ended();
  }

  private async waitUntilFinished(runId: string, waitMs: number): Promise<PipelineRunWithSteps> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const run = await this.repository.findRun(runId);
      if (!run) throw new Error(`Run ${runId} disappeared`);
      if (isFinished(run.status) || Date.now() >= deadline) return run;
      await this.pause();
    }
  }

  /**
   * Waits for a run this replica lost to finish elsewhere. Returns the run as it stands, still
   * running, when nobody has shown a sign of life on it (a new heartbeat, a step change) for
   * three stale periods, or when this replica shuts down. Database errors are ridden out for
   * as long; then the last one is thrown (503).
   */
  private async awaitOtherReplica(runId: string, signal?: AbortSignal): Promise<PipelineRunWithSteps> {
    const patience = 3 * this.settings.staleAfterMs;
    const shutdown = new AbortController();
    this.waiters.add(shutdown);
    let lastSign = '';
    let lastSignAt = Date.now();
    let lastReadAt = Date.now();
    try {
      for (;;) {
        if (signal?.aborted) throw new ClientClosedError();
        let run: PipelineRunWithSteps | null;
        try {
          run = await this.repository.findRun(runId);
        } catch (error) {
          if (!isDatabaseUnavailable(error) || Date.now() - lastReadAt > patience) throw error;
          await this.pause();
          continue;
        }
        if (!run) throw new Error(`Run ${runId} disappeared`);
        lastReadAt = Date.now();
        if (isFinished(run.status) || shutdown.signal.aborted) return run;
        // Clocks are not compared across machines: only whether the run changed, seen from here.
        const sign = `${run.status}|${run.owner}|${run.attempt}|${run.heartbeatAt?.getTime()}|${run.steps.map((step) => step.status).join()}`;
        if (sign !== lastSign) {
          lastSign = sign;
          lastSignAt = lastReadAt;
        } else if (lastReadAt - lastSignAt > patience) {
          return run;
        }
        await this.pause();
      }
    } finally {
      this.waiters.delete(shutdown);
    }
  }

  private pause(): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, Math.min(100, this.settings.controlPollIntervalMs)));
  }

  /**
   * Shutdown, once the server's grace period is over: synchronous runs still executing here
   * are handed back to the queue, and every waiting caller gets its run as it stands.
   */
  async handOver(): Promise<void> {
    for (const run of this.syncRuns.values()) run.halt.abort();
    for (const waiter of this.waiters) waiter.abort();
    await Promise.allSettled([...this.syncRuns.values()].map((run) => run.done));
  }
}
