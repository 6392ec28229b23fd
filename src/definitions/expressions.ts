import { RE2JS, RE2JSException } from 're2js';
import { didYouMean } from './diagnostics.js';

/**
 * The one expression language of the definitions: `on input` conditions and values (`if`,
 * `for each … in`, `respond`, `use skill … with`), `validate` rules (`when`) and pipeline step
 * `when`. Parsed into a tree when the definitions load and interpreted; nothing is ever handed
 * to `eval` or `Function`. docs/definitions.md ("Conditions") is the user's description.
 *
 * Grammar (whitespace between tokens is free; keywords are lower case):
 *
 *   expression := or
 *   or         := and ( ( "or" | "||" ) and )*
 *   and        := not ( ( "and" | "&&" ) not )*
 *   not        := ( "not" | "!" ) not | comparison
 *   comparison := operand [ operator operand ]           (no chaining: `a < b < c` is an error)
 *   operator   := == | != | < | <= | > | >= | in | contains | starts_with | startsWith
 *               | ends_with | endsWith | matches
 *   operand    := literal | "[" [ expression { "," expression } ] "]" | reference | call
 *               | "(" expression ")"
 *   literal    := '…' | "…" | -?digits[.digits] | true | false | null
 *   reference  := ( input [ . message | . text ] | output | session . ( id | turn | metadata . key )
 *                 | config . name | steps . step . ( output | status ) | variable ) [ . length ]
 *   call       := function "(" [ expression { "," expression } ] ")"
 *   function   := contains | starts_with | startsWith | ends_with | endsWith | matches
 *               | lower | upper | trim | length | len | split
 *
 * String escapes: \\ \' \" \n \t \r \b \f \uXXXX (so JSON string text reads back); any other
 * `\x` is `x`. Which roots an expression may read depends on where it is (`ExpressionPlace`).
 *
 * Values are strings, numbers, booleans, null and lists of them. Evaluation never throws:
 * - `==`/`!=`: strings compare with surrounding whitespace ignored (model outputs often end in
 *   a newline); a number and a numeric string compare as numbers; a boolean and the string
 *   "true"/"false" compare as booleans; null equals only null; lists item by item.
 * - `<`, `<=`, `>`, `>=`: numbers (or numeric strings) numerically, two strings by code
 *   points; anything involving null, lists or mixed kinds is false.
 * - `a contains b`: b is an item of the list a, or a substring of the text a (case-sensitive);
 *   `b in a` is the same test. `starts_with`, `ends_with`: on text, ignoring leading/trailing
 *   whitespace of the first operand. `matches`: an RE2 search (unanchored); its pattern must
 *   be a string literal, compiled at load. All false when an operand is null.
 * - numbers and booleans used as text read as their literal spelling; lists used as text are
 *   null.
 * - truthiness (`and`, `or`, `not`, `test`): null, false, 0, blank strings and empty lists are
 *   false.
 * - A missing value (no session, unknown metadata key, a step without output) is null, and so
 *   is a `__proto__`, `constructor` or `prototype` key.
 */

export type ExprValue = string | number | boolean | null | ExprValue[];

/**
 * Where an expression is written, which decides what it may read:
 * - `condition` (on input `if`/`else if`) and `value` (on input `for each … in`, `respond`,
 *   `with` values): input, session, config and the loop variables in scope;
 * - `validate` (a `validate` rule's `when`): input, output, session and config;
 * - `when` (a pipeline step's `when`): input and steps.
 */
export type ExpressionPlace = 'condition' | 'validate' | 'when' | 'value';

export type WhenStepStatus = 'pending' | 'running' | 'completed' | 'failed' | 'skipped';

export interface ExprSession {
  id: string;
  turn: number;
  metadata: Record<string, string>;
}

export interface ExprContext {
  /** The call's input text (also `input.message` and `input.text`). */
  input: string;
  /** The answer being validated; read only by `validate` rules. */
  output?: string;
  /** Null or absent outside a session: then every `session.…` reads null. */
  session?: ExprSession | null;
  /** The agent's resolved config values. */
  config?: Readonly<Record<string, string | number | boolean>>;
  /** What is known of each step of a pipeline run; a step missing here reads as null. */
  steps?: Readonly<Record<string, { output: string | null; status: WhenStepStatus } | undefined>>;
  /** The values of the `for each` loop variables in scope. */
  vars?: Readonly<Record<string, ExprValue>>;
}

export interface CompileOptions {
  /** The loop variables in scope (`for each item in …`), readable as bare names. */
  variables?: readonly string[];
}

