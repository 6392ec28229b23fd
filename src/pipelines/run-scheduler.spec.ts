import { describe, expect, it } from 'vitest';
import { PipelineGraph, type PipelineStepSpec } from './pipeline-graph.js';
import type { PipelineRunStepRecord } from './pipeline-run.js';
import { RunScheduler, type Decision } from './run-scheduler.js';

type Stored = Pick<PipelineRunStepRecord, 'name' | 'status' | 'output' | 'usage'>;

const usage = (input: number, output: number) => ({ inputTokens: input, outputTokens: output, totalTokens: input + output });

function scheduler(steps: PipelineStepSpec[], options: { input?: string; concurrency?: number; stored?: Stored[] } = {}) {
  const graph = PipelineGraph.from({ name: 'p', steps });
  return new RunScheduler(graph, options.input ?? 'in', options.stored ?? [], options.concurrency ?? 4);
}

/** Takes every decision available now, as the executor would, and names them. */
function decide(run: RunScheduler): string[] {
  return [...run.decide()].map(show);
}

function show(decision: Decision): string {
  return decision.kind === 'skip' ? `skip ${decision.step.name}` : `start ${decision.step.name} <- ${decision.input}`;
}

/** A started step completes with `output` and its execution ends. */
function finish(run: RunScheduler, step: string, output: string, spent = usage(1, 1)): void {
  run.completed(step, { output, usage: spent });
  run.release(step);
}

