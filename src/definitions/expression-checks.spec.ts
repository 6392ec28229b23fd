import { describe, expect, it } from 'vitest';
import { formatDiagnostics } from './diagnostics.js';
import { compileExpression } from './expressions.js';
import { loadDefinitions, memorySourceHost } from './loader.js';
import type { Agent } from './model.js';

const HEADER =
  'package "x" version "1.0.0" lang "3.0"\nprompt "p" { content "x" }\nskill "s" { tool http { url "https://example.com" } }\n';

async function load(body: string, file = '/m/main.ias'): Promise<{ errors: string[]; agents: Agent[] }> {
  const result = await loadDefinitions(file, { host: memorySourceHost({ [file]: `${HEADER}${body}` }), cwd: '/m' });
  const diagnostics = result.ok ? result.warnings : result.diagnostics;
  const errors = formatDiagnostics(diagnostics.filter((d) => d.severity === 'error'))
    .split('\n')
    .filter(Boolean);
  return { errors, agents: result.ok ? result.definitions.agents : [] };
}

function agent(inner: string): string {
  return `agent "a" {\n  uses prompt "p"\n  uses skill "s"\n  model "mock/echo"\n${inner}\n}\n`;
}

describe('expressions in .ias files: checked at load, at their position', () => {
  it('loads the spellings of the published examples, and keeps canonical text', async () => {
    const { errors, agents } = await load(
      agent(
        [
          '  validate {',
          '    rule not_empty error "Empty" when output != ""',
          '    rule long warning when output.length > 10',
          '  }',
          '  on input {',
          '    if input contains "urgent" { respond "Escalating." }',
          '    else if len(input) > 100 { respond "Too long." }',
          '    else if contains ( lower ( input.message ) , "billing" ) { use skill s with { q: input.text } }',
          '    else if input == "hello" || startsWith(input, "hi") && !endsWith(input, "?") { respond upper(input) }',
          '    for each word in split(input, " ") { use skill s with { w: word, n: len(word) } }',
          '  }',
        ].join('\n'),
      ),
    );
    expect(errors).toEqual([]);
    const [a] = agents;
    expect(a.validate.map((r) => r.when)).toEqual(['output != ""', 'output.length > 10']);
    const first = a.on_input?.[0];
    expect(first?.kind === 'if' ? first.branches.map((b) => b.condition) : []).toEqual([
      'input contains "urgent"',
      'length(input) > 100',
      'contains(lower(input.message), "billing")',
      'input == "hello" or starts_with(input, "hi") and not ends_with(input, "?")',
    ]);
    // The canonical text compiles to the same meaning as what was written.
    const condition = first?.kind === 'if' ? first.branches[3].condition : '';
    expect(compileExpression(condition, 'condition').test({ input: 'hi there' })).toBe(true);
    expect(compileExpression(condition, 'condition').test({ input: 'hi?' })).toBe(false);
    expect(a.on_input?.[1]).toMatchObject({ kind: 'for_each', variable: 'word', collection: 'split(input, " ")' });
  });

  it('reports each problem at its token, with the place it is in', async () => {
    const source = agent(
      [
        '  config { tone string default "calm" }', //                                            line 8
        '  validate {',
        '    rule r error when output matches "([a-z]"', //                                        line 10
        '    rule q error when steps.x.output == ""',
        '  }',
        '  on input {',
        '    if output != "" { respond "x" }', //                                                  line 14
        '    else if lower(input) == config.tones { respond "y" }',
        '    for each item in split(input, ",") { respond item }',
        '    respond item',
        '    use skill s with { a: inpt.text, b: input.kind }',
        '    if input matches input { respond "z" }',
        '    for each input in split(input, ",") { respond "w" }',
        '  }',
      ].join('\n'),
    );
    expect((await load(source)).errors).toEqual([
      'main.ias:10:38: error: invalid when condition of validate rule "r" of agent "a": invalid pattern: missing closing ): `([a-z]`',
      'main.ias:11:23: error: invalid when condition of validate rule "q" of agent "a": \'steps\' cannot be read in a validate rule, only in pipeline when conditions',
      'main.ias:14:8: error: invalid if condition in the on input block of agent "a": \'output\' cannot be read in an on input condition, only in validate rules (the answer being checked)',
      'main.ias:15:29: error: the else if condition in the on input block of agent "a" reads config.tones, which is not a config parameter of agent "a"',
      '  hint: did you mean "tone"?',
      'main.ias:17:13: error: invalid respond expression in the on input block of agent "a": unknown name \'item\': expected input, session, config, a literal or a function',
      'main.ias:18:27: error: invalid value of "a" for skill "s" in the on input block of agent "a": unknown name \'inpt\': expected input, session, config, a literal or a function',
      '  hint: did you mean "input"?',
      'main.ias:18:47: error: invalid value of "b" for skill "s" in the on input block of agent "a": unexpected field \'kind\': \'input\' is text: it has .message, .text and .length',
      'main.ias:19:22: error: invalid if condition in the on input block of agent "a": the pattern of matches must be a string literal',
      'main.ias:20:14: error: the loop variable cannot be named "input": it is a name of the expression language',
      '  hint: choose another name, e.g. item',
    ]);
  });

  it('refuses 10,000 levels of nesting as a load error, not a stack overflow', async () => {
    const deep = `${'('.repeat(10_000)}input${')'.repeat(10_000)}`;
    const { errors } = await load(agent(`  on input {\n    if ${deep} { respond "x" }\n  }`));
    expect(errors[0]).toBe('main.ias:9:71: error: nesting is deeper than 64 levels');
    const nots = await load(agent(`  validate {\n    rule r error when ${'!'.repeat(10_000)}output\n  }`));
    expect(nots.errors[0]).toMatch(/^main\.ias:9:\d+: error: nesting is deeper than 64 levels$/);
  });

  it('points into a pipeline when string written without escapes, and gives the column otherwise', async () => {
    const source = [
      'agent "a" { uses prompt "p" model "mock/echo" }',
      'pipeline "pl" {',
      '  step "one" { agent "a" }',
      `  step "two" { agent "a" when "steps.one.output contains 'x' and config.y" }`,
      '  step "three" { agent "a" when "steps.one.output == \\"x\\" and outputt" }',
      '}',
    ].join('\n');
    expect((await load(source)).errors).toEqual([
      'main.ias:7:66: error: invalid when condition of step "two" of pipeline "pl": \'config\' cannot be read in a pipeline when condition, only in on input and validate expressions',
      'main.ias:8:33: error: invalid when condition of step "three" of pipeline "pl": unknown name \'outputt\': expected input, steps.<name>.output, steps.<name>.status, a literal or a function (column 29 of the condition)',
    ]);
  });

  it('checks the expressions of JSON documents too, with the column in the expression', async () => {
    const doc = {
      package: { name: 'x', version: '1.0.0', lang: '3.0' },
      prompts: [{ name: 'p', content: 'x' }],
      agents: [
        {
          name: 'a',
          prompt: 'p',
          model: 'mock/echo',
          on_input: [{ kind: 'if', branches: [{ condition: 'input == "a" and output', body: [] }] }],
        },
      ],
    };
    const file = '/m/doc.json';
    const result = await loadDefinitions(file, { host: memorySourceHost({ [file]: JSON.stringify(doc, null, 2) }), cwd: '/m' });
    expect(result.ok).toBe(false);
    const messages = formatDiagnostics(result.ok ? [] : result.diagnostics.filter((d) => d.severity === 'error'));
    expect(messages).toMatch(
      /^doc\.json:\d+:\d+: error: invalid if condition in the on input block of agent "a": 'output' cannot be read in an on input condition, only in validate rules \(the answer being checked\) \(column 18 of the expression\)$/,
    );
  });
});