export interface CompiledExpression {
  readonly source: string;
  readonly where: ExpressionPlace;
  /** Names of the steps it reads (`steps.<name>.…`), in order of first mention. */
  readonly steps: readonly string[];
  /** Names of the config parameters it reads (`config.<name>`), in order of first mention. */
  readonly config: readonly string[];
  evaluate(context: ExprContext): ExprValue;
  /** The truthiness of `evaluate`. */
  test(context: ExprContext): boolean;
}

export class ExpressionSyntaxError extends Error {
  constructor(
    readonly reason: string,
    /** 1-based column in the expression text. */
    readonly column: number,
    /** A suggestion (did you mean …?), when there is one. */
    readonly hint?: string,
  ) {
    super(`${reason} (column ${column})`);
    this.name = 'ExpressionSyntaxError';
  }
}

/** The longest expression accepted, in UTF-16 code units. */
export const MAX_EXPRESSION_LENGTH = 4_096;
/** The deepest nesting of parentheses, lists, calls and `not`. */
export const MAX_EXPRESSION_DEPTH = 64;
/** The most items a list value holds: longer lists (from `split` or loop variables) are cut. */
export const MAX_LIST_LENGTH = 1_000;
/** The longest text value, in UTF-16 code units: longer text read from the context is cut. */
export const MAX_TEXT_LENGTH = 1_048_576;

/** The text tests, written as operators (`a contains b`) and as functions (`contains(a, b)`). */
const TEXT_TEST_SPELLINGS = {
  contains: 'contains',
  starts_with: 'starts_with',
  startsWith: 'starts_with',
  ends_with: 'ends_with',
  endsWith: 'ends_with',
  matches: 'matches',
} as const;

/** Each function's spellings, mapped to its canonical name (the one the model keeps). */
const FUNCTION_SPELLINGS: Readonly<Record<string, FunctionName>> = {
  ...TEXT_TEST_SPELLINGS,
  lower: 'lower',
  upper: 'upper',
  trim: 'trim',
  length: 'length',
  len: 'length',
  split: 'split',
};
const ARITY = { contains: 2, starts_with: 2, ends_with: 2, matches: 2, lower: 1, upper: 1, trim: 1, length: 1, split: 2 } as const;
type FunctionName = keyof typeof ARITY;

/** Every accepted function spelling, for did-you-mean hints. */
export const FUNCTION_NAMES: readonly string[] = Object.keys(FUNCTION_SPELLINGS);

/** The canonical name of a function spelling (`startsWith` → `starts_with`), or undefined. */
export function canonicalFunctionName(spelling: string): string | undefined {
  return Object.hasOwn(FUNCTION_SPELLINGS, spelling) ? FUNCTION_SPELLINGS[spelling] : undefined;
}

type TextOperator = 'in' | 'contains' | 'starts_with' | 'ends_with' | 'matches';
type Operator = '==' | '!=' | '>' | '>=' | '<' | '<=' | TextOperator;

const WORD_OPERATORS: Readonly<Record<string, TextOperator>> = { in: 'in', ...TEXT_TEST_SPELLINGS };

/** The canonical spelling of a word operator (`startsWith` → `starts_with`), or undefined. */
export function canonicalWordOperator(spelling: string): string | undefined {
  return Object.hasOwn(WORD_OPERATORS, spelling) ? WORD_OPERATORS[spelling] : undefined;
}

/** Names that cannot be loop variables: the roots and the keywords. */
export const RESERVED_NAMES: ReadonlySet<string> = new Set([
  'input',
  'output',
  'session',
  'config',
  'steps',
  'and',
  'or',
  'not',
  'true',
  'false',
  'null',
  ...Object.keys(WORD_OPERATORS),
]);

type Node =
  | { kind: 'literal'; value: ExprValue }
  | { kind: 'list'; items: Node[] }
  | { kind: 'input' }
  | { kind: 'output' }
  | { kind: 'session'; field: 'id' | 'turn' }
  | { kind: 'metadata'; key: string }
  | { kind: 'config'; key: string }
  | { kind: 'step'; step: string; field: 'output' | 'status' }
  | { kind: 'var'; name: string }
  | { kind: 'not'; operand: Node }
  | { kind: 'and' | 'or'; left: Node; right: Node }
  | { kind: 'compare'; operator: Exclude<Operator, 'matches'>; left: Node; right: Node }
  | { kind: 'matches'; text: Node; regex: RE2JS }
  | { kind: 'call'; fn: Exclude<FunctionName, 'matches'>; args: Node[] };

