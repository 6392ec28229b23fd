import { DiagnosticBag, SourcePos, didYouMean } from './diagnostics.js';
import { canonicalFunctionName, canonicalWordOperator } from './expressions.js';
import { Lexer, Token, TokenKind } from './lexer.js';
import type { GenericValue } from './model.js';
import { PositionIndex } from './positions.js';

/**
 * What every part of the `.ias` grammar uses: the token cursor, error recovery, the generic
 * `{ attribute value … }` block, typed value readers and conditions. The statements
 * themselves are in parser.ts.
 */

export const TOP_LEVEL_STATEMENTS = [
  'package',
  'import',
  'prompt',
  'skill',
  'agent',
  'pipeline',
  'deploy',
  'secret',
  'server',
  'client',
  'environment',
  'policy',
  'type',
  'user',
  'guardrail',
  'state',
  'plugin',
  'binding',
] as const;
export const TOP_LEVEL = new Set<string>(TOP_LEVEL_STATEMENTS);
const MAX_NESTING = 64;

export type Handler = (attribute: Token) => void;

/** Where a generic value's positions go: `key` on `target`, nested keys as `key.sub`, `key.0`. */
export interface MarkAt {
  target: object;
  key: string;
}

const ATTRIBUTE_INDEX = new WeakMap<readonly string[], Map<string, number>>();

/** The position of each name in an attribute list, computed once per list. */
function attributeIndex(known: readonly string[]): Map<string, number> {
  let index = ATTRIBUTE_INDEX.get(known);
  if (index === undefined) {
    index = new Map(known.map((name, i) => [name, i]));
    ATTRIBUTE_INDEX.set(known, index);
  }
  return index;
}

export abstract class ParserCore {
  /** Tokens consumed so far: lets a block see whether an attribute's reader made progress. */
  protected i = 0;
  /** The current token, and the one after it once someone looked. */
  private current: Token;
  private following: Token | undefined;
  /** Set once an unclosed block was reported, so enclosing blocks do not report it again. */
  protected abandoned = false;
  /** Nesting of recursive constructs (values, conditions, on input blocks), bounded to keep the stack safe. */
  protected depth = 0;
  /** The token of the last value read, for recording its position. */
  protected valueTok: Token;
  /** The attribute whose value is being read. */
  protected attrTok: Token;

  constructor(
    private readonly lexer: Lexer,
    protected readonly file: string,
    protected readonly diags: DiagnosticBag,
    protected readonly positions: PositionIndex,
  ) {
    this.current = lexer.next();
    this.valueTok = this.current;
    this.attrTok = this.current;
  }

  // ---- token helpers ----

  /** The current token (offset 0) or the one after it (offset 1): the grammar needs no more. */
  protected peek(offset: 0 | 1 = 0): Token {
    if (offset === 0) return this.current;
    this.following ??= this.lexer.next();
    return this.following;
  }

  protected next(): Token {
    const t = this.current;
    if (t.kind !== TokenKind.Eof) {
      this.current = this.following ?? this.lexer.next();
      this.following = undefined;
      this.i++;
    }
    return t;
  }

  protected eof(): boolean {
    return this.current.kind === TokenKind.Eof;
  }

  protected isWord(t: Token, word: string): boolean {
    return t.kind === TokenKind.Ident && t.text === word;
  }

  protected isPunct(t: Token, p: string): boolean {
    return t.kind === TokenKind.Punct && t.text === p;
  }

  protected pos(t: Token): SourcePos {
    return { file: this.file, line: t.line, column: t.column };
  }

  protected error(t: Token, message: string, ...hints: (string | undefined)[]): void {
    this.diags.error(this.pos(t), message, ...hints);
  }

  protected mark(target: object, key: string, t: Token): void {
    this.positions.set(target, key, this.file, t.line, t.column);
  }

  /** A token on the same line as the previous one that can still belong to the current clause. */
  protected onSameLine(t: Token): boolean {
    return !t.newline && t.kind !== TokenKind.Eof && !this.isPunct(t, '}');
  }

  /** Skips one token, or a whole bracketed group when it opens one. */
  protected skipGroup(): void {
    const open = this.next();
    const closer = open.kind === TokenKind.Punct ? ({ '{': '}', '[': ']', '(': ')' } as Record<string, string>)[open.text] : undefined;
    if (closer === undefined) return;
    let depth = 1;
    while (!this.eof() && depth > 0) {
      const t = this.next();
      if (t.kind !== TokenKind.Punct) continue;
      if (t.text === '{' || t.text === '[' || t.text === '(') depth++;
      else if (t.text === '}' || t.text === ']' || t.text === ')') depth--;
    }
  }

