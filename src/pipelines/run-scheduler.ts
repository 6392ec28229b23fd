import type { WhenContext } from '../definitions/expressions.js';
import { sumUsage, type Usage } from '../providers/model-provider.js';
import { stepInput, type GraphStep, type PipelineGraph, type StepStatus } from './pipeline-graph.js';
import type { PipelineRunStepRecord, RunError, RunResult } from './pipeline-run.js';

/**
 * Why a run stops before all its steps are decided. `lost`, `halted` and `database` give the
 * run up on this replica (see `AbandonReason`); the others conclude it.
 */
export type StopReason =
  | { kind: 'failed'; step: string; error: RunError }
  | { kind: 'cancelled' }
  | { kind: 'lost' }
  | { kind: 'halted' }
  | { kind: 'database'; error: unknown };

export type AbandonReason = Extract<StopReason, { kind: 'lost' | 'halted' | 'database' }>;

/** What to do with a step now: record it skipped, or start it with this input. */
export type Decision = { kind: 'skip'; step: GraphStep } | { kind: 'start'; step: GraphStep; input: string };

/** How a run ends: with these final fields stored, or given up without writing. */
export type Conclusion = { kind: 'finish'; result: RunResult } | { kind: 'abandon'; reason: AbandonReason };

/**
 * `skipped`: decided not to run (condition false, nothing to feed it). `aborted`: started,
 * then cut short by a stop; it reads as skipped, and is stored so when the run ends.
 */
type LocalStatus = StepStatus | 'aborted';

interface StepState {
  status: LocalStatus;
  output: string | null;
  usage: Usage | null;
}

/**
 * The scheduling of one run, without I/O: which steps to skip or start, in which order and
 * how many at once, when the run stops, and what it ends with. The caller carries the
 * decisions out and reports back what happened to the steps it started.
 */
export class RunScheduler {
  private readonly states = new Map<string, StepState>();
  /** Started steps whose execution is not over yet: they hold the concurrency slots. */
  private readonly inFlight = new Set<string>();
  private stopReason: StopReason | undefined;

  /**
   * `stored`: the steps as stored for the run; those completed by an earlier attempt keep
   * their output and usage and are not run again.
   */
  constructor(
    private readonly graph: Pick<PipelineGraph, 'steps' | 'finalStep' | 'ready'>,
    private readonly input: string,
    stored: readonly Pick<PipelineRunStepRecord, 'name' | 'status' | 'output' | 'usage'>[],
    private readonly concurrency: number,
  ) {
    const byName = new Map(stored.map((step) => [step.name, step]));
    for (const step of graph.steps) {
      const row = byName.get(step.name);
      this.states.set(
        step.name,
        row?.status === 'completed'
          ? { status: 'completed', output: row.output, usage: row.usage }
          : { status: 'pending', output: null, usage: null },
      );
    }
  }

  get stop(): StopReason | undefined {
    return this.stopReason;
  }

  /** Whether this replica is giving the run up: nothing more is to be written for it. */
  get abandoning(): boolean {
    return this.stopReason !== undefined && isAbandon(this.stopReason);
  }

  /**
   * Skips or starts every step that can be decided now, each as it is taken, so a stop
   * requested meanwhile ends the decisions. Steps are decided in passes over the steps ready
   * when the pass began, in definition order; a pass that decided something is followed by
   * another. A start takes a concurrency slot until `release`. When nothing is in flight and
   * pending steps are left that can never be decided, the run stops as failed.
   */
  *decide(): Generator<Decision, void, undefined> {
    for (let changed = true; changed && !this.stopReason; ) {
      changed = false;
      for (const step of this.graph.ready((name) => this.publicStatus(name))) {
        if (this.stopReason) return;
        if (this.shouldSkip(step)) {
          this.state(step.name).status = 'skipped';
          changed = true;
          yield { kind: 'skip', step };
        } else if (this.inFlight.size < this.concurrency) {
          this.state(step.name).status = 'running';
          this.inFlight.add(step.name);
          changed = true;
          yield { kind: 'start', step, input: this.inputOf(step) };
        }
      }
    }
    if (this.stopReason || this.inFlight.size > 0) return;
    const stuck = this.graph.steps.find((step) => this.state(step.name).status === 'pending');
    // Unreachable for a validated (acyclic) graph; guards against waiting forever.
    if (stuck) {
      this.requestStop({
        kind: 'failed',
        step: stuck.name,
        error: { code: 'internal_error', message: 'The step could not be scheduled.' },
      });
    }
  }