/** Parses and checks an expression for the place it is written; throws `ExpressionSyntaxError`. */
export function compileExpression(source: string, where: ExpressionPlace, options: CompileOptions = {}): CompiledExpression {
  if (typeof source !== 'string') throw new ExpressionSyntaxError(`${noun(where)} is not text`, 1);
  if (source.length > MAX_EXPRESSION_LENGTH) {
    throw new ExpressionSyntaxError(`${noun(where)} is longer than ${MAX_EXPRESSION_LENGTH} characters`, 1);
  }
  const parser = new Parser(tokenize(source), where, new Set(options.variables ?? []));
  const root = parser.parseExpression(0);
  parser.expectEnd();
  return new Compiled(source, where, root, parser.steps, parser.config);
}

/** For validators: the problem with an expression, or undefined when it compiles. */
export function checkExpression(source: string, where: ExpressionPlace, options?: CompileOptions): ExpressionSyntaxError | undefined {
  try {
    compileExpression(source, where, options);
    return undefined;
  } catch (error) {
    if (error instanceof ExpressionSyntaxError) return error;
    throw error;
  }
}

class Compiled implements CompiledExpression {
  constructor(
    readonly source: string,
    readonly where: ExpressionPlace,
    private readonly root: Node,
    readonly steps: readonly string[],
    readonly config: readonly string[],
  ) {}

  evaluate(context: ExprContext): ExprValue {
    try {
      return evaluate(this.root, context);
    } catch {
      // Documented rule: an evaluation that fails inside (it should not) is null.
      return null;
    }
  }

  test(context: ExprContext): boolean {
    return truthy(this.evaluate(context));
  }
}

// --- pipeline `when`, as the pipeline engine has always used it --------------------------------

export type WhenValue = ExprValue;
export type WhenContext = Pick<ExprContext, 'input'> & Required<Pick<ExprContext, 'steps'>>;
export { ExpressionSyntaxError as WhenSyntaxError };

/** A parsed pipeline step condition. Parse once (at load time), evaluate per run. */
export class WhenExpression {
  /** Names of the steps the condition reads, in order of first mention. */
  readonly references: readonly string[];
  readonly source: string;

  /** @internal use parseWhen() */
  constructor(private readonly compiled: CompiledExpression) {
    this.references = compiled.steps;
    this.source = compiled.source;
  }

  evaluate(context: WhenContext): boolean {
    return this.compiled.test(context);
  }
}

/** Parses a pipeline step condition; throws `ExpressionSyntaxError` naming what is wrong and where. */
export function parseWhen(source: string): WhenExpression {
  return new WhenExpression(compileExpression(source, 'when'));
}

/** For validators: the problem with a pipeline step condition, or undefined when it parses. */
export function checkWhen(source: string): ExpressionSyntaxError | undefined {
  return checkExpression(source, 'when');
}

function noun(where: ExpressionPlace): string {
  return where === 'value' ? 'expression' : 'condition';
}

// --- lexer -----------------------------------------------------------------------------------

type Token =
  | { type: 'string'; value: string; column: number }
  | { type: 'number'; value: number; column: number }
  | { type: 'word'; value: string; column: number }
  | { type: 'punct'; value: string; column: number }
  | { type: 'end'; column: number };

const WORD_START = /[A-Za-z_]/;
const WORD_PART = /[A-Za-z0-9_-]/;
const DIGIT = /[0-9]/;
const STEP_NAME = /[A-Za-z0-9_-]/;
const TWO_CHAR_PUNCT = new Set(['==', '!=', '>=', '<=', '&&', '||']);

function followsStepsDot(tokens: Token[]): boolean {
  const dot = tokens[tokens.length - 1];
  const steps = tokens[tokens.length - 2];
  return dot?.type === 'punct' && dot.value === '.' && steps?.type === 'word' && steps.value === 'steps';
}

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const ch = source[i];
    const column = i + 1;
    if (ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r') {
      i++;
    } else if (ch === "'" || ch === '"') {
      const { value, next } = readString(source, i);
      tokens.push({ type: 'string', value, column });
      i = next;
    } else if (followsStepsDot(tokens) && STEP_NAME.test(ch)) {
      // Step names may start with a digit, so they are read as names right after "steps.".
      let end = i + 1;
      while (end < source.length && STEP_NAME.test(source[end])) end++;
      tokens.push({ type: 'word', value: source.slice(i, end), column });
      i = end;
    } else if (DIGIT.test(ch) || (ch === '-' && DIGIT.test(source[i + 1] ?? ''))) {
      const match = /^-?[0-9]+(\.[0-9]+)?/.exec(source.slice(i, i + 64))!;
      tokens.push({ type: 'number', value: Number(match[0]), column });
      i += match[0].length;
    } else if (WORD_START.test(ch)) {
      let end = i + 1;
      while (end < source.length && WORD_PART.test(source[end])) end++;
      tokens.push({ type: 'word', value: source.slice(i, end), column });
      i = end;
    } else if (TWO_CHAR_PUNCT.has(source.slice(i, i + 2))) {
      tokens.push({ type: 'punct', value: source.slice(i, i + 2), column });
      i += 2;
    } else if ('()[]<>,.!'.includes(ch)) {
      tokens.push({ type: 'punct', value: ch, column });
      i++;
    } else {
      throw new ExpressionSyntaxError(unexpectedCharacter(source, i), column);
    }
  }
  tokens.push({ type: 'end', column: source.length + 1 });
  return tokens;
}

