import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit, Optional } from '@nestjs/common';
import { PipelineExecutor } from './pipeline-executor.js';
import { leaseOf, type PipelineRunRecord, type RunLease } from './pipeline-run.js';
import { PipelineRunsRepository } from './pipeline-runs.repository.js';
import {
  PIPELINES_OPTIONS,
  resolvePipelinesOptions,
  type PipelinesOptions,
  type ResolvedPipelinesOptions,
} from './pipelines.options.js';

interface ActiveRun {
  halt: AbortController;
  done: Promise<void>;
}

/**
 * Claims queued runs, and runs whose replica stopped heartbeating, and executes them. Every
 * replica runs one; the database decides who gets which run. On shutdown it stops claiming,
 * lets running runs finish for a grace period, then hands the rest back to the queue.
 */
@Injectable()
export class PipelineWorker implements OnModuleInit, OnModuleDestroy {
  private readonly settings: ResolvedPipelinesOptions;
  private readonly active = new Map<string, ActiveRun>();
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<number> | undefined;
  private pollAgain = false;
  private running = false;
  private unavailableSince: number | undefined;

  constructor(
    private readonly repository: PipelineRunsRepository,
    private readonly executor: PipelineExecutor,
    @Optional() @Inject(PIPELINES_OPTIONS) options: PipelinesOptions = {},
  ) {
    this.settings = resolvePipelinesOptions(options);
  }

  get replicaId(): string {
    return this.settings.replicaId;
  }

  /** Runs executing on this replica now. */
  get activeRuns(): number {
    return this.active.size;
  }

  onModuleInit(): void {
    if (this.settings.workerEnabled) this.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.stop();
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule(0);
  }

  /** Looks for work now instead of at the next tick (e.g. right after queueing a run here). */
  wake(): void {
    if (!this.running) return;
    if (this.polling) this.pollAgain = true;
    else this.schedule(0);
  }

  /**
   * Claims runs until the worker is full or none is left; returns how many it started. Ticks
   * never overlap: a call during a poll makes that poll go round once more.
   */
  async pollOnce(): Promise<number> {
    if (this.polling) {
      this.pollAgain = true;
      return this.polling;
    }
    this.polling = this.claimAvailable().finally(() => {
      this.polling = undefined;
    });
    return this.polling;
  }

  /** Stops claiming; waits up to the grace period for runs to end, then releases the rest. */
  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    await this.polling?.catch(() => 0);
    const ended = () => Promise.allSettled([...this.active.values()].map((run) => run.done));
    let graceTimer: NodeJS.Timeout | undefined;
    await Promise.race([ended(), new Promise<void>((resolve) => (graceTimer = setTimeout(resolve, this.settings.shutdownGraceMs)))]);
    clearTimeout(graceTimer);
    for (const run of this.active.values()) run.halt.abort();
    await ended();
  }

  private schedule(delayMs: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      void this.pollOnce().finally(() => {
        if (this.running) this.schedule(this.settings.pollIntervalMs);
      });
    }, delayMs);
    this.timer.unref();
  }

  private async claimAvailable(): Promise<number> {
    let started = 0;
    do {
      this.pollAgain = false;
      while (this.running && this.active.size < this.settings.workerConcurrency && this.repository.isReady()) {
        let run: PipelineRunRecord | null;
        try {
          run = await this.repository.claimNext(this.settings.replicaId, { staleAfterMs: this.settings.staleAfterMs });
          this.noteDatabase(undefined);
        } catch (error) {
          this.noteDatabase(error);
          return started;
        }
        if (!run) break;
        this.launch(run);
        started++;
      }
    } while (this.pollAgain && this.running);
    return started;
  }

  private launch(run: PipelineRunRecord): void {
    const lease = leaseOf(run);
    const halt = new AbortController();
    const execution =
      run.attempt > this.settings.maxAttempts
        ? this.executor.failRun(
            run,
            `The run was interrupted ${run.attempt - 1} times (its replicas stopped) and was given up.`,
          )
        : this.executor.execute(run, { signal: halt.signal });
    if (!this.running) halt.abort();
    const done = execution
      .then(async (outcome) => {
        if (outcome.status !== 'abandoned') return;
        if (outcome.reason === 'halted') await this.release(lease);
        else if (outcome.reason === 'lost') this.settings.logger?.info({ run_id: run.runId }, 'pipeline run taken over by another replica');
      })
      .catch((error: unknown) => {
        this.settings.logger?.error({ run_id: run.runId, err_message: (error as Error)?.message }, 'pipeline run failed to execute');
      })
      .finally(() => {
        this.active.delete(run.runId);
        this.wake();
      });
    this.active.set(run.runId, { halt, done });
  }

  /** Hands a run this replica gave up back to the queue, so another replica resumes it now. */
  private async release(lease: RunLease): Promise<void> {
    try {
      if (await this.repository.releaseRun(lease)) {
        this.settings.logger?.info({ run_id: lease.runId }, 'pipeline run released for another replica');
      }
    } catch (error) {
      // Not released: its heartbeat goes stale instead and another replica takes it over.
      this.settings.logger?.warn({ run_id: lease.runId, err_message: (error as Error)?.message }, 'pipeline run release failed');
    }
  }

  private noteDatabase(error: unknown): void {
    if (error === undefined) {
      if (this.unavailableSince !== undefined) this.settings.logger?.info({}, 'pipeline worker can claim runs again');
      this.unavailableSince = undefined;
    } else if (this.unavailableSince === undefined) {
      this.unavailableSince = Date.now();
      this.settings.logger?.warn({ err_message: (error as Error)?.message }, 'pipeline worker cannot claim runs');
    }
  }
}