  completed(step: string, result: { output: string; usage: Usage }): void {
    const state = this.state(step);
    state.status = 'completed';
    state.output = result.output;
    state.usage = result.usage;
  }

  /** Fail-fast: a failed step stops the run. Returns whether that stop took effect. */
  failed(step: string, error: RunError): boolean {
    this.state(step).status = 'failed';
    return this.requestStop({ kind: 'failed', step, error });
  }

  /** The step was started but cut short by a stop. */
  aborted(step: string): void {
    this.state(step).status = 'aborted';
  }

  /** The execution of a started step is over: its slot is free. */
  release(step: string): void {
    this.inFlight.delete(step);
  }

  /** Gives up on the steps still in flight (they did not stop in time); returns their names. */
  abortInFlight(): string[] {
    const names = [...this.inFlight];
    for (const name of names) this.aborted(name);
    return names;
  }

  /**
   * Stops the run. The first reason wins, except that giving the run up overrides a reason
   * that would conclude it. Returns whether the reason took effect.
   */
  requestStop(reason: StopReason): boolean {
    if (this.stopReason && !(isAbandon(reason) && !this.abandoning)) return false;
    this.stopReason = reason;
    return true;
  }

  /**
   * How the run ends, once nothing is in flight any more. A cancel that arrives once every
   * step is done changes nothing.
   */
  conclude(): Conclusion {
    const stop = this.stopReason;
    if (stop && isAbandon(stop)) return { kind: 'abandon', reason: stop };
    const usage = sumUsage([...this.states.values()].map((state) => state.usage));
    if (stop?.kind === 'failed') {
      return { kind: 'finish', result: pipelineFailure(`Step '${stop.step}' failed: ${stop.error.message}`, usage) };
    }
    const everyStepDone = [...this.states.values()].every((state) => state.status === 'completed' || state.status === 'skipped');
    if (stop?.kind === 'cancelled' && !everyStepDone) {
      return {
        kind: 'finish',
        result: { status: 'cancelled', output: null, usage, error: { code: 'cancelled', message: 'The run was cancelled.' } },
      };
    }
    return {
      kind: 'finish',
      result: { status: 'completed', output: this.state(this.graph.finalStep).output, usage, error: null },
    };
  }

  /**
   * A step whose dependencies were all skipped is skipped too (it would have nothing to
   * work on), unless it has a `when` of its own, which then decides.
   */
  private shouldSkip(step: GraphStep): boolean {
    if (step.when) return !step.when.evaluate(this.whenContext());
    return step.dependsOn.length > 0 && step.dependsOn.every((name) => this.state(name).status === 'skipped');
  }

  private inputOf(step: GraphStep): string {
    return stepInput(step, { input: this.input, outputOf: (name) => this.state(name).output });
  }

  private whenContext(): WhenContext {
    const steps: WhenContext['steps'] = Object.fromEntries(
      [...this.states.keys()].map((name) => [name, { output: this.state(name).output, status: this.publicStatus(name) }]),
    );
    return { input: this.input, steps };
  }

  private publicStatus(name: string): StepStatus {
    const status = this.state(name).status;
    return status === 'aborted' ? 'skipped' : status;
  }

  private state(name: string): StepState {
    return this.states.get(name)!;
  }
}

/** The end of a run that failed as a whole: no output, a `pipeline_error`. */
export function pipelineFailure(message: string, usage: Usage): RunResult {
  return { status: 'failed', output: null, usage, error: { code: 'pipeline_error', message } };
}

function isAbandon(reason: StopReason): reason is AbandonReason {
  return reason.kind === 'lost' || reason.kind === 'halted' || reason.kind === 'database';
}