  /** Skips what is left of an attribute's value: the rest of its line, bracketed groups whole. */
  protected skipRestOfClause(): void {
    while (this.onSameLine(this.peek())) this.skipGroup();
  }

  /** Skips to the next top-level statement keyword that starts a line. */
  protected skipStatement(): void {
    let depth = 0;
    while (!this.eof()) {
      const t = this.peek();
      if (depth <= 0 && t.newline && TOP_LEVEL.has(t.text) && t.kind === TokenKind.Ident) return;
      this.next();
      if (t.kind === TokenKind.Punct) {
        if (t.text === '{' || t.text === '[' || t.text === '(') depth++;
        else if (t.text === '}' || t.text === ']' || t.text === ')') depth--;
      }
    }
  }

  protected describe(t: Token): string {
    switch (t.kind) {
      case TokenKind.String: {
        const shown = t.text.length > 24 ? `${t.text.slice(0, 24)}…` : t.text;
        return `string ${JSON.stringify(shown)}`;
      }
      case TokenKind.Number:
        return `number ${t.text}`;
      case TokenKind.Ident:
        return t.text === 'true' || t.text === 'false' ? `boolean ${t.text}` : `"${t.text}"`;
      case TokenKind.Eof:
        return 'end of file';
      default:
        return `"${t.text}"`;
    }
  }

  /**
   * Parses `{ attribute value … }`. `known` lists the attributes this block accepts (null:
   * any); `handler` reads the value of each known one.
   */
  protected block(context: string, known: readonly string[] | null, handler: Handler, repeatable?: ReadonlySet<string>): void {
    const open = this.peek();
    if (!this.isPunct(open, '{')) {
      this.error(open, `expected "{" to open ${context}, got ${this.describe(open)}`);
      this.skipStatement();
      return;
    }
    this.next();
    // Attributes already set, as bits of their index in `known` (no block has 31 of them).
    let seen = 0;
    const indexOf = known === null ? undefined : attributeIndex(known);
    for (;;) {
      const t = this.peek();
      if (this.isPunct(t, '}')) {
        this.next();
        return;
      }
      if (t.kind === TokenKind.Eof) {
        if (!this.abandoned) this.error(open, `unclosed "{" of ${context}`, 'add the missing "}"');
        this.abandoned = true;
        return;
      }
      if (t.kind !== TokenKind.Ident && !(t.kind === TokenKind.String && known === null)) {
        this.error(t, `expected an attribute in ${context}, got ${this.describe(t)}`);
        this.skipGroup();
        continue;
      }
      const index = indexOf?.get(t.text) ?? -1;
      const accepted = known === null || index >= 0;
      const startsStatement =
        t.kind === TokenKind.Ident &&
        t.newline &&
        t.column === 1 &&
        TOP_LEVEL.has(t.text) &&
        (!accepted || (known === null && this.peek(1).kind === TokenKind.String));
      if (startsStatement) {
        // A statement keyword at the start of a line: the block was most likely not closed.
        if (!this.abandoned) this.error(open, `unclosed "{" of ${context}`, 'add the missing "}"');
        this.abandoned = true;
        return;
      }
      if (!accepted) {
        this.error(t, `unknown attribute ${JSON.stringify(t.text)} in ${context}`, known ? didYouMean(t.text, known) : undefined);
        this.next();
        this.skipRestOfClause();
        continue;
      }
      this.next();
      if (index >= 0) {
        if ((seen & (1 << index)) !== 0 && !repeatable?.has(t.text)) {
          this.error(t, `"${t.text}" is set twice in ${context}`);
        }
        seen |= 1 << index;
      }
      const before = this.i;
      this.attrTok = t;
      handler(t);
      if (this.abandoned) return;
      if (this.i === before && this.onSameLine(this.peek())) this.skipGroup();
    }
  }

  // ---- value readers: each reports a type error and returns undefined on a mismatch ----

  protected missingOrWrong(attr: Token, expected: string, hint?: string): undefined {
    const t = this.peek();
    if (!this.onSameLine(t)) {
      this.error(attr, `missing value for "${attr.text}" (${expected})`, hint);
      return undefined;
    }
    this.error(t, `"${attr.text}" expects ${expected}, got ${this.describe(t)}`, hint);
    this.skipGroup();
    return undefined;
  }

