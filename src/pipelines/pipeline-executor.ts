import { Inject, Injectable, Optional } from '@nestjs/common';
import { requestLogFields } from '../common/request-context/request-context.js';
import { toStepError } from '../common/errors/error-table.js';
import { sumUsage } from '../providers/model-provider.js';
import { PipelineDefinitionError, PipelineGraph, type GraphStep } from './pipeline-graph.js';
import {
  leaseOf,
  type FinalRunStatus,
  type PipelineRunRecord,
  type PipelineRunStepRecord,
  type RunLease,
  type RunResult,
} from './pipeline-run.js';
import { PipelineRunsRepository } from './pipeline-runs.repository.js';
import {
  PIPELINE_STEP_RUNNER,
  PIPELINES_OPTIONS,
  resolvePipelinesOptions,
  type PipelinesOptions,
  type ResolvedPipelinesOptions,
  type StepResult,
  type StepRunner,
} from './pipelines.options.js';
import { pipelineFailure, RunScheduler, type AbandonReason, type StopReason } from './run-scheduler.js';

/**
 * How an execution ended. `abandoned`: this replica stopped without concluding the run,
 * because another replica took it over (`lost`), the caller halted it (shutdown), or the
 * database failed; the run stays `running` until it is released or its heartbeat goes stale.
 */
export type ExecutionOutcome = { status: FinalRunStatus } | { status: 'abandoned'; reason: AbandonReason['kind'] };

export interface ExecuteOptions {
  /** Aborting it makes the executor give the run up at once, writing nothing more. */
  signal?: AbortSignal;
}

/** How long aborted step calls get to settle before the run is concluded anyway. */
const ABORT_GRACE_MS = 5_000;

/**
 * Executes claimed runs as `RunScheduler` decides: records each step as it goes, keeps the
 * lease alive with a heartbeat, notices a cancel or a takeover by polling the run row, and
 * aborts the step calls in progress when the run stops.
 */
@Injectable()
export class PipelineExecutor {
  private readonly settings: ResolvedPipelinesOptions;

  constructor(
    private readonly repository: PipelineRunsRepository,
    @Inject(PIPELINE_STEP_RUNNER) private readonly runStep: StepRunner,
    @Optional() @Inject(PIPELINES_OPTIONS) options: PipelinesOptions = {},
  ) {
    this.settings = resolvePipelinesOptions(options);
  }

  /** Runs a claimed run (owner and attempt set) to its end, or until this replica loses it. */
  async execute(run: PipelineRunRecord, options: ExecuteOptions = {}): Promise<ExecutionOutcome> {
    const recorder = new RunRecorder(this.repository, this.settings, run);
    let graph: PipelineGraph;
    try {
      graph = PipelineGraph.from(run.definition);
    } catch (error) {
      if (!(error instanceof PipelineDefinitionError)) throw error;
      return this.failRun(run, `The pipeline definition stored with this run is invalid: ${error.problems.join('; ')}`);
    }
    let stored: PipelineRunStepRecord[];
    try {
      stored = await this.repository.getSteps(run.runId);
    } catch (error) {
      return recorder.abandon({ kind: 'database', error });
    }
    const scheduler = new RunScheduler(graph, run.input, stored, this.settings.stepConcurrency);
    return new RunExecution(this.repository, this.runStep, this.settings, recorder, scheduler, options.signal).run();
  }

  /** Concludes a claimed run as failed without executing it (e.g. after too many attempts). */
  async failRun(run: PipelineRunRecord, message: string): Promise<ExecutionOutcome> {
    const recorder = new RunRecorder(this.repository, this.settings, run);
    let steps: PipelineRunStepRecord[];
    try {
      steps = await this.repository.getSteps(run.runId);
    } catch (error) {
      return recorder.abandon({ kind: 'database', error });
    }
    return recorder.finish(pipelineFailure(message, sumUsage(steps.map((step) => step.usage))));
  }
}

/** One execution of one run on this replica: carries out what its scheduler decides. */
class RunExecution {
  private readonly record: PipelineRunRecord;
  private readonly lease: RunLease;
  private readonly abort = new AbortController();
  private readonly inFlight = new Map<string, Promise<void>>();
  private eventPending = false;
  private waiter: (() => void) | undefined;
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(
    private readonly repository: PipelineRunsRepository,
    private readonly runStep: StepRunner,
    private readonly settings: ResolvedPipelinesOptions,
    private readonly recorder: RunRecorder,
    private readonly scheduler: RunScheduler,
    private readonly halt: AbortSignal | undefined,
  ) {
    this.record = recorder.record;
    this.lease = recorder.lease;
  }

