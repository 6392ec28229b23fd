import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkWhen, parseWhen, WhenSyntaxError, type WhenContext } from './expressions.js';

const context: WhenContext = {
  input: 'Please refund order 42',
  steps: {
    classify: { output: 'billing\n', status: 'completed' },
    score: { output: ' 7 ', status: 'completed' },
    flag: { output: 'true', status: 'completed' },
    'fact-check': { output: null, status: 'skipped' },
    '2nd': { output: 'second', status: 'completed' },
  },
};

const holds = (source: string, ctx: WhenContext = context) => parseWhen(source).evaluate(ctx);

describe('when expressions: evaluation', () => {
  it.each([
    ["steps.classify.output == 'billing'", true],
    ['steps.classify.output == "billing"', true],
    ["steps.classify.output != 'billing'", false],
    ["steps.classify.output == 'Billing'", false],
    ['steps.score.output > 5', true],
    ['steps.score.output >= 7', true],
    ['steps.score.output < 7', false],
    ['steps.score.output <= 6.5', false],
    ['steps.score.output == 7', true],
    ["'abc' < 'abd'", true],
    ['steps.flag.output == true', true],
    ['steps.flag.output == false', false],
    ["steps.fact-check.status == 'skipped'", true],
    ["steps.classify.status == 'completed' and steps.score.output > 3", true],
    ["steps.classify.status == 'failed' or steps.score.output > 3", true],
    ['not steps.score.output > 3', false],
    ['not (steps.score.output > 3 and false)', true],
    ['true or false and false', true],
    ['(true or false) and false', false],
    ["input contains 'refund'", true],
    ["contains(input, 'REFUND')", false],
    ["contains(lower(input), 'refund')", true],
    ["starts_with(input, 'Please')", true],
    ["ends_with(steps.classify.output, 'ing')", true],
    ['length(input) > 10', true],
    ["upper(trim(steps.classify.output)) == 'BILLING'", true],
    ["steps.2nd.output == 'second'", true],
    ['input', true],
    ['null', false],
    ["''", false],
    ['0', false],
    ['-1', true],
  ])('%s → %s', (source, expected) => {
    expect(holds(source)).toBe(expected);
  });

  it('treats missing values as null instead of throwing', () => {
    expect(holds("steps.fact-check.output == 'x'")).toBe(false);
    expect(holds('steps.fact-check.output == null')).toBe(true);
    expect(holds('steps.nowhere.output == null')).toBe(true);
    expect(holds("steps.nowhere.status == 'completed'")).toBe(false);
    expect(holds('steps.fact-check.output > 3')).toBe(false);
    expect(holds('steps.fact-check.output < 3')).toBe(false);
    expect(holds("contains(steps.nowhere.output, 'a')")).toBe(false);
    expect(holds('length(steps.nowhere.output) == 0')).toBe(true);
    expect(holds('not steps.nowhere.output')).toBe(true);
    expect(holds("steps.constructor.output == null or steps.__proto__.status == 'x'")).toBe(true);
  });

  it('compares mixed kinds without coercing nonsense', () => {
    expect(holds("steps.classify.output > 3")).toBe(false);
    expect(holds("steps.classify.output == 0")).toBe(false);
    expect(holds('true == 1')).toBe(false);
    expect(holds("'7' == 7")).toBe(true);
  });

  it('lists the steps a condition reads', () => {
    expect(parseWhen("steps.a.output == 'x' and (steps.b.status == 'completed' or steps.a.status == 'x')").references).toEqual([
      'a',
      'b',
    ]);
    expect(parseWhen("input contains 'x'").references).toEqual([]);
  });

  it('never throws while evaluating, whatever the context holds', () => {
    const value = fc.oneof(fc.string(), fc.constant(null));
    const status = fc.constantFrom('pending', 'running', 'completed', 'failed', 'skipped' as const);
    const arbitraryContext = fc.record({
      input: fc.string(),
      steps: fc.dictionary(fc.constantFrom('a', 'b', 'c'), fc.record({ output: value, status })),
    });
    const expressions = [
      "steps.a.output > steps.b.output or steps.c.status == 'completed'",
      "contains(steps.a.output, steps.b.output) and not length(steps.c.output) < 2",
      'steps.a.output == steps.b.output and steps.a.output <= 3.5',
      'upper(steps.a.output) != lower(input)',
    ].map(parseWhen);
    fc.assert(
      fc.property(arbitraryContext, (ctx) => {
        for (const expression of expressions) expect(typeof expression.evaluate(ctx as WhenContext)).toBe('boolean');
      }),
    );
  });
});

describe('when expressions: syntax errors', () => {
  it.each([
    ["steps.a.output = 'x'", "use '==' to compare", 16],
    ["steps.a.output == 'x' && true", "use 'and'", 23],
    ['steps.a.output || true', "use 'or'", 16],
    ['!true', "use 'not'", 1],
    ["steps.a.output == 'x", 'unterminated string', 19],
    ['steps.a.output ==', 'expected a value', 18],
    ['(true', "expected ')'", 6],
    ['steps.a == 1', "expected '.output' or '.status'", 9],
    ['steps.a.input == 1', "expected 'output' or 'status'", 9],
    ['steps == 1', "expected '.' after 'steps'", 7],
    ['1 < 2 < 3', 'cannot be chained', 7],
    ['output == 1', "unknown name 'output'", 1],
    ['exec(input)', "unknown function 'exec'", 1],
    ["contains(input)", 'contains() takes 2 arguments, got 1', 1],
    ['true false', "expected 'and', 'or' or the end", 6],
    ['', 'unexpected end of the condition', 1],
    ['input ; 1', "unexpected character ';'", 7],
    ['and', "unexpected 'and'", 1],
  ])('%s → %s at column %i', (source, reason, column) => {
    const error = checkWhen(source);
    expect(error).toBeInstanceOf(WhenSyntaxError);
    expect(error!.reason).toContain(reason);
    expect(error!.column).toBe(column);
    expect(error!.message).toBe(`${error!.reason} (column ${column})`);
  });

  it('accepts what it documents', () => {
    expect(checkWhen("not (steps.x.status == 'skipped') and contains(input, \"a\\\"b\")")).toBeUndefined();
  });

  it('refuses runaway nesting and length instead of overflowing', () => {
    expect(checkWhen(`${'('.repeat(200)}true${')'.repeat(200)}`)?.reason).toContain('nested too deeply');
    expect(checkWhen(`${'not '.repeat(200)}true`)?.reason).toContain('nested too deeply');
    expect(checkWhen(`input == '${'x'.repeat(5_000)}'`)?.reason).toContain('longer than');
  });

  it('only ever throws WhenSyntaxError while parsing arbitrary text', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...'steps.a output ( ) = ! < > \' " and or not 1 - , contains'.split('')) }), (source) => {
        try {
          parseWhen(source);
        } catch (error) {
          expect(error).toBeInstanceOf(WhenSyntaxError);
        }
      }),
    );
  });
});