  protected string(attr: Token): string | undefined {
    const t = this.peek();
    if (t.kind === TokenKind.String) {
      this.valueTok = this.next();
      return t.text;
    }
    const hint = t.kind === TokenKind.Ident && this.onSameLine(t) ? `quote it: "${t.text}"` : undefined;
    return this.missingOrWrong(attr, 'a string', hint);
  }

  /** A reference: a quoted name, or a bare word. */
  protected reference(attr: Token): string | undefined {
    const t = this.peek();
    if (t.kind === TokenKind.String || (t.kind === TokenKind.Ident && !t.newline)) {
      this.valueTok = this.next();
      return t.text;
    }
    return this.missingOrWrong(attr, 'a name');
  }

  protected integer(attr: Token): number | undefined {
    const t = this.peek();
    if (t.kind === TokenKind.Number) {
      this.valueTok = this.next();
      if (!/^-?\d+(\.\d+)?$/.test(t.text)) return undefined;
      if (t.text.includes('.')) {
        this.error(t, `"${attr.text}" expects an integer, got ${t.text}`);
        return undefined;
      }
      return Number(t.text);
    }
    const hint = t.kind === TokenKind.String && /^-?\d+$/.test(t.text) ? `remove the quotes: ${t.text}` : undefined;
    return this.missingOrWrong(attr, 'an integer', hint);
  }

  protected number(attr: Token): number | undefined {
    const t = this.peek();
    if (t.kind === TokenKind.Number) {
      this.valueTok = this.next();
      return Number(t.text);
    }
    const hint = t.kind === TokenKind.String && /^-?\d+(\.\d+)?$/.test(t.text) ? `remove the quotes: ${t.text}` : undefined;
    return this.missingOrWrong(attr, 'a number', hint);
  }

  protected boolean(attr: Token): boolean | undefined {
    const t = this.peek();
    if (this.isWord(t, 'true') || this.isWord(t, 'false')) {
      this.valueTok = this.next();
      return t.text === 'true';
    }
    const hint = t.kind === TokenKind.String && (t.text === 'true' || t.text === 'false') ? `remove the quotes: ${t.text}` : undefined;
    return this.missingOrWrong(attr, 'true or false', hint);
  }

  /** `["a", "b"]`; with `single`, a lone string is accepted too. Positions go to `key.<index>`. */
  protected stringList(attr: Token, target: object, key: string, single = false): string[] | undefined {
    const t = this.peek();
    if (single && t.kind === TokenKind.String) {
      this.next();
      this.mark(target, `${key}.0`, t);
      return [t.text];
    }
    if (!this.isPunct(t, '[')) return this.missingOrWrong(attr, single ? 'a string or a list of strings' : 'a list of strings');
    this.next();
    this.mark(target, key, t);
    const items: string[] = [];
    this.listItems(attr, (e) => {
      if (e.kind === TokenKind.String) {
        this.mark(target, `${key}.${items.length}`, e);
        items.push(e.text);
        this.next();
      } else {
        this.error(e, `the list of "${attr.text}" holds strings, got ${this.describe(e)}`);
        this.skipGroup();
      }
      return true;
    });
    return items;
  }

  /**
   * The items of a list whose `[` was just read, up to and including its `]`; commas between
   * items are optional. `item` reads one item starting at the token it is given, and returns
   * false to stop reading the list (an error it already reported).
   */
  private listItems(attr: Token, item: (first: Token) => boolean): void {
    for (;;) {
      const e = this.peek();
      if (this.isPunct(e, ']')) {
        this.next();
        return;
      }
      if (e.kind === TokenKind.Eof || this.isPunct(e, '}')) {
        this.error(e, `expected "]" to close the list of "${attr.text}", got ${this.describe(e)}`);
        return;
      }
      if (this.isPunct(e, ',')) {
        this.next();
        continue;
      }
      if (!item(e)) return;
    }
  }

  /** `{ KEY "value" … }`: string values only. Positions go to `key.<KEY>`. */
  protected keyValues(attr: Token, target: object, key: string, context: string): Record<string, string> {
    const result: Record<string, string> = {};
    const open = this.peek();
    if (!this.isPunct(open, '{')) {
      this.missingOrWrong(attr, 'a block { key "value" … }');
      return result;
    }
    this.mark(target, key, open);
    this.block(context, null, (k) => {
      const v = this.peek();
      if (Object.hasOwn(result, k.text)) this.error(k, `"${k.text}" is set twice in ${context}`);
      if (v.kind === TokenKind.String) {
        this.next();
        result[k.text] = v.text;
        this.mark(target, `${key}.${k.text}`, v);
        return;
      }
      const hint = v.kind === TokenKind.Number || v.kind === TokenKind.Ident ? `values are strings: ${k.text} "${v.text}"` : undefined;
      this.missingOrWrong(k, 'a string', hint);
    });
    return result;
  }