  async run(): Promise<ExecutionOutcome> {
    if (this.record.cancelRequestedAt) this.requestStop({ kind: 'cancelled' });
    this.watch();
    try {
      await this.schedule();
    } finally {
      this.timers.forEach((timer) => clearInterval(timer));
      this.halt?.removeEventListener('abort', this.onHalt);
    }
    const conclusion = this.scheduler.conclude();
    return conclusion.kind === 'abandon' ? this.recorder.abandon(conclusion.reason) : this.recorder.finish(conclusion.result);
  }

  private async schedule(): Promise<void> {
    for (;;) {
      for (const decision of this.scheduler.decide()) {
        if (decision.kind === 'skip') await this.skip(decision.step);
        else this.launch(decision.step, decision.input);
      }
      if (this.scheduler.stop) break;
      if (this.inFlight.size === 0) return;
      await this.nextEvent();
    }
    if (this.inFlight.size > 0) await this.settleInFlight();
  }

  private async skip(step: GraphStep): Promise<void> {
    if (await this.write(() => this.repository.markStepSkipped(this.lease, step.name))) {
      this.recorder.stepFinished(step.name, 'skipped', null);
    }
  }

  private launch(step: GraphStep, input: string): void {
    const execution = this.execute(step, input).finally(() => {
      this.inFlight.delete(step.name);
      this.scheduler.release(step.name);
      this.notify();
    });
    this.inFlight.set(step.name, execution);
  }

  private async execute(step: GraphStep, input: string): Promise<void> {
    if (!(await this.write(() => this.repository.markStepRunning(this.lease, step.name, input)))) return;
    if (this.scheduler.stop) {
      this.scheduler.aborted(step.name);
      return;
    }
    const started = performance.now();
    let result: StepResult;
    try {
      result = normalizeResult(
        await this.runStep({
          runId: this.record.runId,
          pipeline: this.record.pipeline,
          step: step.name,
          agent: step.agent,
          input,
          principal: this.record.principal,
          correlationId: this.record.correlationId,
          signal: this.abort.signal,
        }),
      );
    } catch (error) {
      if (this.abort.signal.aborted) {
        this.scheduler.aborted(step.name);
        return;
      }
      const described = toStepError(error);
      if (this.scheduler.failed(step.name, described)) this.stopped();
      if (await this.write(() => this.repository.markStepFailed(this.lease, step.name, described))) {
        this.recorder.stepFinished(step.name, 'failed', performance.now() - started);
      }
      return;
    }
    if (this.scheduler.abandoning) return;
    this.scheduler.completed(step.name, result);
    if (await this.write(() => this.repository.markStepCompleted(this.lease, step.name, result))) {
      this.recorder.stepFinished(step.name, 'completed', performance.now() - started);
    }
  }

  /** Waits for aborted step calls to return, but not longer than the grace period. */
  private async settleInFlight(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ABORT_GRACE_MS);
      timer.unref();
    });
    await Promise.race([Promise.allSettled([...this.inFlight.values()]), grace]);
    clearTimeout(timer);
    if (this.inFlight.size > 0) {
      this.settings.logger?.warn(
        { ...runLogFields(this.record), steps: this.scheduler.abortInFlight() },
        'pipeline steps did not stop within the grace period after abort; concluding the run without them',
      );
    }
  }

  private requestStop(reason: StopReason): void {
    if (this.scheduler.requestStop(reason)) this.stopped();
  }

  /** The run was just stopped: the step calls in progress are aborted. */
  private stopped(): void {
    if (!this.abort.signal.aborted) this.abort.abort(new StepAbortedError(this.scheduler.stop!.kind));
    this.notify();
  }

  private readonly onHalt = (): void => this.requestStop({ kind: 'halted' });

  /** Heartbeat, and a faster poll of the cancel flag and of ownership. */
  private watch(): void {
    if (this.halt?.aborted) this.onHalt();
    this.halt?.addEventListener('abort', this.onHalt, { once: true });
    this.every(this.settings.heartbeatIntervalMs, async () => {
      if (!(await this.repository.heartbeat(this.lease))) this.requestStop({ kind: 'lost' });
    });
    this.every(this.settings.controlPollIntervalMs, async () => {
      const control = await this.repository.readControl(this.record.runId);
      if (!control || control.owner !== this.lease.owner || control.attempt !== this.lease.attempt || control.status !== 'running') {
        this.requestStop({ kind: 'lost' });
      } else if (control.cancelRequested) {
        this.requestStop({ kind: 'cancelled' });
      }
    });
  }

  private every(intervalMs: number, task: () => Promise<void>): void {
    let busy = false;
    const timer = setInterval(() => {
      if (busy) return;
      busy = true;
      task()
        .catch((error: unknown) => {
          // A missed beat or poll is retried on the next tick; a lasting outage ends in a takeover.
          this.settings.logger?.warn({ ...runLogFields(this.record), err_message: (error as Error)?.message }, 'pipeline run watch failed');
        })
        .finally(() => {
          busy = false;
        });
    }, intervalMs);
    timer.unref();
    this.timers.push(timer);
  }

  /** Runs a lease-checked write; a lost lease or a database error stops the execution. */
  private async write(operation: () => Promise<boolean>): Promise<boolean> {
    try {
      if (await operation()) return true;
      this.requestStop({ kind: 'lost' });
    } catch (error) {
      this.requestStop({ kind: 'database', error });
    }
    return false;
  }

  private notify(): void {
    this.eventPending = true;
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }

  private async nextEvent(): Promise<void> {
    if (!this.eventPending) await new Promise<void>((resolve) => (this.waiter = resolve));
    this.eventPending = false;
  }
}

