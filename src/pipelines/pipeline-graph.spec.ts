import { describe, expect, it } from 'vitest';
import {
  finalStepOf,
  hasPlaceholders,
  PipelineDefinitionError,
  PipelineGraph,
  renderTemplate,
  stepInput,
  validatePipeline,
  type PipelineSpec,
  type StepStatus,
} from './pipeline-graph.js';

function pipeline(steps: PipelineSpec['steps']): PipelineSpec {
  return { name: 'p', steps };
}

const diamond = pipeline([
  { name: 'research', agent: 'researcher' },
  { name: 'outline', agent: 'writer', depends_on: 'research' },
  { name: 'facts', agent: 'checker', depends_on: ['research'] },
  { name: 'draft', agent: 'writer', depends_on: ['facts', 'outline'] },
]);

describe('PipelineGraph', () => {
  it('orders steps by dependency, ties by definition order', () => {
    const graph = PipelineGraph.from(
      pipeline([
        { name: 'd', agent: 'x', depends_on: ['b', 'c'] },
        { name: 'c', agent: 'x', depends_on: ['a'] },
        { name: 'b', agent: 'x' },
        { name: 'a', agent: 'x' },
      ]),
    );
    expect(graph.order()).toEqual(['b', 'a', 'c', 'd']);
  });

  it('normalizes depends_on given as a single string', () => {
    const graph = PipelineGraph.from(diamond);
    expect(graph.step('outline').dependsOn).toEqual(['research']);
    expect(graph.toSpec().steps.map((step) => step.depends_on)).toEqual([[], ['research'], ['research'], ['facts', 'outline']]);
  });

  it('makes steps ready once every prerequisite has completed or been skipped', () => {
    const graph = PipelineGraph.from(diamond);
    const statuses = new Map<string, StepStatus>(graph.steps.map((step) => [step.name, 'pending']));
    const ready = () => graph.ready((name) => statuses.get(name)!).map((step) => step.name);

    expect(ready()).toEqual(['research']);
    statuses.set('research', 'running');
    expect(ready()).toEqual([]);
    statuses.set('research', 'completed');
    expect(ready()).toEqual(['outline', 'facts']);
    statuses.set('outline', 'completed');
    statuses.set('facts', 'running');
    expect(ready()).toEqual([]);
    statuses.set('facts', 'skipped');
    expect(ready()).toEqual(['draft']);
    statuses.set('facts', 'failed');
    expect(ready()).toEqual([]);
  });

  it('waits for steps that a when condition or an input template reads, as if they were dependencies', () => {
    const graph = PipelineGraph.from(
      pipeline([
        { name: 'a', agent: 'x' },
        { name: 'b', agent: 'x' },
        { name: 'c', agent: 'x', when: "steps.a.output == 'go'", input: 'Use {{steps.b.output}}' },
      ]),
    );
    expect(graph.step('c').prerequisites).toEqual(['a', 'b']);
    expect(graph.step('c').dependsOn).toEqual([]);
  });

  describe('final step', () => {
    it('is the last-declared step that no other step depends on', () => {
      expect(PipelineGraph.from(diamond).finalStep).toBe('draft');
      const sinks = pipeline([
        { name: 'a', agent: 'x' },
        { name: 'b', agent: 'x', depends_on: 'a' },
        { name: 'c', agent: 'x', depends_on: 'a' },
      ]);
      expect(PipelineGraph.from(sinks).finalStep).toBe('c');
    });

    it('is not simply the last-declared step', () => {
      const graph = PipelineGraph.from(
        pipeline([
          { name: 'summary', agent: 'x', depends_on: ['collect'] },
          { name: 'collect', agent: 'x' },
        ]),
      );
      expect(graph.finalStep).toBe('summary');
      expect(finalStepOf([{ name: 'only', dependsOn: [] }])).toBe('only');
    });
  });

  describe('validation', () => {
    it('reports every problem at once', () => {
      const problems = validatePipeline(
        pipeline([
          { name: 'a', agent: 'x', depends_on: ['ghost'] },
          { name: 'a', agent: '' },
          { name: 'b', agent: 'x', when: 'steps.b.output = 1' },
          { name: 'c', agent: 'x', input: '{{steps.nobody.output}}', when: "steps.phantom.status == 'completed'" },
        ]),
      );
      expect(problems).toEqual([
        "step 'a' is declared twice",
        "step 'a' has no agent",
        "step 'a' depends on unknown step 'ghost'",
        "step 'b': invalid when condition: unexpected '=': use '==' to compare (column 16)",
        "step 'c' refers to unknown step 'phantom'",
        "step 'c' refers to unknown step 'nobody'",
      ]);
    });

    it('finds dependency cycles, including through conditions', () => {
      expect(
        validatePipeline(
          pipeline([
            { name: 'a', agent: 'x', depends_on: 'c' },
            { name: 'b', agent: 'x', depends_on: 'a' },
            { name: 'c', agent: 'x', depends_on: 'b' },
          ]),
        ),
      ).toEqual(['dependency cycle: a -> c -> b -> a']);
      expect(
        validatePipeline(
          pipeline([
            { name: 'a', agent: 'x', when: "steps.b.status == 'completed'" },
            { name: 'b', agent: 'x', depends_on: 'a' },
          ]),
        ),
      ).toEqual(['dependency cycle: a -> b -> a']);
      expect(validatePipeline(pipeline([{ name: 'a', agent: 'x', input: '{{steps.a.output}}' }]))).toEqual([
        'dependency cycle: a -> a',
      ]);
    });

    it('refuses an empty pipeline and throws a typed error from PipelineGraph.from', () => {
      expect(validatePipeline(pipeline([]))).toEqual(['a pipeline needs at least one step']);
      expect(() => PipelineGraph.from(pipeline([]))).toThrow(PipelineDefinitionError);
      expect(validatePipeline(diamond)).toEqual([]);
    });
  });
});

