import {
  findCycles,
  parseWhen,
  placeholders,
  render,
  stepInputKey,
  stepInputReferences,
  WhenSyntaxError,
  type WhenExpression,
} from '../definitions/index.js';

/**
 * What the engine needs of a pipeline definition. Kept apart from the definitions model so
 * the engine can be fed from the loader, from JSON, or from tests alike; a run stores this
 * shape so that any replica resumes it with the definition it started with.
 */
export interface PipelineStepSpec {
  name: string;
  agent: string;
  /** A template (`{{input}}`, `{{steps.<name>.output}}`) or, without placeholders, a description. */
  input?: string;
  depends_on?: string | readonly string[];
  when?: string;
  /** Accepted for compatibility; independent steps always run concurrently. */
  parallel?: boolean;
}

export interface PipelineSpec {
  name: string;
  steps: readonly PipelineStepSpec[];
}

/** As a list, so that openapi.json names them in this order whatever order TypeScript keeps a union in. */
export const STEP_STATUSES = ['pending', 'running', 'completed', 'failed', 'skipped'] as const;
export type StepStatus = (typeof STEP_STATUSES)[number];

export class PipelineDefinitionError extends Error {
  constructor(
    readonly pipeline: string,
    readonly problems: readonly string[],
  ) {
    super(`Pipeline '${pipeline}' is invalid: ${problems.join('; ')}`);
    this.name = 'PipelineDefinitionError';
  }
}

export interface GraphStep {
  readonly name: string;
  readonly agent: string;
  readonly position: number;
  readonly input?: string;
  readonly dependsOn: readonly string[];
  readonly when?: WhenExpression;
  /**
   * Steps that must be settled before this one is decided: `depends_on` plus the steps its
   * `when` or input template read, so a condition never looks at a step still running.
   */
  readonly prerequisites: readonly string[];
}

/** The dependency structure of one pipeline, validated. */
export class PipelineGraph {
  private readonly byName: ReadonlyMap<string, GraphStep>;

  private constructor(
    readonly name: string,
    /** In definition order. */
    readonly steps: readonly GraphStep[],
    /** The last-declared step that no other step depends on; its output is the run's output. */
    readonly finalStep: string,
  ) {
    this.byName = new Map(steps.map((step) => [step.name, step]));
  }

  /** Validates and builds; throws `PipelineDefinitionError` listing every problem. */
  static from(spec: PipelineSpec): PipelineGraph {
    const { steps, problems } = buildSteps(spec);
    if (problems.length > 0) throw new PipelineDefinitionError(spec.name, problems);
    return new PipelineGraph(spec.name, steps, finalStepOf(steps));
  }

  step(name: string): GraphStep {
    const step = this.byName.get(name);
    if (!step) throw new Error(`Pipeline '${this.name}' has no step '${name}'`);
    return step;
  }

  /** A topological order of all steps, ties broken by definition order. */
  order(): string[] {
    const done = new Set<string>();
    const order: string[] = [];
    while (order.length < this.steps.length) {
      const next = this.steps.find((step) => !done.has(step.name) && step.prerequisites.every((p) => done.has(p)))!;
      done.add(next.name);
      order.push(next.name);
    }
    return order;
  }

  /**
   * Pending steps whose prerequisites have all settled (completed or skipped), in definition
   * order: the steps to decide (run or skip) next.
   */
  ready(statusOf: (step: string) => StepStatus): GraphStep[] {
    return this.steps.filter(
      (step) =>
        statusOf(step.name) === 'pending' &&
        step.prerequisites.every((name) => {
          const status = statusOf(name);
          return status === 'completed' || status === 'skipped';
        }),
    );
  }

  /** The normalized definition, as stored with a run. */
  toSpec(): PipelineSpec {
    return {
      name: this.name,
      steps: this.steps.map((step) => ({
        name: step.name,
        agent: step.agent,
        ...(step.input !== undefined ? { input: step.input } : {}),
        depends_on: [...step.dependsOn],
        ...(step.when ? { when: step.when.source } : {}),
      })),
    };
  }
}

/**
 * Every problem of a pipeline definition (empty when valid). Definitions loaded from files are
 * refused with positions by the definitions validator first; this guards stored runs and specs
 * given in code.
 */
export function validatePipeline(spec: PipelineSpec): string[] {
  return buildSteps(spec).problems;
}

export function normalizeDependsOn(value: PipelineStepSpec['depends_on']): string[] {
  if (value === undefined) return [];
  return typeof value === 'string' ? [value] : [...value];
}