function unexpectedCharacter(source: string, i: number): string {
  if (source[i] === '&') return "unexpected '&': use 'and' or '&&'";
  if (source[i] === '|') return "unexpected '|': use 'or' or '||'";
  if (source[i] === '=') return "unexpected '=': use '==' to compare";
  const ch = String.fromCodePoint(source.codePointAt(i) ?? 0);
  return `unexpected character ${ch === "'" ? '"\'"' : `'${ch}'`}`;
}

const ESCAPES: Readonly<Record<string, string>> = { n: '\n', t: '\t', r: '\r', b: '\b', f: '\f' };

function readString(source: string, start: number): { value: string; next: number } {
  const quote = source[start];
  let value = '';
  let i = start + 1;
  while (i < source.length) {
    const ch = source[i];
    if (ch === quote) return { value, next: i + 1 };
    if (ch === '\\' && i + 1 < source.length) {
      const escaped = source[i + 1];
      const hex = escaped === 'u' ? /^[0-9A-Fa-f]{4}/.exec(source.slice(i + 2, i + 6)) : null;
      if (hex) {
        value += String.fromCharCode(parseInt(hex[0], 16));
        i += 6;
        continue;
      }
      value += Object.hasOwn(ESCAPES, escaped) ? ESCAPES[escaped] : escaped;
      i += 2;
    } else {
      value += ch;
      i++;
    }
  }
  throw new ExpressionSyntaxError('unterminated string', start + 1);
}

// --- parser ----------------------------------------------------------------------------------

const COMPARISONS = new Set(['==', '!=', '>', '>=', '<', '<=']);
const KEYWORDS = new Set(['and', 'or', 'not', 'true', 'false', 'null']);

/** What each place may read, for checks and for messages. */
const ROOTS: Readonly<Record<ExpressionPlace, readonly string[]>> = {
  condition: ['input', 'session', 'config'],
  value: ['input', 'session', 'config'],
  validate: ['input', 'output', 'session', 'config'],
  when: ['input', 'steps'],
};

const PLACE_LABELS: Readonly<Record<ExpressionPlace, string>> = {
  condition: 'an on input condition',
  value: 'an on input expression',
  validate: 'a validate rule',
  when: 'a pipeline when condition',
};

const ROOT_HOMES: Readonly<Record<string, string>> = {
  output: 'validate rules (the answer being checked)',
  steps: 'pipeline when conditions',
  session: 'on input and validate expressions',
  config: 'on input and validate expressions',
};

class Parser {
  private position = 0;
  readonly steps: string[] = [];
  readonly config: string[] = [];

  constructor(
    private readonly tokens: Token[],
    private readonly where: ExpressionPlace,
    private readonly variables: ReadonlySet<string>,
  ) {}

  parseExpression(depth: number): Node {
    if (depth > MAX_EXPRESSION_DEPTH) throw new ExpressionSyntaxError(`${noun(this.where)} is nested too deeply`, this.peek().column);
    let left = this.parseAnd(depth);
    while (this.isWord('or') || this.isPunct('||')) {
      this.position++;
      left = { kind: 'or', left, right: this.parseAnd(depth) };
    }
    return left;
  }

  expectEnd(): void {
    const token = this.peek();
    if (token.type !== 'end') {
      throw new ExpressionSyntaxError(
        `unexpected ${this.describe(token)}: expected 'and', 'or' or the end of the ${noun(this.where)}`,
        token.column,
      );
    }
  }

  private parseAnd(depth: number): Node {
    let left = this.parseNot(depth);
    while (this.isWord('and') || this.isPunct('&&')) {
      this.position++;
      left = { kind: 'and', left, right: this.parseNot(depth) };
    }
    return left;
  }

