import { Inject, Injectable, Optional } from '@nestjs/common';
import { PipelineDefinitionError, PipelineGraph, stepInput, type GraphStep } from './pipeline-graph.js';
import {
  addUsage,
  leaseOf,
  ZERO_USAGE,
  type FinalRunStatus,
  type PipelineRunRecord,
  type RunError,
  type RunLease,
  type TokenUsage,
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
import { describeStepError } from './step-errors.js';
import type { WhenContext } from './when-expression.js';

/**
 * How an execution ended. `abandoned`: this replica stopped without concluding the run,
 * because another replica took it over (`lost`), the caller halted it (shutdown), or the
 * database failed; the run stays `running` until it is released or its heartbeat goes stale.
 */
export type ExecutionOutcome =
  | { status: FinalRunStatus }
  | { status: 'abandoned'; reason: 'lost' | 'halted' | 'database' };

export interface ExecuteOptions {
  /** Aborting it makes the executor give the run up at once, writing nothing more. */
  signal?: AbortSignal;
}

/**
 * Executes claimed runs: steps in dependency order, independent ones concurrently (bounded),
 * `when` → skipped, fail-fast, cancellation noticed by polling the run row, a heartbeat, and
 * resumption after the steps a previous attempt completed.
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
    return new RunExecution(this.repository, this.runStep, this.settings, run, options.signal).run();
  }

  /** Concludes a claimed run as failed without executing it (e.g. after too many attempts). */
  async failRun(run: PipelineRunRecord, message: string): Promise<ExecutionOutcome> {
    return new RunExecution(this.repository, this.runStep, this.settings, run, undefined).fail(message);
  }
}

type StopReason =
  | { kind: 'failed'; step: string; error: RunError }
  | { kind: 'cancelled' }
  | { kind: 'lost' }
  | { kind: 'halted' }
  | { kind: 'database'; error: unknown };

/** `aborted`: started, then cut short by a stop; stored as skipped when the run concludes. */
type LocalStatus = 'pending' | 'running' | 'completed' | 'failed' | 'skipped' | 'aborted';

interface StepState {
  status: LocalStatus;
  output: string | null;
  usage: TokenUsage | null;
  /** Decided skipped (condition false, nothing to feed it), as opposed to cut short. */
  skippedByDecision?: boolean;
}

/** One execution of one run on this replica. */
class RunExecution {
  private readonly lease: RunLease;
  private readonly abort = new AbortController();
  private readonly states = new Map<string, StepState>();
  private readonly inFlight = new Map<string, Promise<void>>();
  private stop: StopReason | undefined;
  private eventPending = false;
  private waiter: (() => void) | undefined;
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(
    private readonly repository: PipelineRunsRepository,
    private readonly runStep: StepRunner,
    private readonly settings: ResolvedPipelinesOptions,
    private readonly record: PipelineRunRecord,
    private readonly halt: AbortSignal | undefined,
  ) {
    this.lease = leaseOf(record);
  }

  async run(): Promise<ExecutionOutcome> {
    let graph: PipelineGraph;
    try {
      graph = PipelineGraph.from(this.record.definition);
    } catch (error) {
      if (!(error instanceof PipelineDefinitionError)) throw error;
      return this.fail(`The pipeline definition stored with this run is invalid: ${error.problems.join('; ')}`);
    }
    try {
      const stored = new Map((await this.repository.getSteps(this.record.runId)).map((step) => [step.name, step]));
      for (const step of graph.steps) {
        const row = stored.get(step.name);
        this.states.set(
          step.name,
          row?.status === 'completed'
            ? { status: 'completed', output: row.output, usage: row.usage }
            : { status: 'pending', output: null, usage: null },
        );
      }
    } catch (error) {
      return this.abandon({ kind: 'database', error });
    }
    if (this.record.cancelRequestedAt) this.requestStop({ kind: 'cancelled' });
    this.watch();
    try {
      await this.schedule(graph);
    } finally {
      this.timers.forEach((timer) => clearInterval(timer));
      this.halt?.removeEventListener('abort', this.onHalt);
    }
    return this.conclude(graph);
  }

  async fail(message: string): Promise<ExecutionOutcome> {
    let usage: TokenUsage;
    try {
      const steps = await this.repository.getSteps(this.record.runId);
      usage = steps.reduce((sum, step) => (step.usage ? addUsage(sum, step.usage) : sum), { ...ZERO_USAGE });
    } catch (error) {
      return this.abandon({ kind: 'database', error });
    }
    return this.finish('failed', null, { code: 'pipeline_error', message }, usage);
  }