  /** Assigns `value` when defined and records where it was written. */
  protected put(target: object, key: string, value: string | number | boolean | undefined): void {
    if (value === undefined) {
      // Written but malformed (already reported): recorded so validation does not also call it missing.
      if (this.positions.get(target, key) === undefined) this.mark(target, key, this.attrTok);
      return;
    }
    (target as Record<string, unknown>)[key] = value;
    this.mark(target, key, this.valueTok);
  }

  // ---- generic values, for the blocks the runtime keeps but does not act on ----

  protected genericValue(attr: Token, at?: MarkAt): GenericValue | undefined {
    if (!this.enter()) return undefined;
    try {
      return this.genericValueInner(attr, at);
    } finally {
      this.depth--;
    }
  }

  /** Counts one level of nesting; past the limit, reports it and skips the nested part. */
  protected enter(): boolean {
    if (this.depth >= MAX_NESTING) {
      this.error(this.peek(), `nesting is deeper than ${MAX_NESTING} levels`);
      this.skipGroup();
      this.skipRestOfClause();
      return false;
    }
    this.depth++;
    return true;
  }

  protected genericValueInner(attr: Token, at?: MarkAt): GenericValue | undefined {
    const t = this.peek();
    if (at !== undefined && this.onSameLine(t)) this.mark(at.target, at.key, t);
    if (t.kind === TokenKind.String || t.kind === TokenKind.Number) {
      this.next();
      return t.kind === TokenKind.Number ? Number(t.text) : t.text;
    }
    if (t.kind === TokenKind.Ident && this.onSameLine(t)) {
      this.next();
      return t.text === 'true' ? true : t.text === 'false' ? false : t.text;
    }
    if (this.isPunct(t, '[')) {
      this.next();
      const items: GenericValue[] = [];
      this.listItems(attr, () => {
        const v = this.genericValue(attr, at && { target: at.target, key: `${at.key}.${items.length}` });
        if (v === undefined) return false;
        items.push(v);
        return true;
      });
      return items;
    }
    if (this.isPunct(t, '{')) return this.genericBlock(`the "${attr.text}" block`, at);
    return this.missingOrWrong(attr, 'a value');
  }

  protected genericBlock(context: string, at?: MarkAt): Record<string, GenericValue> {
    const result: Record<string, GenericValue> = {};
    this.block(context, null, (k) => {
      if (Object.hasOwn(result, k.text)) this.error(k, `"${k.text}" is set twice in ${context}`);
      const v = this.genericValue(k, at && { target: at.target, key: `${at.key}.${k.text}` });
      if (v !== undefined) result[k.text] = v;
    });
    return result;
  }

  protected expectWord(word: string, after: Token, hint: string): boolean {
    const t = this.peek();
    if (this.isWord(t, word) && !t.newline) {
      this.next();
      return true;
    }
    this.error(this.onSameLine(t) ? t : after, `expected "${word}" after "${after.text}", got ${this.describe(t)}`, hint);
    this.skipRestOfClause();
    return false;
  }

  // ---- expressions: read here as far as they go, kept as canonical text ----
  // The text is parsed and checked by expressions.ts when the definitions are validated; the
  // position of each of its tokens is recorded so that a problem found there points here.

  /** The pieces of the canonical text being read, and its length so far. */
  private exprOut: string[] | undefined;
  private exprLength = 0;
  /** Where each token of the last expression read was written, by its offset in the text. */
  protected exprMarks: { offset: number; tok: Token }[] = [];

  /**
   * Reads an expression and returns it as canonical text: `and`/`or`/`not` for `&& || !`,
   * functions and word operators under their canonical names (`startsWith` → `starts_with`),
   * strings as JSON strings, single spaces between tokens. Undefined when it is malformed
   * (reported).
   */
  protected expression(): string | undefined {
    this.exprOut = [];
    this.exprLength = 0;
    this.exprMarks = [];
    try {
      return this.nestedExpression() ? this.exprOut.join('') : undefined;
    } finally {
      this.exprOut = undefined;
    }
  }

  /** Records where the last expression read was written: `key` and `key.@.<offset>` on `target`. */
  protected markExpression(target: object, key: string): void {
    const [first] = this.exprMarks;
    if (first === undefined) return;
    this.mark(target, key, first.tok);
    for (const { offset, tok } of this.exprMarks) this.mark(target, `${key}.@.${offset}`, tok);
  }