describe('step input', () => {
  const outputs: Record<string, string | null> = { research: 'R-out', outline: 'O-out', facts: 'F-out', skipped: null };
  const context = { input: 'the run input', outputOf: (name: string) => outputs[name] };

  it('gives a root step the run input', () => {
    expect(stepInput({ dependsOn: [] }, context)).toBe('the run input');
  });

  it('gives a step with one dependency that step’s output', () => {
    expect(stepInput({ dependsOn: ['research'] }, context)).toBe('R-out');
  });

  it('joins several dependencies in depends_on order, each under a heading', () => {
    expect(stepInput({ dependsOn: ['facts', 'outline'] }, context)).toBe('## facts\n\nF-out\n\n## outline\n\nO-out');
    expect(stepInput({ dependsOn: ['outline', 'facts'] }, context)).toBe('## outline\n\nO-out\n\n## facts\n\nF-out');
  });

  it('leaves skipped dependencies out, and falls back to the run input when none has output', () => {
    expect(stepInput({ dependsOn: ['skipped', 'facts'] }, context)).toBe('## facts\n\nF-out');
    expect(stepInput({ dependsOn: ['skipped'] }, context)).toBe('the run input');
  });

  it('renders an input with placeholders and sends it instead', () => {
    expect(
      stepInput({ input: 'Check {{ steps.research.output }} against "{{input}}"', dependsOn: ['research'] }, context),
    ).toBe('Check R-out against "the run input"');
  });

  it('treats an input without placeholders as a description only', () => {
    expect(stepInput({ input: 'Summarise the research', dependsOn: ['research'] }, context)).toBe('R-out');
    expect(stepInput({ input: 'Mentions {{name}} but no known placeholder', dependsOn: [] }, context)).toBe('the run input');
    expect(hasPlaceholders('{{input}}')).toBe(true);
    expect(hasPlaceholders('{{steps.a.output}}')).toBe(true);
    expect(hasPlaceholders('{{steps.a.input}} {{ other }}')).toBe(false);
  });

  it('renders in one pass, so placeholders inside outputs stay as they are', () => {
    const tricky = { input: '{{steps.research.output}}', outputOf: (name: string) => (name === 'a' ? '{{input}}' : null) };
    expect(renderTemplate('[{{steps.a.output}}] [{{input}}] [{{steps.none.output}}]', tricky)).toBe(
      '[{{input}}] [{{steps.research.output}}] []',
    );
  });
});