  // --- scheduling ------------------------------------------------------------------------------

  private async schedule(graph: PipelineGraph): Promise<void> {
    for (;;) {
      if (!this.stop) await this.decide(graph);
      if (this.stop) break;
      if (this.inFlight.size === 0) {
        const stuck = graph.steps.filter((step) => this.state(step.name).status === 'pending');
        // Unreachable for a validated (acyclic) graph; guards against looping forever.
        if (stuck.length > 0) {
          this.requestStop({
            kind: 'failed',
            step: stuck[0]!.name,
            error: { code: 'internal_error', message: 'The step could not be scheduled.' },
          });
        }
        return;
      }
      await this.nextEvent();
    }
    if (this.inFlight.size > 0) await this.settleInFlight();
  }

  /** Skips or starts every step that can be decided now; returns once nothing more can. */
  private async decide(graph: PipelineGraph): Promise<void> {
    for (let changed = true; changed && !this.stop; ) {
      changed = false;
      for (const step of graph.ready((name) => this.publicStatus(name))) {
        if (this.stop) return;
        if (this.shouldSkip(step)) {
          await this.skip(step);
          changed = true;
        } else if (this.inFlight.size < this.settings.stepConcurrency) {
          this.launch(step);
          changed = true;
        }
      }
    }
  }

  /**
   * A step whose dependencies were all skipped is skipped too (it would have nothing to
   * work on), unless it has a `when` of its own, which then decides.
   */
  private shouldSkip(step: GraphStep): boolean {
    if (step.when) return !step.when.evaluate(this.whenContext());
    return step.dependsOn.length > 0 && step.dependsOn.every((name) => this.state(name).status === 'skipped');
  }

  private async skip(step: GraphStep): Promise<void> {
    const state = this.state(step.name);
    state.status = 'skipped';
    state.skippedByDecision = true;
    if (await this.write(() => this.repository.markStepSkipped(this.lease, step.name))) {
      this.emitStep(step.name, 'skipped', null);
    }
  }

  private launch(step: GraphStep): void {
    const state = this.state(step.name);
    state.status = 'running';
    const input = stepInput(step, { input: this.record.input, outputOf: (name) => this.state(name).output });
    const execution = this.execute(step, state, input).finally(() => {
      this.inFlight.delete(step.name);
      this.notify();
    });
    this.inFlight.set(step.name, execution);
  }