  private parseNot(depth: number): Node {
    if (this.isWord('not') || this.isPunct('!')) {
      this.position++;
      if (depth >= MAX_EXPRESSION_DEPTH) throw new ExpressionSyntaxError(`${noun(this.where)} is nested too deeply`, this.peek().column);
      return { kind: 'not', operand: this.parseNot(depth + 1) };
    }
    return this.parseComparison(depth);
  }

  private parseComparison(depth: number): Node {
    const left = this.parseOperand(depth);
    const operator = this.operator();
    if (!operator) return left;
    this.position++;
    const rightToken = this.peek();
    const right = this.parseOperand(depth);
    if (this.operator()) {
      throw new ExpressionSyntaxError("comparisons cannot be chained: join them with 'and'", this.peek().column);
    }
    if (operator === 'matches') return { kind: 'matches', text: left, regex: this.pattern(right, rightToken) };
    return { kind: 'compare', operator, left, right };
  }

  private operator(): Operator | undefined {
    const token = this.peek();
    if (token.type === 'punct' && COMPARISONS.has(token.value)) return token.value as Operator;
    if (token.type === 'word' && Object.hasOwn(WORD_OPERATORS, token.value)) return WORD_OPERATORS[token.value];
    return undefined;
  }

  /** The pattern of `matches`: a string literal, compiled now so a bad one is a load error. */
  private pattern(node: Node, token: Token): RE2JS {
    if (node.kind !== 'literal' || typeof node.value !== 'string') {
      throw new ExpressionSyntaxError('the pattern of matches must be a string literal', token.column);
    }
    try {
      return RE2JS.compile(node.value);
    } catch (error) {
      if (!(error instanceof RE2JSException)) throw error;
      throw new ExpressionSyntaxError(`invalid pattern: ${error.message.replace(/^error parsing regexp: /, '')}`, token.column);
    }
  }

  private parseOperand(depth: number): Node {
    const token = this.peek();
    const next = this.peek(1);
    const opens = token.type === 'punct' ? token.value === '(' || token.value === '[' : next.type === 'punct' && next.value === '(';
    if (opens && depth >= MAX_EXPRESSION_DEPTH) throw new ExpressionSyntaxError(`${noun(this.where)} is nested too deeply`, token.column);
    switch (token.type) {
      case 'string':
      case 'number':
        this.position++;
        return { kind: 'literal', value: token.value };
      case 'punct':
        if (token.value === '(') {
          this.position++;
          const inner = this.parseExpression(depth + 1);
          this.expectPunct(')', "expected ')'");
          return inner;
        }
        if (token.value === '[') return this.parseList(depth);
        throw new ExpressionSyntaxError(`unexpected ${this.describe(token)}: expected a value`, token.column);
      case 'end':
        throw new ExpressionSyntaxError(`unexpected end of the ${noun(this.where)}: expected a value`, token.column);
      case 'word':
        return this.parseWord(token, depth);
    }
  }

  private parseList(depth: number): Node {
    const open = this.peek();
    this.position++;
    const items: Node[] = [];
    if (!this.isPunct(']')) {
      items.push(this.parseExpression(depth + 1));
      while (this.isPunct(',')) {
        this.position++;
        items.push(this.parseExpression(depth + 1));
      }
    }
    this.expectPunct(']', "expected ',' or ']' in the list");
    if (items.length > MAX_LIST_LENGTH) throw new ExpressionSyntaxError(`a list holds at most ${MAX_LIST_LENGTH} items`, open.column);
    return { kind: 'list', items };
  }

  private parseWord(token: Extract<Token, { type: 'word' }>, depth: number): Node {
    this.position++;
    switch (token.value) {
      case 'true':
        return { kind: 'literal', value: true };
      case 'false':
        return { kind: 'literal', value: false };
      case 'null':
        return { kind: 'literal', value: null };
    }
    if (this.isPunct('(')) return this.parseCall(token, depth);
    if (KEYWORDS.has(token.value) || Object.hasOwn(WORD_OPERATORS, token.value)) {
      throw new ExpressionSyntaxError(`unexpected '${token.value}': expected a value`, token.column);
    }
    const reference = this.parseReference(token);
    return this.lengthSuffix(reference);
  }