  private emit(text: string, tok?: Token): void {
    if (tok !== undefined) this.exprMarks.push({ offset: this.exprLength, tok });
    this.exprOut?.push(text);
    this.exprLength += text.length;
  }

  private nestedExpression(): boolean {
    if (!this.enter()) return false;
    try {
      return this.orExpression();
    } finally {
      this.depth--;
    }
  }

  private orExpression(): boolean {
    if (!this.andExpression()) return false;
    while (this.isWord(this.peek(), 'or') || this.isPunct(this.peek(), '||')) {
      this.emit(' ');
      this.emit('or', this.next());
      this.emit(' ');
      if (!this.andExpression()) return false;
    }
    return true;
  }

  private andExpression(): boolean {
    if (!this.notExpression()) return false;
    while (this.isWord(this.peek(), 'and') || this.isPunct(this.peek(), '&&')) {
      this.emit(' ');
      this.emit('and', this.next());
      this.emit(' ');
      if (!this.notExpression()) return false;
    }
    return true;
  }

  private notExpression(): boolean {
    if (this.isWord(this.peek(), 'not') || this.isPunct(this.peek(), '!')) {
      this.emit('not', this.next());
      this.emit(' ');
      if (!this.enter()) return false;
      try {
        return this.notExpression();
      } finally {
        this.depth--;
      }
    }
    if (!this.primary()) return false;
    const op = this.peek();
    const word = op.kind === TokenKind.Ident && !op.newline ? canonicalWordOperator(op.text) : undefined;
    if (op.kind !== TokenKind.Operator && word === undefined) return true;
    this.next();
    this.emit(' ');
    this.emit(word ?? op.text, op);
    this.emit(' ');
    return this.primary();
  }

  private primary(): boolean {
    const t = this.peek();
    if (t.kind === TokenKind.String) {
      this.emit(JSON.stringify(this.next().text), t);
      return true;
    }
    if (t.kind === TokenKind.Number) {
      this.emit(this.next().text, t);
      return true;
    }
    if (t.kind === TokenKind.Ident && t.text !== 'and' && t.text !== 'or') {
      const open = this.peek(1);
      if (this.isPunct(open, '(') && !open.newline) return this.call(t);
      this.emit(this.next().text, t);
      while (this.isPunct(this.peek(), '.')) {
        const dot = this.next();
        const part = this.peek();
        if (part.kind !== TokenKind.Ident) {
          this.error(part, `expected a name after ".", got ${this.describe(part)}`);
          return false;
        }
        this.emit('.', dot);
        this.emit(this.next().text, part);
      }
      return true;
    }
    if (this.isPunct(t, '(')) {
      this.emit('(', this.next());
      if (!this.nestedExpression()) return false;
      const close = this.peek();
      if (!this.isPunct(close, ')')) {
        this.error(close, `expected ")", got ${this.describe(close)}`);
        return false;
      }
      this.emit(')', this.next());
      return true;
    }
    if (this.isPunct(t, '[')) {
      this.emit('[', this.next());
      let first = true;
      for (;;) {
        const e = this.peek();
        if (this.isPunct(e, ']')) break;
        if (e.kind === TokenKind.Eof || this.isPunct(e, '}')) {
          this.error(e, `expected "]" to close the list, got ${this.describe(e)}`);
          return false;
        }
        if (this.isPunct(e, ',')) {
          this.next();
          continue;
        }
        if (!first) this.emit(', ');
        first = false;
        if (!this.nestedExpression()) return false;
      }
      this.emit(']', this.next());
      return true;
    }
    this.error(t, `expected a condition or value, got ${this.describe(t)}`);
    return false;
  }

  /**
   * `name(a, b)`, kept under the function's canonical name. Whether the function exists and
   * takes that many arguments is checked with the rest of the expression, in expressions.ts.
   */
  private call(nameTok: Token): boolean {
    this.next();
    this.emit(canonicalFunctionName(nameTok.text) ?? nameTok.text, nameTok);
    this.emit('(', this.next());
    let first = true;
    while (!this.isPunct(this.peek(), ')')) {
      if (!first) this.emit(', ');
      first = false;
      if (!this.nestedExpression()) return false;
      const sep = this.peek();
      if (this.isPunct(sep, ',')) this.next();
      else if (!this.isPunct(sep, ')')) {
        this.error(sep, `expected "," or ")" in the call of ${nameTok.text}, got ${this.describe(sep)}`);
        return false;
      }
    }
    this.emit(')', this.next());
    return true;
  }
}