  private async execute(step: GraphStep, state: StepState, input: string): Promise<void> {
    if (!(await this.write(() => this.repository.markStepRunning(this.lease, step.name, input)))) return;
    if (this.stop) {
      state.status = 'aborted';
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
          signal: this.abort.signal,
        }),
      );
    } catch (error) {
      if (this.abort.signal.aborted) {
        state.status = 'aborted';
        return;
      }
      const described = this.settings.describeError?.(error) ?? describeStepError(error);
      state.status = 'failed';
      this.requestStop({ kind: 'failed', step: step.name, error: described });
      if (await this.write(() => this.repository.markStepFailed(this.lease, step.name, described))) {
        this.emitStep(step.name, 'failed', performance.now() - started);
      }
      return;
    }
    if (this.abandoning()) return;
    state.status = 'completed';
    state.output = result.output;
    state.usage = result.usage;
    if (await this.write(() => this.repository.markStepCompleted(this.lease, step.name, result))) {
      this.emitStep(step.name, 'completed', performance.now() - started);
    }
  }

  /** Waits for aborted step calls to return, but not longer than the grace period. */
  private async settleInFlight(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.settings.abortGraceMs);
      timer.unref();
    });
    await Promise.race([Promise.allSettled([...this.inFlight.values()]), grace]);
    clearTimeout(timer);
    if (this.inFlight.size > 0) {
      this.settings.logger?.warn(
        { run_id: this.record.runId, steps: [...this.inFlight.keys()] },
        'pipeline steps did not stop within the grace period after abort; concluding the run without them',
      );
      for (const name of this.inFlight.keys()) this.state(name).status = 'aborted';
    }
  }

  // --- stopping ------------------------------------------------------------------------------

  private requestStop(reason: StopReason): void {
    const overrides = reason.kind === 'lost' || reason.kind === 'halted' || reason.kind === 'database';
    if (this.stop && !(overrides && !this.abandoning())) return;
    this.stop = reason;
    if (!this.abort.signal.aborted) this.abort.abort(new StepAbortedError(reason.kind));
    this.notify();
  }

  private abandoning(): boolean {
    return this.stop?.kind === 'lost' || this.stop?.kind === 'halted' || this.stop?.kind === 'database';
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
          this.settings.logger?.warn({ run_id: this.record.runId, err_message: (error as Error)?.message }, 'pipeline run watch failed');
        })
        .finally(() => {
          busy = false;
        });
    }, intervalMs);
    timer.unref();
    this.timers.push(timer);
  }

  // --- concluding ----------------------------------------------------------------------------

  private async conclude(graph: PipelineGraph): Promise<ExecutionOutcome> {
    if (this.stop && this.abandoning()) return this.abandon(this.stop);
    const usage = [...this.states.values()].reduce((sum, state) => (state.usage ? addUsage(sum, state.usage) : sum), {
      ...ZERO_USAGE,
    });
    const everyStepDone = graph.steps.every((step) => {
      const state = this.state(step.name);
      return state.status === 'completed' || (state.status === 'skipped' && state.skippedByDecision === true);
    });
    if (this.stop?.kind === 'failed') {
      const message = `Step '${this.stop.step}' failed: ${this.stop.error.message}`;
      return this.finish('failed', null, { code: 'pipeline_error', message }, usage);
    }
    // A cancel that arrives once every step is done changes nothing any more.
    if (this.stop?.kind === 'cancelled' && !everyStepDone) {
      return this.finish('cancelled', null, { code: 'cancelled', message: 'The run was cancelled.' }, usage);
    }
    return this.finish('completed', this.state(graph.finalStep).output, null, usage);
  }

  private async finish(
    status: FinalRunStatus,
    output: string | null,
    error: RunError | null,
    usage: TokenUsage,
  ): Promise<ExecutionOutcome> {
    let finished: Awaited<ReturnType<PipelineRunsRepository['finishRun']>>;
    try {
      finished = await this.repository.finishRun(this.lease, { status, output, usage, error });
    } catch (failure) {
      return this.abandon({ kind: 'database', error: failure });
    }
    if (!finished) return this.abandon({ kind: 'lost' });
    for (const name of finished.skippedSteps) this.emitStep(name, 'skipped', null);
    const durationMs = finished.run.finishedAt!.getTime() - finished.run.createdAt.getTime();
    this.emit(() =>
      this.settings.hooks?.onRunFinished?.({ runId: this.record.runId, pipeline: this.record.pipeline, status, durationMs }),
    );
    return { status };
  }

  private abandon(reason: StopReason): ExecutionOutcome {
    const kind = reason.kind === 'database' ? 'database' : reason.kind === 'lost' ? 'lost' : 'halted';
    const details: Record<string, unknown> = { run_id: this.record.runId, reason: kind, attempt: this.lease.attempt };
    if (reason.kind === 'database') details.err_message = (reason.error as Error)?.message;
    this.settings.logger?.warn(details, 'pipeline run given up by this replica');
    return { status: 'abandoned', reason: kind };
  }

  // --- helpers -------------------------------------------------------------------------------

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

  private state(name: string): StepState {
    return this.states.get(name)!;
  }

  private publicStatus(name: string): 'pending' | 'running' | 'completed' | 'failed' | 'skipped' {
    const status = this.state(name).status;
    return status === 'aborted' ? 'skipped' : status;
  }

  private whenContext(): WhenContext {
    const steps: WhenContext['steps'] = Object.fromEntries(
      [...this.states].map(([name, state]) => [name, { output: state.output, status: this.publicStatus(name) }]),
    );
    return { input: this.record.input, steps };
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

  private emitStep(step: string, status: 'completed' | 'failed' | 'skipped', durationMs: number | null): void {
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
      this.settings.logger?.error({ err_message: (error as Error)?.message }, 'pipeline hook failed');
    }
  }
}

/** The reason an aborted step call receives through its signal. */
export class StepAbortedError extends Error {
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
  const input = count(result.usage?.input_tokens);
  const output = count(result.usage?.output_tokens);
  const total = typeof result.usage?.total_tokens === 'number' ? count(result.usage.total_tokens) : input + output;
  return { output: result.output, usage: { input_tokens: input, output_tokens: output, total_tokens: total } };
}
