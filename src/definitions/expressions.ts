/**
 * The `when` conditions of pipeline steps: a small expression language, parsed into a tree
 * and interpreted. Nothing is ever handed to `eval` or `Function`.
 *
 * Grammar (whitespace between tokens is free; keywords are lower case):
 *
 *   expression := or
 *   or         := and ( "or" and )*
 *   and        := not ( "and" not )*
 *   not        := "not" not | comparison
 *   comparison := operand [ ( "==" | "!=" | ">" | ">=" | "<" | "<=" | "contains" ) operand ]
 *   operand    := literal | reference | call | "(" expression ")"
 *   literal    := string | number | "true" | "false" | "null"
 *   string     := '…' | "…"            (escapes \\ \' \" \n \t)
 *   number     := -?digits[.digits]
 *   reference  := "input" | "steps" "." step-name "." ( "output" | "status" )
 *   call       := function "(" expression { "," expression } ")"
 *   function   := contains(a, b) | starts_with(a, b) | ends_with(a, b)
 *               | lower(a) | upper(a) | trim(a) | length(a)
 *
 * Step names in references are letters, digits, `_` and `-`. Comparisons do not chain
 * (`a < b < c` is an error; write `a < b and b < c`).
 *
 * Values are strings, numbers, booleans or null. A reference to a step that has no output (not
 * run, skipped, unknown) is null. Evaluation never throws:
 * - `==`/`!=`: strings compare with surrounding whitespace ignored (model outputs often end in
 *   a newline); a number and a numeric string compare as numbers; a boolean and the string
 *   "true"/"false" compare as booleans; null equals only null.
 * - `<`, `<=`, `>`, `>=`: numbers (or numeric strings) numerically, two strings by code
 *   points; anything involving null or mixed kinds is false.
 * - `contains`, `starts_with`, `ends_with`: case-sensitive substring tests; false on null.
 * - truthiness (`and`, `or`, `not`, the result): null, false, 0 and blank strings are false.
 */

export type WhenValue = string | number | boolean | null;

export type WhenStepStatus = 'pending' | 'running' | 'completed' | 'failed' | 'skipped';

export interface WhenContext {
  input: string;
  /** What is known of each step; a step missing here reads as null. */
  steps: Readonly<Record<string, { output: string | null; status: WhenStepStatus } | undefined>>;
}

export class WhenSyntaxError extends Error {
  constructor(
    readonly reason: string,
    /** 1-based column in the expression. */
    readonly column: number,
  ) {
    super(`${reason} (column ${column})`);
    this.name = 'WhenSyntaxError';
  }
}

type ComparisonOperator = '==' | '!=' | '>' | '>=' | '<' | '<=' | 'contains';

type WhenNode =
  | { kind: 'literal'; value: WhenValue }
  | { kind: 'input' }
  | { kind: 'step'; step: string; field: 'output' | 'status' }
  | { kind: 'not'; operand: WhenNode }
  | { kind: 'and' | 'or'; left: WhenNode; right: WhenNode }
  | { kind: 'compare'; operator: ComparisonOperator; left: WhenNode; right: WhenNode }
  | { kind: 'call'; fn: FunctionName; args: WhenNode[] };

export const FUNCTIONS = {
  contains: 2,
  starts_with: 2,
  ends_with: 2,
  lower: 1,
  upper: 1,
  trim: 1,
  length: 1,
} as const;
type FunctionName = keyof typeof FUNCTIONS;

const MAX_SOURCE_LENGTH = 4_096;
const MAX_DEPTH = 64;

/** A parsed condition. Parse once (at load time), evaluate per run. */
export class WhenExpression {
  /** Names of the steps the condition reads, in order of first mention. */
  readonly references: readonly string[];

  /** @internal use parseWhen() */
  constructor(
    readonly source: string,
    private readonly root: WhenNode,
  ) {
    const names: string[] = [];
    collectReferences(root, names);
    this.references = names;
  }

  evaluate(context: WhenContext): boolean {
    return truthy(evaluate(this.root, context));
  }
}