describe('run scheduler', () => {
  describe('deciding', () => {
    it('starts ready steps in definition order, feeding each its input, and their dependents once they complete', () => {
      const run = scheduler([
        { name: 'research', agent: 'x' },
        { name: 'merge', agent: 'x', depends_on: ['critique', 'research'] },
        { name: 'critique', agent: 'x' },
        { name: 'polish', agent: 'x', depends_on: 'merge', input: 'Polish {{steps.merge.output}} for {{input}}' },
      ]);
      expect(decide(run)).toEqual(['start research <- in', 'start critique <- in']);
      expect(decide(run)).toEqual([]);

      finish(run, 'research', 'R');
      expect(decide(run)).toEqual([]);
      finish(run, 'critique', 'C');
      expect(decide(run)).toEqual(['start merge <- ## critique\n\nC\n\n## research\n\nR']);
      finish(run, 'merge', 'M');
      expect(decide(run)).toEqual(['start polish <- Polish M for in']);
      finish(run, 'polish', 'P');
      expect(decide(run)).toEqual([]);
      expect(run.stop).toBeUndefined();
    });

    it('runs at most `concurrency` steps at once; a step holds its slot until its execution is released', () => {
      const run = scheduler(
        ['s1', 's2', 's3', 's4'].map((name) => ({ name, agent: 'x' })),
        { concurrency: 2 },
      );
      expect(decide(run)).toEqual(['start s1 <- in', 'start s2 <- in']);

      run.completed('s1', { output: 'one', usage: usage(1, 1) });
      expect(decide(run)).toEqual([]);
      run.release('s1');
      expect(decide(run)).toEqual(['start s3 <- in']);
      expect(decide(run)).toEqual([]);
      finish(run, 's2', 'two');
      finish(run, 's3', 'three');
      expect(decide(run)).toEqual(['start s4 <- in']);
    });

    it('skips a step whose when is false, and runs one whose when holds', () => {
      const run = scheduler([
        { name: 'classify', agent: 'x' },
        { name: 'tech', agent: 'x', depends_on: 'classify', when: "steps.classify.output == 'technical'" },
        { name: 'billing', agent: 'x', depends_on: 'classify', when: "steps.classify.output contains 'bill'" },
      ]);
      expect(decide(run)).toEqual(['start classify <- in']);
      finish(run, 'classify', 'billing');
      expect(decide(run)).toEqual(['skip tech', 'start billing <- billing']);
    });

    it('skips a step whose dependencies were all skipped, unless its own when decides otherwise', () => {
      const run = scheduler([
        { name: 'classify', agent: 'x' },
        { name: 'tech', agent: 'x', depends_on: 'classify', when: "steps.classify.output == 'technical'" },
        { name: 'tech-followup', agent: 'x', depends_on: 'tech' },
        { name: 'billing', agent: 'x', depends_on: 'classify' },
        { name: 'apology', agent: 'x', depends_on: 'tech', when: "steps.tech.status == 'skipped'" },
        { name: 'answer', agent: 'x', depends_on: ['tech', 'billing'] },
      ]);
      expect(decide(run)).toEqual(['start classify <- in']);
      finish(run, 'classify', 'billing');
      // The skips cascade in one go; a step left with no output to work on gets the run input.
      expect(decide(run)).toEqual(['skip tech', 'start billing <- billing', 'skip tech-followup', 'start apology <- in']);
      finish(run, 'billing', 'B');
      expect(decide(run)).toEqual(['start answer <- ## billing\n\nB']);
    });

    it('stops deciding as soon as a stop is requested, even in the middle of the decisions', () => {
      const run = scheduler([
        { name: 'a', agent: 'x' },
        { name: 'b', agent: 'x' },
      ]);
      const decisions = run.decide();
      expect(show(decisions.next().value as Decision)).toBe('start a <- in');
      expect(run.requestStop({ kind: 'cancelled' })).toBe(true);
      expect(decisions.next().done).toBe(true);
      expect(decide(run)).toEqual([]);
    });

    it('resumes after the steps an earlier attempt completed, with their stored output and usage', () => {
      const run = scheduler(
        [
          { name: 'a', agent: 'x' },
          { name: 'b', agent: 'x', depends_on: 'a' },
          { name: 'c', agent: 'x', depends_on: 'b' },
        ],
        {
          stored: [
            { name: 'a', status: 'completed', output: 'A', usage: usage(2, 3) },
            { name: 'b', status: 'running', output: null, usage: null },
            { name: 'c', status: 'pending', output: null, usage: null },
          ],
        },
      );
      expect(decide(run)).toEqual(['start b <- A']);
      finish(run, 'b', 'B', usage(10, 20));
      expect(decide(run)).toEqual(['start c <- B']);
      finish(run, 'c', 'C', usage(100, 200));
      expect(run.conclude()).toEqual({
        kind: 'finish',
        result: { status: 'completed', output: 'C', usage: usage(112, 223), error: null },
      });
    });

    it('fails the run when steps are left that can never be scheduled', () => {
      const valid = PipelineGraph.from({
        name: 'p',
        steps: [
          { name: 'a', agent: 'x' },
          { name: 'b', agent: 'x' },
        ],
      });
      // As if `b` waited on itself: a cycle that validation refuses.
      const stuck = {
        steps: valid.steps,
        finalStep: valid.finalStep,
        ready: (statusOf: Parameters<PipelineGraph['ready']>[0]) => valid.ready(statusOf).filter((step) => step.name !== 'b'),
      };
      const run = new RunScheduler(stuck, 'in', [], 4);
      expect(decide(run)).toEqual(['start a <- in']);
      expect(run.stop).toBeUndefined();
      finish(run, 'a', 'A', usage(1, 2));
      expect(decide(run)).toEqual([]);
      expect(run.stop).toEqual({
        kind: 'failed',
        step: 'b',
        error: { code: 'internal_error', message: 'The step could not be scheduled.' },
      });
      expect(run.conclude()).toEqual({
        kind: 'finish',
        result: {
          status: 'failed',
          output: null,
          usage: usage(1, 2),
          error: { code: 'pipeline_error', message: "Step 'b' failed: The step could not be scheduled." },
        },
      });
    });
  });

  describe('concluding', () => {
    const chain: PipelineStepSpec[] = [
      { name: 'a', agent: 'x' },
      { name: 'b', agent: 'x', depends_on: 'a' },
      { name: 'side', agent: 'x' },
    ];

    it('ends with the output of the final step (the last-declared step nothing depends on) and the usage of all steps', () => {
      const run = scheduler([
        { name: 'draft', agent: 'x' },
        { name: 'publish', agent: 'x', depends_on: 'draft' },
        { name: 'notes', agent: 'x', depends_on: 'draft' },
        { name: 'review', agent: 'x', depends_on: 'draft', when: "steps.draft.output == 'nothing'" },
      ]);
      decide(run);
      finish(run, 'draft', 'D', usage(1, 2));
      expect(decide(run)).toEqual(['start publish <- D', 'start notes <- D', 'skip review']);
      finish(run, 'publish', 'P', usage(10, 20));
      finish(run, 'notes', 'N', usage(100, 200));
      expect(decide(run)).toEqual([]);
      // `review` is the final step; it was skipped, so the run has no output.
      expect(run.conclude()).toEqual({
        kind: 'finish',
        result: { status: 'completed', output: null, usage: usage(111, 222), error: null },
      });
    });

    it('fails fast: a failed step stops the run, which ends failed with its error and no output', () => {
      const run = scheduler(chain);
      expect(decide(run)).toEqual(['start a <- in', 'start side <- in']);
      finish(run, 'side', 'S', usage(3, 4));
      expect(run.failed('a', { code: 'provider_error', message: 'mock/x: boom' })).toBe(true);
      run.release('a');
      expect(decide(run)).toEqual([]);
      expect(run.requestStop({ kind: 'cancelled' })).toBe(false);
      expect(run.stop).toMatchObject({ kind: 'failed', step: 'a' });
      expect(run.conclude()).toEqual({
        kind: 'finish',
        result: {
          status: 'failed',
          output: null,
          usage: usage(3, 4),
          error: { code: 'pipeline_error', message: "Step 'a' failed: mock/x: boom" },
        },
      });
    });

    it('ends cancelled when cancelled before every step is done', () => {
      const run = scheduler(chain);
      decide(run);
      finish(run, 'a', 'A', usage(1, 1));
      expect(run.requestStop({ kind: 'cancelled' })).toBe(true);
      run.aborted('side');
      run.release('side');
      expect(decide(run)).toEqual([]);
      expect(run.conclude()).toEqual({
        kind: 'finish',
        result: { status: 'cancelled', output: null, usage: usage(1, 1), error: { code: 'cancelled', message: 'The run was cancelled.' } },
      });

      const last = scheduler([{ name: 'only', agent: 'x' }]);
      decide(last);
      last.requestStop({ kind: 'cancelled' });
      last.aborted('only');
      last.release('only');
      expect(last.conclude()).toMatchObject({ kind: 'finish', result: { status: 'cancelled' } });
    });

    it('ends completed when the cancel arrives once every step is done (skipped by decision counts as done)', () => {
      const run = scheduler([...chain, { name: 'never', agent: 'x', depends_on: 'b', when: 'false' }]);
      decide(run);
      finish(run, 'a', 'A');
      finish(run, 'side', 'S');
      decide(run);
      finish(run, 'b', 'B');
      expect(decide(run)).toEqual(['skip never']);
      run.requestStop({ kind: 'cancelled' });
      expect(run.conclude()).toMatchObject({ kind: 'finish', result: { status: 'completed', output: null, error: null } });
    });

    it('gives the run up when this replica loses it, whatever stop came first, and never the other way round', () => {
      const cancelledThenLost = scheduler(chain);
      cancelledThenLost.requestStop({ kind: 'cancelled' });
      expect(cancelledThenLost.abandoning).toBe(false);
      expect(cancelledThenLost.requestStop({ kind: 'lost' })).toBe(true);
      expect(cancelledThenLost.abandoning).toBe(true);
      expect(cancelledThenLost.conclude()).toEqual({ kind: 'abandon', reason: { kind: 'lost' } });

      const failedThenHalted = scheduler(chain);
      decide(failedThenHalted);
      failedThenHalted.failed('a', { code: 'provider_error', message: 'boom' });
      expect(failedThenHalted.requestStop({ kind: 'halted' })).toBe(true);
      expect(failedThenHalted.conclude()).toEqual({ kind: 'abandon', reason: { kind: 'halted' } });

      const lost = scheduler(chain);
      const outage = new Error('connection refused');
      expect(lost.requestStop({ kind: 'database', error: outage })).toBe(true);
      expect(lost.requestStop({ kind: 'lost' })).toBe(false);
      expect(lost.requestStop({ kind: 'cancelled' })).toBe(false);
      expect(lost.conclude()).toEqual({ kind: 'abandon', reason: { kind: 'database', error: outage } });
    });

    it('marks the steps that did not stop in time as cut short', () => {
      const run = scheduler(chain);
      decide(run);
      run.requestStop({ kind: 'cancelled' });
      run.aborted('side');
      run.release('side');
      expect(run.abortInFlight()).toEqual(['a']);
      expect(run.conclude()).toMatchObject({ kind: 'finish', result: { status: 'cancelled' } });
    });
  });
});