  private parseReference(token: Extract<Token, { type: 'word' }>): Node {
    const name = token.value;
    const isRoot = Object.hasOwn(ROOT_HOMES, name) || name === 'input';
    if (isRoot && !ROOTS[this.where].includes(name)) {
      throw new ExpressionSyntaxError(`'${name}' cannot be read in ${PLACE_LABELS[this.where]}, only in ${ROOT_HOMES[name]}`, token.column);
    }
    switch (name) {
      case 'input':
        if (this.isPunct('.') && this.peek(1).type === 'word' && ['message', 'text'].includes(this.wordAt(1))) this.position += 2;
        return { kind: 'input' };
      case 'output':
        return { kind: 'output' };
      case 'session':
        return this.parseSession();
      case 'config': {
        const key = this.field("expected '.' after 'config' (config.<name>)", "expected a parameter name after 'config.'");
        if (!this.config.includes(key)) this.config.push(key);
        return { kind: 'config', key };
      }
      case 'steps':
        return this.parseStepReference();
    }
    if (this.variables.has(name)) return { kind: 'var', name };
    const known = this.where === 'when' ? ['input', 'steps.<name>.output', 'steps.<name>.status'] : ROOTS[this.where];
    const loopVariables =
      this.variables.size > 0 ? `, the loop variable${this.variables.size > 1 ? 's' : ''} ${[...this.variables].join(', ')}` : '';
    throw new ExpressionSyntaxError(
      `unknown name '${name}': expected ${known.join(', ')}${loopVariables}, a literal or a function`,
      token.column,
      didYouMean(name, [...ROOTS[this.where], ...this.variables]),
    );
  }

  /** `.length` after a reference: its length, as `length(…)`. */
  private lengthSuffix(node: Node): Node {
    if (!this.isPunct('.')) return node;
    const next = this.peek(1);
    if (next.type === 'word' && next.value === 'length') {
      this.position += 2;
      return { kind: 'call', fn: 'length', args: [node] };
    }
    const what = node.kind === 'input' ? "'input' is text: it has .message, .text and .length" : 'only .length can follow here';
    throw new ExpressionSyntaxError(
      `unexpected field ${next.type === 'word' ? `'${next.value}'` : this.describe(next)}: ${what}`,
      next.column,
    );
  }

  private parseSession(): Node {
    const field = this.field(
      "expected '.' after 'session' (session.id, session.turn, session.metadata.<key>)",
      "expected 'id', 'turn' or 'metadata' after 'session.'",
    );
    if (field === 'id' || field === 'turn') return { kind: 'session', field };
    if (field !== 'metadata') {
      throw new ExpressionSyntaxError(
        `unknown field 'session.${field}': expected session.id, session.turn or session.metadata.<key>`,
        this.previous().column,
      );
    }
    return {
      kind: 'metadata',
      key: this.field("expected '.' after 'session.metadata' (session.metadata.<key>)", "expected a key after 'session.metadata.'"),
    };
  }

  /** `.name`: the name, after checking both tokens. */
  private field(noDot: string, noName: string): string {
    this.expectPunct('.', noDot);
    const name = this.peek();
    if (name.type !== 'word') throw new ExpressionSyntaxError(`${noName}, found ${this.describe(name)}`, name.column);
    this.position++;
    return name.value;
  }

  private parseStepReference(): Node {
    this.expectPunct('.', "expected '.' after 'steps' (steps.<name>.output)");
    const name = this.peek();
    if (name.type !== 'word')
      throw new ExpressionSyntaxError(`expected a step name after 'steps.', found ${this.describe(name)}`, name.column);
    const step = name.value;
    this.position++;
    this.expectPunct('.', `expected '.output' or '.status' after steps.${step}`);
    const field = this.peek();
    if (field.type !== 'word' || (field.value !== 'output' && field.value !== 'status')) {
      throw new ExpressionSyntaxError(`expected 'output' or 'status' after steps.${step}.`, field.column);
    }
    this.position++;
    if (!this.steps.includes(step)) this.steps.push(step);
    return { kind: 'step', step, field: field.value };
  }