/** Parses a condition; throws `WhenSyntaxError` naming what is wrong and where. */
export function parseWhen(source: string): WhenExpression {
  if (source.length > MAX_SOURCE_LENGTH) {
    throw new WhenSyntaxError(`condition is longer than ${MAX_SOURCE_LENGTH} characters`, 1);
  }
  const parser = new Parser(tokenize(source));
  const root = parser.parseExpression(0);
  parser.expectEnd();
  return new WhenExpression(source, root);
}

/** For validators: the problem with a condition, or undefined when it parses. */
export function checkWhen(source: string): WhenSyntaxError | undefined {
  try {
    parseWhen(source);
    return undefined;
  } catch (error) {
    if (error instanceof WhenSyntaxError) return error;
    throw error;
  }
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
      const match = /^-?[0-9]+(\.[0-9]+)?/.exec(source.slice(i))!;
      tokens.push({ type: 'number', value: Number(match[0]), column });
      i += match[0].length;
    } else if (WORD_START.test(ch)) {
      let end = i + 1;
      while (end < source.length && WORD_PART.test(source[end])) end++;
      tokens.push({ type: 'word', value: source.slice(i, end), column });
      i = end;
    } else {
      const two = source.slice(i, i + 2);
      if (['==', '!=', '>=', '<='].includes(two)) {
        tokens.push({ type: 'punct', value: two, column });
        i += 2;
      } else if ('()<>,.'.includes(ch)) {
        tokens.push({ type: 'punct', value: ch, column });
        i++;
      } else {
        throw new WhenSyntaxError(unexpectedCharacter(source, i), column);
      }
    }
  }
  tokens.push({ type: 'end', column: source.length + 1 });
  return tokens;
}

function unexpectedCharacter(source: string, i: number): string {
  const two = source.slice(i, i + 2);
  if (two === '&&') return "unexpected '&&': use 'and'";
  if (two === '||') return "unexpected '||': use 'or'";
  if (source[i] === '!') return "unexpected '!': use 'not' or '!='";
  if (source[i] === '=') return "unexpected '=': use '==' to compare";
  return `unexpected character '${source[i]}'`;
}

function readString(source: string, start: number): { value: string; next: number } {
  const quote = source[start];
  let value = '';
  let i = start + 1;
  while (i < source.length) {
    const ch = source[i];
    if (ch === quote) return { value, next: i + 1 };
    if (ch === '\\' && i + 1 < source.length) {
      const escaped = source[i + 1];
      value += escaped === 'n' ? '\n' : escaped === 't' ? '\t' : escaped;
      i += 2;
    } else {
      value += ch;
      i++;
    }
  }
  throw new WhenSyntaxError('unterminated string', start + 1);
}

// --- parser ----------------------------------------------------------------------------------

const COMPARISONS = new Set(['==', '!=', '>', '>=', '<', '<=']);
const RESERVED = new Set(['and', 'or', 'not', 'true', 'false', 'null', 'contains']);

class Parser {
  private position = 0;

  constructor(private readonly tokens: Token[]) {}

  parseExpression(depth: number): WhenNode {
    if (depth > MAX_DEPTH) throw new WhenSyntaxError('condition is nested too deeply', this.peek().column);
    let left = this.parseAnd(depth);
    while (this.isWord('or')) {
      this.position++;
      left = { kind: 'or', left, right: this.parseAnd(depth) };
    }
    return left;
  }

  expectEnd(): void {
    const token = this.peek();
    if (token.type !== 'end') {
      throw new WhenSyntaxError(`unexpected ${describe(token)}: expected 'and', 'or' or the end of the condition`, token.column);
    }
  }

  private parseAnd(depth: number): WhenNode {
    let left = this.parseNot(depth);
    while (this.isWord('and')) {
      this.position++;
      left = { kind: 'and', left, right: this.parseNot(depth) };
    }
    return left;
  }

  private parseNot(depth: number): WhenNode {
    if (this.isWord('not')) {
      this.position++;
      if (depth > MAX_DEPTH) throw new WhenSyntaxError('condition is nested too deeply', this.peek().column);
      return { kind: 'not', operand: this.parseNot(depth + 1) };
    }
    return this.parseComparison(depth);
  }