/** The last-declared step that no other step depends on (docs/api.md §7.3). */
export function finalStepOf(steps: readonly { name: string; dependsOn: readonly string[] }[]): string {
  const dependedOn = new Set(steps.flatMap((step) => step.dependsOn));
  for (let i = steps.length - 1; i >= 0; i--) {
    if (!dependedOn.has(steps[i].name)) return steps[i].name;
  }
  // Only reachable with a cycle, which validation rejects.
  return steps[steps.length - 1].name;
}

/** True when a step `input` holds a placeholder and is therefore sent rendered. */
export function hasPlaceholders(template: string): boolean {
  return placeholders(template).some((placeholder) => stepInputKey(placeholder.key) !== undefined);
}

export interface StepInputContext {
  /** The run's input. */
  input: string;
  /** The stored output of a step, or null/undefined when it has none (skipped, not run). */
  outputOf(step: string): string | null | undefined;
}

/**
 * Fills `{{input}}` and `{{steps.<name>.output}}` in one pass: text coming from outputs is
 * never expanded again. A step without output renders as the empty string.
 */
export function renderTemplate(template: string, context: StepInputContext): string {
  return render(template, (key) => {
    const read = stepInputKey(key);
    if (read === undefined) return undefined;
    return read.kind === 'input' ? context.input : (context.outputOf(read.step) ?? '');
  });
}

/**
 * The input a step is sent (docs/api.md §7.4): its rendered template when its `input` has
 * placeholders; else the run input for a root step, the output of its one dependency, or the
 * outputs of several dependencies in `depends_on` order, each under a `## <step>` heading.
 * Dependencies without output (skipped) are left out; when none has output the step gets the
 * run input.
 */
export function stepInput(
  step: { input?: string; dependsOn: readonly string[] },
  context: StepInputContext,
): string {
  if (step.input !== undefined && hasPlaceholders(step.input)) return renderTemplate(step.input, context);
  const outputs = step.dependsOn
    .map((name) => ({ name, output: context.outputOf(name) }))
    .filter((entry): entry is { name: string; output: string } => typeof entry.output === 'string');
  if (outputs.length === 0) return context.input;
  if (step.dependsOn.length === 1) return outputs[0].output;
  return outputs.map(({ name, output }) => `## ${name}\n\n${output}`).join('\n\n');
}

function buildSteps(spec: PipelineSpec): { steps: GraphStep[]; problems: string[] } {
  const problems: string[] = [];
  // Stored run definitions come back from the database: do not trust their shape.
  const specs: readonly PipelineStepSpec[] = Array.isArray(spec.steps) ? (spec.steps as readonly PipelineStepSpec[]) : [];
  if (specs.length === 0) problems.push('a pipeline needs at least one step');
  const names = new Set<string>();
  for (const step of specs) {
    if (typeof step.name !== 'string' || step.name === '') problems.push('every step needs a name');
    else if (names.has(step.name)) problems.push(`step '${step.name}' is declared twice`);
    names.add(step.name);
    if (typeof step.agent !== 'string' || step.agent === '') problems.push(`step '${step.name}' has no agent`);
  }

  const steps = specs.map((step, position): GraphStep => {
    const dependsOn = normalizeDependsOn(step.depends_on);
    for (const dependency of dependsOn) {
      if (!names.has(dependency)) problems.push(`step '${step.name}' depends on unknown step '${dependency}'`);
    }
    if (new Set(dependsOn).size !== dependsOn.length) problems.push(`step '${step.name}' lists a dependency twice`);
    let when: WhenExpression | undefined;
    if (step.when !== undefined) {
      try {
        when = parseWhen(step.when);
      } catch (error) {
        if (!(error instanceof WhenSyntaxError)) throw error;
        problems.push(`step '${step.name}': invalid when condition: ${error.message}`);
      }
    }
    const references = [...(when?.references ?? []), ...(step.input !== undefined ? stepInputReferences(step.input) : [])];
    for (const reference of references) {
      if (!names.has(reference)) problems.push(`step '${step.name}' refers to unknown step '${reference}'`);
    }
    const prerequisites = [...new Set([...dependsOn, ...references])].filter((name) => names.has(name));
    return {
      name: step.name,
      agent: step.agent,
      position,
      ...(step.input !== undefined ? { input: step.input } : {}),
      dependsOn,
      ...(when ? { when } : {}),
      prerequisites,
    };
  });

  const index = new Map(steps.map((step, position) => [step.name, position]));
  const [cycle] = findCycles(steps.map((step) => step.prerequisites.map((name) => index.get(name))));
  if (cycle) problems.push(`dependency cycle: ${cycle.path.map((position) => steps[position].name).join(' -> ')}`);
  return { steps, problems };
}