  private parseCall(token: Extract<Token, { type: 'word' }>, depth: number): Node {
    const fn = canonicalFunctionName(token.value) as FunctionName | undefined;
    if (fn === undefined) {
      throw new ExpressionSyntaxError(
        `unknown function '${token.value}'`,
        token.column,
        didYouMean(token.value, FUNCTION_NAMES) ?? `functions: ${FUNCTION_NAMES.join(', ')}`,
      );
    }
    this.position++;
    const args: Node[] = [];
    const argTokens: Token[] = [];
    if (!this.isPunct(')')) {
      argTokens.push(this.peek());
      args.push(this.parseExpression(depth + 1));
      while (this.isPunct(',')) {
        this.position++;
        argTokens.push(this.peek());
        args.push(this.parseExpression(depth + 1));
      }
    }
    this.expectPunct(')', `expected ',' or ')' in the arguments of ${token.value}()`);
    if (args.length !== ARITY[fn]) {
      const expected = ARITY[fn];
      throw new ExpressionSyntaxError(
        `${token.value}() takes ${expected} argument${expected === 1 ? '' : 's'}, got ${args.length}`,
        token.column,
      );
    }
    if (fn === 'matches') return { kind: 'matches', text: args[0], regex: this.pattern(args[1], argTokens[1]) };
    return { kind: 'call', fn, args };
  }

  private expectPunct(value: string, message: string): void {
    const token = this.peek();
    if (token.type !== 'punct' || token.value !== value) {
      throw new ExpressionSyntaxError(`${message}, found ${this.describe(token)}`, token.column);
    }
    this.position++;
  }

  private peek(offset = 0): Token {
    return this.tokens[Math.min(this.position + offset, this.tokens.length - 1)];
  }

  private previous(): Token {
    return this.tokens[Math.max(0, this.position - 1)];
  }

  private wordAt(offset: number): string {
    const token = this.peek(offset);
    return token.type === 'word' ? token.value : '';
  }

  private isWord(value: string): boolean {
    const token = this.peek();
    return token.type === 'word' && token.value === value;
  }

  private isPunct(value: string): boolean {
    const token = this.peek();
    return token.type === 'punct' && token.value === value;
  }

  private describe(token: Token): string {
    switch (token.type) {
      case 'end':
        return `end of the ${noun(this.where)}`;
      case 'string':
        return `string ${JSON.stringify(token.value.length > 24 ? `${token.value.slice(0, 24)}…` : token.value)}`;
      case 'number':
        return `number ${token.value}`;
      default:
        return `'${token.value}'`;
    }
  }
}

// --- evaluation ------------------------------------------------------------------------------

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** An own key of a plain map, or undefined (also for the keys that reach prototypes). */
function own<T>(map: Readonly<Record<string, T>> | undefined | null, key: string): T | undefined {
  if (map === null || typeof map !== 'object' || FORBIDDEN_KEYS.has(key) || !Object.hasOwn(map, key)) return undefined;
  return map[key];
}

function clipText(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  return value.length > MAX_TEXT_LENGTH ? value.slice(0, MAX_TEXT_LENGTH) : value;
}

/** A value from the context as an ExprValue: anything else is null, lists and texts cut. */
function sanitize(value: unknown, depth = 0): ExprValue {
  if (typeof value === 'string') return clipText(value);
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'boolean') return value;
  if (Array.isArray(value) && depth < MAX_EXPRESSION_DEPTH) {
    return value.slice(0, MAX_LIST_LENGTH).map((item: unknown) => sanitize(item, depth + 1));
  }
  return null;
}

function evaluate(node: Node, context: ExprContext): ExprValue {
  switch (node.kind) {
    case 'literal':
      return node.value;
    case 'list':
      return node.items.map((item) => evaluate(item, context));
    case 'input':
      return clipText(context.input);
    case 'output':
      return clipText(context.output);
    case 'session': {
      const value = context.session?.[node.field];
      return node.field === 'turn' ? (typeof value === 'number' && Number.isFinite(value) ? value : null) : clipText(value);
    }
    case 'metadata':
      return clipText(own(context.session?.metadata, node.key));
    case 'config':
      return sanitize(own(context.config, node.key));
    case 'var':
      return sanitize(own(context.vars, node.name));
    case 'step': {
      const step = own(context.steps, node.step);
      return clipText(step?.[node.field]);
    }
    case 'not':
      return !truthy(evaluate(node.operand, context));
    case 'and':
      return truthy(evaluate(node.left, context)) && truthy(evaluate(node.right, context));
    case 'or':
      return truthy(evaluate(node.left, context)) || truthy(evaluate(node.right, context));
    case 'compare':
      return compare(node.operator, evaluate(node.left, context), evaluate(node.right, context));
    case 'matches': {
      const subject = text(evaluate(node.text, context));
      return subject !== null && node.regex.test(subject);
    }
    case 'call':
      return call(
        node.fn,
        node.args.map((arg) => evaluate(arg, context)),
      );
  }
}

/**
 * A value as text, for `respond` and skill arguments: text as it is, numbers and booleans as
 * written, null as the empty text, a list as JSON.
 */