  private parseComparison(depth: number): WhenNode {
    const left = this.parseOperand(depth);
    const operator = this.comparisonOperator();
    if (!operator) return left;
    this.position++;
    const right = this.parseOperand(depth);
    const chained = this.comparisonOperator();
    if (chained) {
      throw new WhenSyntaxError("comparisons cannot be chained: join them with 'and'", this.peek().column);
    }
    return { kind: 'compare', operator, left, right };
  }

  private comparisonOperator(): ComparisonOperator | undefined {
    const token = this.peek();
    if (token.type === 'punct' && COMPARISONS.has(token.value)) return token.value as ComparisonOperator;
    if (token.type === 'word' && token.value === 'contains') return 'contains';
    return undefined;
  }

  private parseOperand(depth: number): WhenNode {
    const token = this.peek();
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
        throw new WhenSyntaxError(`unexpected ${describe(token)}: expected a value`, token.column);
      case 'end':
        throw new WhenSyntaxError('unexpected end of the condition: expected a value', token.column);
      case 'word':
        return this.parseWord(token, depth);
    }
  }

  private parseWord(token: Extract<Token, { type: 'word' }>, depth: number): WhenNode {
    this.position++;
    switch (token.value) {
      case 'true':
        return { kind: 'literal', value: true };
      case 'false':
        return { kind: 'literal', value: false };
      case 'null':
        return { kind: 'literal', value: null };
      case 'input':
        return { kind: 'input' };
      case 'steps':
        return this.parseStepReference();
    }
    if (this.isPunct('(')) return this.parseCall(token, depth);
    if (RESERVED.has(token.value)) {
      throw new WhenSyntaxError(`unexpected '${token.value}': expected a value`, token.column);
    }
    throw new WhenSyntaxError(
      `unknown name '${token.value}': expected input, steps.<name>.output, steps.<name>.status, a literal or a function`,
      token.column,
    );
  }

  private parseStepReference(): WhenNode {
    this.expectPunct('.', "expected '.' after 'steps' (steps.<name>.output)");
    const name = this.peek();
    if (name.type !== 'word') throw new WhenSyntaxError(`expected a step name after 'steps.', found ${describe(name)}`, name.column);
    const step = name.value;
    this.position++;
    this.expectPunct('.', `expected '.output' or '.status' after steps.${step}`);
    const field = this.peek();
    if (field.type !== 'word' || (field.value !== 'output' && field.value !== 'status')) {
      throw new WhenSyntaxError(`expected 'output' or 'status' after steps.${step}.`, field.column);
    }
    this.position++;
    return { kind: 'step', step, field: field.value };
  }

  private parseCall(token: Extract<Token, { type: 'word' }>, depth: number): WhenNode {
    if (!(token.value in FUNCTIONS)) {
      throw new WhenSyntaxError(
        `unknown function '${token.value}' (known: ${Object.keys(FUNCTIONS).join(', ')})`,
        token.column,
      );
    }
    const fn = token.value as FunctionName;
    this.position++;
    const args: WhenNode[] = [];
    if (!this.isPunct(')')) {
      args.push(this.parseExpression(depth + 1));
      while (this.isPunct(',')) {
        this.position++;
        args.push(this.parseExpression(depth + 1));
      }
    }
    this.expectPunct(')', `expected ',' or ')' in the arguments of ${fn}()`);
    if (args.length !== FUNCTIONS[fn]) {
      const expected = FUNCTIONS[fn];
      throw new WhenSyntaxError(
        `${fn}() takes ${expected} argument${expected === 1 ? '' : 's'}, got ${args.length}`,
        token.column,
      );
    }
    return { kind: 'call', fn, args };
  }

  private expectPunct(value: string, message: string): void {
    const token = this.peek();
    if (token.type !== 'punct' || token.value !== value) {
      throw new WhenSyntaxError(`${message}, found ${describe(token)}`, token.column);
    }
    this.position++;
  }

  private peek(): Token {
    return this.tokens[Math.min(this.position, this.tokens.length - 1)];
  }

  private isWord(value: string): boolean {
    const token = this.peek();
    return token.type === 'word' && token.value === value;
  }

  private isPunct(value: string): boolean {
    const token = this.peek();
    return token.type === 'punct' && token.value === value;
  }
}

