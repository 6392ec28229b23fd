import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checkExpression,
  checkWhen,
  compileExpression,
  ExpressionSyntaxError,
  MAX_EXPRESSION_DEPTH,
  MAX_EXPRESSION_LENGTH,
  MAX_LIST_LENGTH,
  MAX_TEXT_LENGTH,
  parseWhen,
  valueToText,
  WhenSyntaxError,
  type ExpressionPlace,
  type ExprContext,
  type ExprValue,
  type WhenContext,
} from './expressions.js';

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
    ["steps.classify.status == 'completed' && steps.score.output > 3", true],
    ['false || steps.score.output > 3', true],
    ['!false', true],
    ['!(steps.score.output > 3)', false],
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
    expect(holds('steps.classify.output > 3')).toBe(false);
    expect(holds('steps.classify.output == 0')).toBe(false);
    expect(holds('true == 1')).toBe(false);
    expect(holds("'7' == 7")).toBe(true);
  });

  it('lists the steps a condition reads', () => {
    expect(parseWhen("steps.a.output == 'x' and (steps.b.status == 'completed' or steps.a.status == 'x')").references).toEqual(['a', 'b']);
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
      'contains(steps.a.output, steps.b.output) and not length(steps.c.output) < 2',
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
    ["steps.a.output == 'x' & true", "use 'and' or '&&'", 23],
    ['steps.a.output | true', "use 'or' or '||'", 16],
    ["steps.a.output == 'x", 'unterminated string', 19],
    ['steps.a.output ==', 'expected a value', 18],
    ['(true', "expected ')'", 6],
    ['steps.a == 1', "expected '.output' or '.status'", 9],
    ['steps.a.input == 1', "expected 'output' or 'status'", 9],
    ['steps == 1', "expected '.' after 'steps'", 7],
    ['1 < 2 < 3', 'cannot be chained', 7],
    ['output == 1', "'output' cannot be read in a pipeline when condition", 1],
    ['session.id == 1', "'session' cannot be read in a pipeline when condition", 1],
    ['exec(input)', "unknown function 'exec'", 1],
    ['contains(input)', 'contains() takes 2 arguments, got 1', 1],
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
    expect(checkWhen('not (steps.x.status == \'skipped\') and contains(input, "a\\"b")')).toBeUndefined();
  });

  it('refuses runaway nesting and length instead of overflowing', () => {
    expect(checkWhen(`${'('.repeat(200)}true${')'.repeat(200)}`)?.reason).toContain('nested too deeply');
    expect(checkWhen(`${'not '.repeat(200)}true`)?.reason).toContain('nested too deeply');
    expect(checkWhen(`input == '${'x'.repeat(5_000)}'`)?.reason).toContain('longer than');
  });

  it('only ever throws WhenSyntaxError while parsing arbitrary text', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom(...'steps.a output ( ) = ! < > \' " and or not 1 - , contains'.split('')) }),
        (source) => {
          try {
            parseWhen(source);
          } catch (error) {
            expect(error).toBeInstanceOf(WhenSyntaxError);
          }
        },
      ),
    );
  });
});

