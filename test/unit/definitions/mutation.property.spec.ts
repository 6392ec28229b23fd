import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadDefinitions, memorySourceHost, type LoadResult } from '../../../src/definitions/index.js';
import { AGENTS_DIR, INVALID_DIR, VALID_DIR } from './fixtures.js';

const iasSeeds = [VALID_DIR, AGENTS_DIR, INVALID_DIR].flatMap((dir) =>
  readdirSync(dir)
    .filter((n) => n.endsWith('.ias'))
    .map((n) => readFileSync(join(dir, n), 'utf8')),
);
const modelSeeds = readdirSync(VALID_DIR)
  .filter((n) => n.endsWith('.golden.json'))
  .map((n) => (JSON.parse(readFileSync(join(VALID_DIR, n), 'utf8')) as { definitions: unknown }).definitions);

// Pieces that stress the grammar: brackets, quotes, operators it refuses, keywords, odd numbers.
const fragment = fc.constantFrom(
  '{', '}', '[', ']', '(', ')', '"', '"""', '\n', ' ', '=', ';', '&&', '||', '!', '#', '//', '\\', '-', '.', ':', ',',
  '==', '>=', 'agent', 'prompt "p"', 'skill', 'step "s" {', 'on input {', 'if x {', 'else', 'respond', 'for each',
  'import "./x.ias"', 'import "./"', 'package', '"name"', '0.5', '-1', '1.2.3', '99999999999999999999', 'true', '\uFEFF',
  'é', '😀', '\t', '\r', 'depends_on ["a"]', 'model "mock/echo"', 'tool mcp "a/b"', 'not not', '((((', '{{{{',
  'variables {', 'default', 'required', 'env { A 1 }', ': [', '- ', '{"a":', 'null', '~', '&anchor', '*anchor',
);

type Mutation =
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'insert'; at: number; text: string }
  | { kind: 'duplicate'; at: number; length: number; to: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 40 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: fc.oneof(fragment, fc.string({ maxLength: 6 })) }),
  fc.record({
    kind: fc.constant('duplicate' as const),
    at: fc.nat(),
    length: fc.integer({ min: 1, max: 80 }),
    to: fc.nat(),
  }),
);

function mutate(text: string, mutations: Mutation[]): string {
  let s = text;
  for (const m of mutations) {
    const at = m.at % (s.length + 1);
    if (m.kind === 'delete') s = s.slice(0, at) + s.slice(at + m.length);
    else if (m.kind === 'insert') s = s.slice(0, at) + m.text + s.slice(at);
    else {
      const to = m.to % (s.length + 1);
      s = s.slice(0, to) + s.slice(at, at + m.length) + s.slice(to);
    }
  }
  return s;
}

/** Loads one mutated file; the loader must answer (not throw), quickly, with well-formed diagnostics. */
async function loadChecked(path: string, text: string): Promise<LoadResult> {
  const host = memorySourceHost({ [path]: text });
  const started = performance.now();
  const result = await loadDefinitions(path, { host, cwd: '/m' });
  expect(performance.now() - started).toBeLessThan(2000);
  if (result.ok) {
    expect(typeof result.definitions.package.name).toBe('string');
    expect(() => JSON.stringify(result.definitions)).not.toThrow();
  } else {
    expect(result.diagnostics.some((d) => d.severity === 'error')).toBe(true);
    for (const d of result.diagnostics) {
      expect(d.line).toBeGreaterThanOrEqual(1);
      expect(d.column).toBeGreaterThanOrEqual(1);
      expect(d.message.length).toBeGreaterThan(0);
    }
  }
  return result;
}

describe('loader on randomly damaged input', () => {
  it('has seeds to mutate', () => {
    expect(iasSeeds.length).toBeGreaterThan(40);
    expect(modelSeeds.length).toBeGreaterThan(5);
  });

  it('only ever returns results for mutated .ias files', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...iasSeeds), fc.array(mutation, { minLength: 1, maxLength: 8 }), async (seed, ms) => {
        await loadChecked('/m/x.ias', mutate(seed, ms));
      }),
      { numRuns: 400 },
    );
  }, 60_000);

  it('only ever returns results for mutated JSON and YAML models', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...modelSeeds),
        fc.boolean(),
        fc.array(mutation, { minLength: 1, maxLength: 6 }),
        async (model, asYaml, ms) => {
          const text = asYaml ? stringify(model) : JSON.stringify(model, null, 2);
          await loadChecked(asYaml ? '/m/x.yaml' : '/m/x.json', mutate(text, ms));
        },
      ),
      { numRuns: 250 },
    );
  }, 60_000);

  it('survives deep nesting without exhausting the stack', async () => {
    const deep = `package "d" version "1.0.0" lang "2.0"\nstate "s" { a ${'{ b '.repeat(5000)} }\n`;
    const result = await loadChecked('/m/deep.ias', deep);
    expect(result.ok).toBe(false);
    const conditions = `package "d" version "1.0.0" lang "3.0"\nagent "a" { on input { if ${'('.repeat(3000)}x { } } }\n`;
    expect((await loadChecked('/m/cond.ias', conditions)).ok).toBe(false);
  });
});
