import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { runDefinitionsCli } from '../../../scripts/definitions-cli.js';
import { formatDiagnostics, loadDefinitions, memorySourceHost, type Definitions } from '../../../src/definitions/index.js';
import { PipelineGraph, validatePipeline } from '../../../src/pipelines/pipeline-graph.js';
import { toSpec } from '../../../src/pipelines/pipeline-spec.js';
import { modelRefProblem } from '../../../src/providers/provider-registry.js';
import { AGENTS_DIR, INVALID_DIR, VALID_DIR, fixtureEntries } from './fixtures.js';

/** What the server checks of loaded definitions before it starts serving them. */
function startProblems(definitions: Definitions): string[] {
  const problems: string[] = [];
  for (const agent of definitions.agents) {
    for (const model of agent.models) {
      const problem = modelRefProblem(model);
      if (problem) problems.push(`agent "${agent.name}": ${problem}`);
    }
  }
  for (const pipeline of definitions.pipelines) {
    for (const problem of validatePipeline(toSpec(pipeline))) problems.push(`pipeline "${pipeline.name}": ${problem}`);
  }
  return problems;
}

describe('check refuses what start refuses', () => {
  it.each(fixtureEntries(INVALID_DIR))('check exits 1 on invalid/$name, each error with a position', async ({ path }) => {
    let err = '';
    const code = await runDefinitionsCli(['check', path], { out: () => undefined, err: (t) => (err += t), cwd: INVALID_DIR });
    expect(code).toBe(1);
    const errors = err.split('\n').filter((line) => line.includes(': error: '));
    expect(errors.length).toBeGreaterThan(0);
    for (const line of errors) expect(line).toMatch(/^[^:]+:\d+:\d+: error: /);
  });

  it.each([...fixtureEntries(VALID_DIR), { name: 'agents', path: AGENTS_DIR }])(
    'valid/$name loads, and nothing checked at start finds fault with it',
    async ({ path }) => {
      const result = await loadDefinitions(path, { cwd: VALID_DIR });
      if (!result.ok) throw new Error(formatDiagnostics(result.diagnostics));
      expect(startProblems(result.definitions)).toEqual([]);
      for (const pipeline of result.definitions.pipelines) expect(() => PipelineGraph.from(toSpec(pipeline))).not.toThrow();
    },
  );

  it('holds for generated pipelines and models: whatever start would refuse, the loader refuses', async () => {
    const names = ['a', 'b', 'c'];
    // Mostly well-formed (steps reading only earlier steps), so that both outcomes are common.
    const mostly = <T>(good: T[], bad: T[]): fc.Arbitrary<T> =>
      fc.oneof({ arbitrary: fc.constantFrom(...good), weight: 4 }, { arbitrary: fc.constantFrom(...bad), weight: 1 });
    const seed = fc.record({
      name: mostly(names, ['']),
      when: fc.option(
        mostly(
          ["steps.$R.output == 'x'", "steps.$R.status == 'completed' and length(input) > 2", "input contains 'x'"],
          ["steps.ghost.output == 'x'", 'steps.$R.output = 1', 'input.length > 10', ''],
        ),
        { nil: undefined, freq: 2 },
      ),
      input: fc.option(mostly(['{{input}}', '{{steps.$R.output}}', '{{name}} {{ steps.$R.output }}'], ['{{steps.ghost.output}}']), {
        nil: undefined,
        freq: 2,
      }),
      dependsOn: fc.array(fc.nat(), { maxLength: 2 }),
      pick: fc.nat(),
      anywhere: mostly([false], [true]),
    });
    const pipelineSteps = fc
      .oneof(
        { arbitrary: fc.uniqueArray(seed, { selector: (s) => s.name, minLength: 1, maxLength: 3 }), weight: 4 },
        { arbitrary: fc.array(seed, { minLength: 1, maxLength: 4 }), weight: 1 },
      )
      .map((seeds) =>
        seeds.map((s, i): GeneratedStep => {
          const pool = s.anywhere ? [...names, 'ghost'] : seeds.slice(0, i).map((earlier) => earlier.name);
          const fill = (text: string | undefined): string | undefined =>
            text === undefined || !text.includes('$R') ? text : pool.length > 0 ? text.replaceAll('$R', pool[s.pick % pool.length]) : undefined;
          return {
            name: s.name,
            when: fill(s.when),
            input: fill(s.input),
            dependsOn: pool.length > 0 ? s.dependsOn.map((n) => pool[n % pool.length]) : [],
          };
        }),
      );
    const model = mostly(['mock/echo', 'gpt-4o', 'claude-haiku-4-5', 'o3-mini'], ['llama3', 'azure/x', 'openai/', 'mock/echo?latency=soon']);
    let refusedAtStart = 0;
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(pipelineSteps, model, async (steps, m) => {
        const host = memorySourceHost({ '/g/main.ias': source(steps, m) });
        const result = await loadDefinitions('/g/main.ias', { host, cwd: '/g' });
        const spec = { name: 'g', steps: steps.map((s) => ({ name: s.name, agent: 'x', when: s.when, input: s.input, depends_on: s.dependsOn })) };
        if (validatePipeline(spec).length > 0 || modelRefProblem(m) !== undefined) {
          refusedAtStart++;
          expect(result.ok).toBe(false);
        }
        if (result.ok) {
          accepted++;
          expect(startProblems(result.definitions)).toEqual([]);
        }
      }),
      { numRuns: 400 },
    );
    expect(refusedAtStart).toBeGreaterThan(40);
    expect(accepted).toBeGreaterThan(40);
  });
});

interface GeneratedStep {
  name: string;
  when?: string;
  input?: string;
  dependsOn: string[];
}

function source(steps: GeneratedStep[], model: string): string {
  const stepLine = (s: GeneratedStep): string =>
    `  step "${s.name}" { agent "x"` +
    (s.when !== undefined ? ` when "${s.when}"` : '') +
    (s.input !== undefined ? ` input "${s.input}"` : '') +
    (s.dependsOn.length > 0 ? ` depends_on [${s.dependsOn.map((d) => `"${d}"`).join(', ')}]` : '') +
    ' }';
  return [
    'package "g" version "1.0.0" lang "2.0"',
    'prompt "p" { content "x" }',
    `agent "x" { uses prompt "p" model "${model}" }`,
    'pipeline "g" {',
    ...steps.map(stepLine),
    '}',
  ].join('\n');
}