describe('the expression language', () => {
  const ctx: ExprContext = {
    input: 'Please refund order 42, urgently',
    output: 'Your refund is on its way.\n',
    session: { id: 'sess-1', turn: 3, metadata: { tier: 'gold', lang: 'fr' } },
    config: { company: 'Acme', retries: 3, verbose: false },
    vars: { item: ' b ', items: ['a', 'b'] },
  };
  const value = (source: string, where: ExpressionPlace = 'validate', c: ExprContext = ctx) =>
    compileExpression(source, where, { variables: where === 'value' || where === 'condition' ? ['item', 'items'] : [] }).evaluate(c);

  it.each([
    ['input contains "refund"', true],
    ['contains(input, "refund")', true],
    ['"refund" in input', true],
    ['"x" in input', false],
    ['input starts_with "Please"', true],
    ['input startsWith "Please"', true],
    ['starts_with(input, "Please")', true],
    ['startsWith(input, "please")', false],
    ['input ends_with "urgently"', true],
    ['endsWith(input, "urgently")', true],
    ['input matches "order [0-9]+"', true],
    ['matches(input, "^refund")', false],
    ['input == "x" || output != ""', true],
    ['input == "x" or output != ""', true],
    ['output != "" && len(input) > 10', true],
    ['not (input == "x")', true],
    ['!input', false],
    ['len(input) > 10 and len(input) < 100', true],
    ['length(output) == 27', true],
    ['output.length == 27', true],
    ['input.message == input.text', true],
    ['input.text.length > 100', false],
    ['lower(input) contains "please"', true],
    ['upper(trim(output)) == "YOUR REFUND IS ON ITS WAY."', true],
    ['session.id == "sess-1"', true],
    ['session.turn >= 3', true],
    ['session.metadata.tier == "gold"', true],
    ['session.metadata.missing == null', true],
    ['config.retries == 3', true],
    ['config.company == "Acme" and not config.verbose', true],
    ['config.unset == null', true],
    ['"b" in ["a", "b"]', true],
    ['["a", "b"] contains "c"', false],
    ['len(["a", "b", "c"]) == 3', true],
    ['[1, 2] == [1, 2]', true],
    ['[1, 2] == [2, 1]', false],
    ['[] == []', true],
    ['split("a,b,c", ",") == ["a", "b", "c"]', true],
    ['len(split(input, " "))', 5],
    ['lower("ABC")', 'abc'],
    ['1 == 1 and 2 == 2 or false', true],
    ['false and false or true', true],
    ['false and (false or true)', false],
    ['not false and false', false],
    ['"\\u0041\\n" == "A"', true],
  ] as const)('%s → %j', (source, expected) => {
    expect(value(source)).toEqual(expected);
  });

  it('reads loop variables and lists where they are in scope', () => {
    expect(value('item == "b"', 'value')).toBe(true);
    expect(value('"a" in items', 'condition')).toBe(true);
    expect(value('items', 'value')).toEqual(['a', 'b']);
    expect(value('len(items) == 2', 'condition')).toBe(true);
  });

  it('reads null for what the context does not have, and never a prototype', () => {
    const bare: ExprContext = { input: 'x' };
    expect(value('session.id', 'validate', bare)).toBeNull();
    expect(value('session.metadata.tier', 'validate', bare)).toBeNull();
    expect(value('output', 'validate', bare)).toBeNull();
    expect(value('config.retries', 'validate', bare)).toBeNull();
    const hostile: ExprContext = {
      input: 'x',
      session: { id: 's', turn: 1, metadata: JSON.parse('{"__proto__": "polluted", "constructor": "c"}') as Record<string, string> },
      config: JSON.parse('{"__proto__": 1}') as Record<string, number>,
    };
    expect(value('session.metadata.__proto__', 'validate', hostile)).toBeNull();
    expect(value('session.metadata.constructor', 'validate', hostile)).toBeNull();
    expect(value('session.metadata.toString', 'validate', hostile)).toBeNull();
    expect(value('config.__proto__', 'validate', hostile)).toBeNull();
    expect(value('config.constructor', 'validate', hostile)).toBeNull();
    expect(compileExpression('steps.__proto__.output', 'when').evaluate({ input: '', steps: {} })).toBeNull();
  });

  it('follows its rules for mixed kinds instead of throwing', () => {
    expect(value('[1] < 2')).toBe(false);
    expect(value('null < 1')).toBe(false);
    expect(value('"abc" > 1')).toBe(false);
    expect(value('true == "true"')).toBe(true);
    expect(value('lower([1])')).toBeNull();
    expect(value('len(null)')).toBe(0);
    expect(value('split(null, ",")')).toEqual([]);
    expect(value('[1, 2] contains 2')).toBe(true);
    expect(value('null in [null]')).toBe(true);
    expect(value('"a" in null')).toBe(false);
    expect(value('[["a"]] contains ["a"]')).toBe(true);
  });

  it('turns values into text for respond and skill arguments', () => {
    expect([valueToText('a'), valueToText(2), valueToText(false), valueToText(null), valueToText(['a', 1])]).toEqual([
      'a',
      '2',
      'false',
      '',
      '["a",1]',
    ]);
  });

  it('bounds lists and text', () => {
    const many = { input: 'x,'.repeat(5_000) };
    expect(value('len(split(input, ","))', 'validate', many)).toBe(MAX_LIST_LENGTH);
    expect(value('len(split(input, ""))', 'validate', many)).toBe(MAX_LIST_LENGTH);
    expect(value('len(input)', 'validate', { input: 'y'.repeat(MAX_TEXT_LENGTH + 10) })).toBe(MAX_TEXT_LENGTH);
    const long = { input: 'x', vars: { item: Array.from({ length: 5_000 }, (_, i) => i) } };
    expect(value('len(item)', 'value', long)).toBe(MAX_LIST_LENGTH);
    expect(checkExpression(`[${'1,'.repeat(1_100)}1]`, 'value')?.reason).toContain(`at most ${MAX_LIST_LENGTH} items`);
  });

  it('decides what each place may read', () => {
    expect(checkExpression('output != ""', 'validate')).toBeUndefined();
    expect(checkExpression('output != ""', 'condition')?.reason).toBe(
      "'output' cannot be read in an on input condition, only in validate rules (the answer being checked)",
    );
    expect(checkExpression('output', 'value')?.reason).toContain("'output' cannot be read in an on input expression");
    expect(checkExpression("steps.a.output == 'x'", 'validate')?.reason).toContain(
      "'steps' cannot be read in a validate rule, only in pipeline when conditions",
    );
    expect(checkExpression('config.x', 'when')?.reason).toContain("'config' cannot be read in a pipeline when condition");
    expect(checkExpression('item', 'validate')?.reason).toContain("unknown name 'item'");
    expect(checkExpression('item', 'value', { variables: ['item'] })).toBeUndefined();
    const typo = checkExpression('inpt == "x"', 'condition');
    expect(typo?.hint).toBe('did you mean "input"?');
    expect(compileExpression('config.a == config.b or config.a', 'condition').config).toEqual(['a', 'b']);
    expect(compileExpression('steps.x.output == steps.y.status', 'when').steps).toEqual(['x', 'y']);
  });

  it.each([
    ['input.kind == "x"', "unexpected field 'kind'", 7],
    ['session.user', "unknown field 'session.user'", 9],
    ['session == null', "expected '.' after 'session'", 9],
    ['config', "expected '.' after 'config'", 7],
    ['matches(input, "[")', 'invalid pattern: missing closing ]', 16],
    ['input matches "(?=x)"', 'invalid pattern', 15],
    ['input matches lower("x")', 'the pattern of matches must be a string literal', 15],
    ['matches(input, input)', 'the pattern of matches must be a string literal', 16],
    ['split(input)', 'split() takes 2 arguments, got 1', 1],
    ['len()', 'len() takes 1 argument, got 0', 1],
    ['contains', "unexpected 'contains': expected a value", 1],
    ['input in', 'expected a value', 9],
    ['[1, 2', "expected ',' or ']' in the list", 6],
    ['input contains "a" contains "b"', 'cannot be chained', 20],
    ['input = "a"', "use '==' to compare", 7],
  ])('%s → %s at column %i', (source, reason, column) => {
    const error = checkExpression(source, 'condition');
    expect(error).toBeInstanceOf(ExpressionSyntaxError);
    expect(error!.reason).toContain(reason);
    expect(error!.column).toBe(column);
  });

  it('refuses deep nesting and long sources at compile time, without overflowing the stack', () => {
    for (const source of [
      `${'('.repeat(10_000)}input${')'.repeat(10_000)}`,
      `${'!'.repeat(10_000)}input`,
      `${'['.repeat(10_000)}${']'.repeat(10_000)}`,
      `${'lower('.repeat(10_000)}input${')'.repeat(10_000)}`,
    ]) {
      expect(checkExpression(source, 'condition')?.reason).toContain('longer than');
    }
    expect(
      checkExpression(`${'('.repeat(MAX_EXPRESSION_DEPTH + 1)}input${')'.repeat(MAX_EXPRESSION_DEPTH + 1)}`, 'condition')?.reason,
    ).toContain('nested too deeply');
    expect(checkExpression(`${'['.repeat(MAX_EXPRESSION_DEPTH + 1)}${']'.repeat(MAX_EXPRESSION_DEPTH + 1)}`, 'value')?.reason).toContain(
      'nested too deeply',
    );
    expect(
      checkExpression(`${'lower('.repeat(MAX_EXPRESSION_DEPTH + 1)}input${')'.repeat(MAX_EXPRESSION_DEPTH + 1)}`, 'value')?.reason,
    ).toContain('nested too deeply');
    expect(
      checkExpression(`${'('.repeat(MAX_EXPRESSION_DEPTH - 1)}input${')'.repeat(MAX_EXPRESSION_DEPTH - 1)}`, 'condition'),
    ).toBeUndefined();
    expect(MAX_EXPRESSION_LENGTH).toBe(4_096);
  });

  it('only ever throws ExpressionSyntaxError while compiling, and never throws while evaluating', () => {
    const pieces = 'input output session config steps item . ( ) [ ] , " \' = ! & | < > and or not in contains matches len split 1 -'.split(
      ' ',
    );
    const arbitraryContext = fc.record({
      input: fc.string(),
      output: fc.option(fc.string(), { nil: undefined }),
      session: fc.option(fc.record({ id: fc.string(), turn: fc.integer(), metadata: fc.dictionary(fc.string(), fc.string()) }), {
        nil: null,
      }),
      config: fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.double(), fc.boolean())),
      vars: fc.record({ item: fc.jsonValue() as fc.Arbitrary<ExprValue> }),
    });
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...pieces), { maxLength: 12 }), arbitraryContext, (tokens, c) => {
        for (const where of ['condition', 'validate', 'value'] as const) {
          let compiled;
          try {
            compiled = compileExpression(tokens.join(' '), where, { variables: ['item'] });
          } catch (error) {
            expect(error).toBeInstanceOf(ExpressionSyntaxError);
            continue;
          }
          expect(typeof compiled.test(c as ExprContext)).toBe('boolean');
        }
      }),
    );
  });
});