/** Ends a run under its lease, and reports steps and runs to the hooks and the log. */
class RunRecorder {
  readonly lease: RunLease;

  constructor(
    private readonly repository: PipelineRunsRepository,
    private readonly settings: ResolvedPipelinesOptions,
    readonly record: PipelineRunRecord,
  ) {
    this.lease = leaseOf(record);
  }

  async finish(result: RunResult): Promise<ExecutionOutcome> {
    let finished: Awaited<ReturnType<PipelineRunsRepository['finishRun']>>;
    try {
      finished = await this.repository.finishRun(this.lease, result);
    } catch (failure) {
      return this.abandon({ kind: 'database', error: failure });
    }
    if (!finished) return this.abandon({ kind: 'lost' });
    for (const name of finished.skippedSteps) this.stepFinished(name, 'skipped', null);
    const durationMs = finished.run.finishedAt!.getTime() - finished.run.createdAt.getTime();
    this.emit(() =>
      this.settings.hooks?.onRunFinished?.({ runId: this.record.runId, pipeline: this.record.pipeline, status: result.status, durationMs }),
    );
    return { status: result.status };
  }

  abandon(reason: AbandonReason): ExecutionOutcome {
    const details: Record<string, unknown> = {
      ...runLogFields(this.record),
      reason: reason.kind,
      attempt: this.lease.attempt,
    };
    if (reason.kind === 'database') details.err_message = (reason.error as Error)?.message;
    this.settings.logger?.warn(details, 'pipeline run given up by this replica');
    return { status: 'abandoned', reason: reason.kind };
  }

  stepFinished(step: string, status: 'completed' | 'failed' | 'skipped', durationMs: number | null): void {
    this.emit(() =>
      this.settings.hooks?.onStepFinished?.({
        runId: this.record.runId,
        pipeline: this.record.pipeline,
        step,
        status,
        durationMs: durationMs === null ? null : Math.round(durationMs),
      }),
    );
  }

  private emit(call: () => void): void {
    try {
      call();
    } catch (error) {
      this.settings.logger?.error({ ...runLogFields(this.record), err_message: (error as Error)?.message }, 'pipeline hook failed');
    }
  }
}

/** The reason an aborted step call receives through its signal. */
class StepAbortedError extends Error {
  constructor(readonly reason: StopReason['kind']) {
    super(
      reason === 'cancelled'
        ? 'The run was cancelled.'
        : reason === 'failed'
          ? 'Another step of the run failed.'
          : 'The run was given up by this replica.',
    );
    this.name = 'AbortError';
  }
}

function normalizeResult(result: StepResult): StepResult {
  if (typeof result?.output !== 'string') throw new TypeError('The step runner returned no output text');
  const count = (value: unknown) => (typeof value === 'number' && Number.isFinite(value) && value >= 0 ? Math.round(value) : 0);
  const inputTokens = count(result.usage?.inputTokens);
  const outputTokens = count(result.usage?.outputTokens);
  const totalTokens = typeof result.usage?.totalTokens === 'number' ? count(result.usage.totalTokens) : inputTokens + outputTokens;
  return { output: result.output, usage: { inputTokens, outputTokens, totalTokens } };
}

/** What every log line about a run names: the request that started it, its caller, the run. */
function runLogFields(record: Pick<PipelineRunRecord, 'correlationId' | 'principal' | 'runId'>) {
  return { ...requestLogFields(record.correlationId, record.principal), run_id: record.runId };
}