function describe(token: Token): string {
  switch (token.type) {
    case 'end':
      return 'end of the condition';
    case 'string':
      return `string ${JSON.stringify(token.value)}`;
    case 'number':
      return `number ${token.value}`;
    default:
      return `'${token.value}'`;
  }
}

// --- evaluation ------------------------------------------------------------------------------

function collectReferences(node: WhenNode, names: string[]): void {
  switch (node.kind) {
    case 'step':
      if (!names.includes(node.step)) names.push(node.step);
      return;
    case 'not':
      collectReferences(node.operand, names);
      return;
    case 'and':
    case 'or':
    case 'compare':
      collectReferences(node.left, names);
      collectReferences(node.right, names);
      return;
    case 'call':
      node.args.forEach((arg) => collectReferences(arg, names));
      return;
    default:
      return;
  }
}

function evaluate(node: WhenNode, context: WhenContext): WhenValue {
  switch (node.kind) {
    case 'literal':
      return node.value;
    case 'input':
      return typeof context.input === 'string' ? context.input : null;
    case 'step': {
      const step = Object.hasOwn(context.steps, node.step) ? context.steps[node.step] : undefined;
      const value = step?.[node.field];
      return typeof value === 'string' ? value : null;
    }
    case 'not':
      return !truthy(evaluate(node.operand, context));
    case 'and':
      return truthy(evaluate(node.left, context)) && truthy(evaluate(node.right, context));
    case 'or':
      return truthy(evaluate(node.left, context)) || truthy(evaluate(node.right, context));
    case 'compare':
      return compare(node.operator, evaluate(node.left, context), evaluate(node.right, context));
    case 'call':
      return call(
        node.fn,
        node.args.map((arg) => evaluate(arg, context)),
      );
  }
}

function truthy(value: WhenValue): boolean {
  if (typeof value === 'string') return value.trim() !== '';
  if (typeof value === 'number') return value !== 0 && !Number.isNaN(value);
  return value === true;
}

function asNumber(value: WhenValue): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && /^\s*-?\d+(\.\d+)?([eE][+-]?\d+)?\s*$/.test(value)) return Number(value);
  return undefined;
}

function equal(left: WhenValue, right: WhenValue): boolean {
  if (left === null || right === null) return left === right;
  if (typeof left === 'string' && typeof right === 'string') return left.trim() === right.trim();
  if (typeof left === 'boolean' || typeof right === 'boolean') {
    const asBool = (value: WhenValue) => (typeof value === 'boolean' ? String(value) : typeof value === 'string' ? value.trim() : value);
    return asBool(left) === asBool(right);
  }
  const a = asNumber(left);
  const b = asNumber(right);
  return a !== undefined && b !== undefined && a === b;
}

function order(left: WhenValue, right: WhenValue): number | undefined {
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

function compare(operator: ComparisonOperator, left: WhenValue, right: WhenValue): boolean {
  switch (operator) {
    case '==':
      return equal(left, right);
    case '!=':
      return !equal(left, right);
    case 'contains':
      return call('contains', [left, right]) as boolean;
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

function text(value: WhenValue): string | null {
  if (value === null) return null;
  return typeof value === 'string' ? value : String(value);
}

function call(fn: FunctionName, args: WhenValue[]): WhenValue {
  const [first = null, second = null] = args;
  const a = text(first);
  switch (fn) {
    case 'contains':
    case 'starts_with':
    case 'ends_with': {
      const b = text(second);
      if (a === null || b === null) return false;
      if (fn === 'contains') return a.includes(b);
      return fn === 'starts_with' ? a.trimStart().startsWith(b) : a.trimEnd().endsWith(b);
    }
    case 'lower':
      return a === null ? null : a.toLowerCase();
    case 'upper':
      return a === null ? null : a.toUpperCase();
    case 'trim':
      return a === null ? null : a.trim();
    case 'length':
      return a === null ? 0 : [...a].length;
  }
}