export function valueToText(value: ExprValue): string {
  if (value === null) return '';
  if (Array.isArray(value)) return JSON.stringify(value);
  return typeof value === 'string' ? value : String(value);
}

/** Whether a value counts as true: null, false, 0, NaN, blank text and empty lists do not. */
export function truthy(value: ExprValue): boolean {
  if (typeof value === 'string') return value.trim() !== '';
  if (typeof value === 'number') return value !== 0 && !Number.isNaN(value);
  if (Array.isArray(value)) return value.length > 0;
  return value === true;
}

function asNumber(value: ExprValue): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && value.length < 64 && /^\s*-?\d+(\.\d+)?([eE][+-]?\d+)?\s*$/.test(value)) return Number(value);
  return undefined;
}

function equal(left: ExprValue, right: ExprValue): boolean {
  if (left === null || right === null) return left === right;
  if (Array.isArray(left) || Array.isArray(right)) {
    if (!Array.isArray(left) || !Array.isArray(right) || left.length !== right.length) return false;
    return left.every((item, i) => equal(item, right[i]));
  }
  if (typeof left === 'string' && typeof right === 'string') return left.trim() === right.trim();
  if (typeof left === 'boolean' || typeof right === 'boolean') {
    const asBool = (value: ExprValue) => (typeof value === 'boolean' ? String(value) : typeof value === 'string' ? value.trim() : value);
    return asBool(left) === asBool(right);
  }
  const a = asNumber(left);
  const b = asNumber(right);
  return a !== undefined && b !== undefined && a === b;
}

function order(left: ExprValue, right: ExprValue): number | undefined {
  const a = asNumber(left);
  const b = asNumber(right);
  if (a !== undefined && b !== undefined) return a === b ? 0 : a < b ? -1 : 1;
  if (typeof left === 'string' && typeof right === 'string') {
    const x = left.trim();
    const y = right.trim();
    return x === y ? 0 : x < y ? -1 : 1;
  }
  return undefined;
}

function compare(operator: Exclude<Operator, 'matches'>, left: ExprValue, right: ExprValue): boolean {
  switch (operator) {
    case '==':
      return equal(left, right);
    case '!=':
      return !equal(left, right);
    case 'contains':
      return contains(left, right);
    case 'in':
      return contains(right, left);
    case 'starts_with':
    case 'ends_with':
      return call(operator, [left, right]) as boolean;
  }
  const sign = order(left, right);
  if (sign === undefined) return false;
  switch (operator) {
    case '>':
      return sign > 0;
    case '>=':
      return sign >= 0;
    case '<':
      return sign < 0;
    case '<=':
      return sign <= 0;
  }
}

/** An item of a list, or a substring of a text. */
function contains(container: ExprValue, item: ExprValue): boolean {
  if (Array.isArray(container)) return container.some((entry) => equal(entry, item));
  const a = text(container);
  const b = text(item);
  return a !== null && b !== null && a.includes(b);
}

/** A value used as text: numbers and booleans as written, lists and null as null. */
function text(value: ExprValue): string | null {
  if (value === null || Array.isArray(value)) return null;
  return typeof value === 'string' ? value : String(value);
}

function codePoints(value: string): number {
  let count = 0;
  for (let i = 0; i < value.length; i++) {
    const unit = value.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < value.length) {
      const next = value.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++;
    }
    count++;
  }
  return count;
}

function split(value: string, separator: string): string[] {
  if (separator === '') {
    const out: string[] = [];
    for (const ch of value) {
      if (out.length === MAX_LIST_LENGTH) break;
      out.push(ch);
    }
    return out;
  }
  return value.split(separator, MAX_LIST_LENGTH);
}

function call(fn: Exclude<FunctionName, 'matches'>, args: ExprValue[]): ExprValue {
  const [first = null, second = null] = args;
  const a = text(first);
  switch (fn) {
    case 'contains':
      return contains(first, second);
    case 'starts_with':
    case 'ends_with': {
      const b = text(second);
      if (a === null || b === null) return false;
      return fn === 'starts_with' ? a.trimStart().startsWith(b) : a.trimEnd().endsWith(b);
    }
    case 'lower':
      return a === null ? null : clipText(a.toLowerCase());
    case 'upper':
      return a === null ? null : clipText(a.toUpperCase());
    case 'trim':
      return a === null ? null : a.trim();
    case 'length':
      if (Array.isArray(first)) return first.length;
      return a === null ? 0 : codePoints(a);
    case 'split': {
      const separator = text(second);
      if (a === null) return [];
      return separator === null ? [a] : split(a, separator);
    }
  }
}
