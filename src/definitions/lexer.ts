import { DiagnosticBag } from './diagnostics.js';

export enum TokenKind {
  Ident,
  String,
  Number,
  /** `{ } [ ] ( ) , . : *`, and `&& || !` (spellings of and, or, not in conditions) */
  Punct,
  /** `== != > >= < <=` */
  Operator,
  Eof,
}

export interface Token {
  kind: TokenKind;
  /** Identifier name, decoded string value, number text, or the punctuation/operator itself. */
  text: string;
  line: number;
  column: number;
  /** First token on its line: the grammar is newline-sensitive in a few places. */
  newline: boolean;
}

const enum Ch {
  Tab = 9,
  Newline = 10,
  Return = 13,
  Space = 32,
  Bang = 33,
  Quote = 34,
  Hash = 35,
  Amp = 38,
  LParen = 40,
  RParen = 41,
  Star = 42,
  Comma = 44,
  Minus = 45,
  Dot = 46,
  Slash = 47,
  Zero = 48,
  Nine = 57,
  Colon = 58,
  Semicolon = 59,
  Less = 60,
  Equals = 61,
  Greater = 62,
  UpperA = 65,
  UpperZ = 90,
  LBracket = 91,
  Backslash = 92,
  RBracket = 93,
  Underscore = 95,
  LowerA = 97,
  LowerN = 110,
  LowerT = 116,
  LowerZ = 122,
  LBrace = 123,
  Pipe = 124,
  RBrace = 125,
  Bom = 0xfeff,
}

function isDigit(c: number): boolean {
  return c >= Ch.Zero && c <= Ch.Nine;
}

function isIdentStart(c: number): boolean {
  return (c >= Ch.LowerA && c <= Ch.LowerZ) || (c >= Ch.UpperA && c <= Ch.UpperZ) || c === Ch.Underscore;
}

function isIdentPart(c: number): boolean {
  return isIdentStart(c) || isDigit(c) || c === Ch.Minus;
}

/**
 * Splits IntentLang source into tokens, one at a time: the parser pulls them as it goes, so
 * tokens die young instead of a whole file's worth being kept (which cost garbage-collection
 * time on large inputs). Lexical errors are reported to `diagnostics` and the offending
 * characters skipped, so the parser still sees the rest of the file.
 */
export class Lexer {
  private i: number;
  private line = 1;
  private lineStart = 0;
  private atLineStart = true;
  private readonly length: number;

  constructor(
    private readonly source: string,
    private readonly file: string,
    private readonly diagnostics: DiagnosticBag,
  ) {
    this.length = source.length;
    this.i = source.charCodeAt(0) === Ch.Bom ? 1 : 0;
  }

  private err(offset: number, ln: number, lnStart: number, message: string, hint?: string): void {
    this.diagnostics.error({ file: this.file, line: ln, column: offset - lnStart + 1 }, message, hint);
  }

  private make(kind: TokenKind, text: string, start: number, ln: number, lnStart: number): Token {
    const t: Token = { kind, text, line: ln, column: start - lnStart + 1, newline: this.atLineStart };
    this.atLineStart = false;
    return t;
  }

  /** The next token; at the end, an Eof token (again on every further call). */
  next(): Token {
    const source = this.source;
    const length = this.length;
    for (;;) {
      const i = this.i;
      if (i >= length) {
        return { kind: TokenKind.Eof, text: '', line: this.line, column: i - this.lineStart + 1, newline: true };
      }
      const c = source.charCodeAt(i);
      if (c === Ch.Space || c === Ch.Tab || c === Ch.Return) {
        this.i++;
        continue;
      }
      if (c === Ch.Newline) {
        this.i++;
        this.line++;
        this.lineStart = this.i;
        this.atLineStart = true;
        continue;
      }
      if (c === Ch.Hash || (c === Ch.Slash && source.charCodeAt(i + 1) === Ch.Slash)) {
        let k = i;
        while (k < length && source.charCodeAt(k) !== Ch.Newline) k++;
        this.i = k;
        continue;
      }
      const token = this.scan(c, i);
      if (token !== undefined) return token;
    }
  }

  /** Scans the token starting at `start`; undefined when the characters there were an error. */
  private scan(c: number, start: number): Token | undefined {
    const source = this.source;
    const length = this.length;
    const line = this.line;
    const lineStart = this.lineStart;
    let i = start;
    if (isIdentStart(c)) {
      i++;
      while (i < length && isIdentPart(source.charCodeAt(i))) i++;
      this.i = i;
      return this.make(TokenKind.Ident, source.slice(start, i), start, line, lineStart);
    }
    if (isDigit(c) || (c === Ch.Minus && isDigit(source.charCodeAt(i + 1)))) {
      i++;
      while (i < length) {
        const d = source.charCodeAt(i);
        if (!isDigit(d) && d !== Ch.Dot) break;
        i++;
      }
      this.i = i;
      const text = source.slice(start, i);
      if (!isWellFormedNumber(text)) this.err(start, line, lineStart, `invalid number "${text}"`);
      return this.make(TokenKind.Number, text, start, line, lineStart);
    }
    if (c === Ch.Quote) return this.string(start);
    switch (c) {
      case Ch.LBrace:
      case Ch.RBrace:
      case Ch.LBracket:
      case Ch.RBracket:
      case Ch.LParen:
      case Ch.RParen:
      case Ch.Comma:
      case Ch.Dot:
      case Ch.Colon:
      case Ch.Star:
        this.i = i + 1;
        return this.make(TokenKind.Punct, source[start], start, line, lineStart);
      case Ch.Equals:
        if (source.charCodeAt(i + 1) === Ch.Equals) {
          this.i = i + 2;
          return this.make(TokenKind.Operator, '==', start, line, lineStart);
        }
        this.i = i + 1;
        this.err(start, line, lineStart, 'unexpected character "="', 'attributes are written as `name value` without "="; compare with "=="');
        return undefined;
      case Ch.Bang:
        if (source.charCodeAt(i + 1) === Ch.Equals) {
          this.i = i + 2;
          return this.make(TokenKind.Operator, '!=', start, line, lineStart);
        }
        this.i = i + 1;
        return this.make(TokenKind.Punct, '!', start, line, lineStart);
      case Ch.Greater:
      case Ch.Less:
        this.i = i + (source.charCodeAt(i + 1) === Ch.Equals ? 2 : 1);
        return this.make(TokenKind.Operator, source.slice(start, this.i), start, line, lineStart);
      case Ch.Amp:
      case Ch.Pipe: {
        this.i = i + (source.charCodeAt(i + 1) === c ? 2 : 1);
        const text = source.slice(start, this.i);
        if (text.length === 2) return this.make(TokenKind.Punct, text, start, line, lineStart);
        this.err(start, line, lineStart, `unexpected "${text}"`, `combine conditions with "${c === Ch.Amp ? 'and' : 'or'}"`);
        return undefined;
      }
      case Ch.Semicolon:
        this.i = i + 1;
        this.err(start, line, lineStart, 'unexpected character ";"', 'statements end with the line or the block; remove the ";"');
        return undefined;
      default: {
        const ch = String.fromCodePoint(source.codePointAt(i) ?? c);
        this.i = i + ch.length;
        this.err(start, line, lineStart, `unexpected character ${JSON.stringify(ch)}`);
        return undefined;
      }
    }
  }

  private string(start: number): Token {
    const source = this.source;
    const length = this.length;
    const startLine = this.line;
    const startLineStart = this.lineStart;
    if (source.charCodeAt(start + 1) === Ch.Quote && source.charCodeAt(start + 2) === Ch.Quote) {
      this.err(
        start,
        startLine,
        startLineStart,
        'triple-quoted strings (""") are not supported',
        'use one pair of double quotes: a string may span several lines',
      );
      const close = source.indexOf('"""', start + 3);
      const end = close < 0 ? length : close + 3;
      for (let k = start; k < end; k++) {
        if (source.charCodeAt(k) === Ch.Newline) {
          this.line++;
          this.lineStart = k + 1;
        }
      }
      this.i = end;
      return this.make(TokenKind.String, source.slice(start + 3, close < 0 ? length : close), start, startLine, startLineStart);
    }
    let i = start + 1;
    let value = '';
    let chunkStart = i;
    let closed = false;
    while (i < length) {
      const d = source.charCodeAt(i);
      if (d === Ch.Quote) {
        closed = true;
        break;
      }
      if (d === Ch.Newline) {
        this.line++;
        this.lineStart = i + 1;
        i++;
        continue;
      }
      if (d === Ch.Backslash && i + 1 < length) {
        const e = source.charCodeAt(i + 1);
        let replacement: string | undefined;
        if (e === Ch.LowerN) replacement = '\n';
        else if (e === Ch.LowerT) replacement = '\t';
        else if (e === Ch.Backslash) replacement = '\\';
        else if (e === Ch.Quote) replacement = '"';
        if (replacement !== undefined) {
          value += source.slice(chunkStart, i) + replacement;
          i += 2;
          chunkStart = i;
          continue;
        }
      }
      i++;
    }
    value += source.slice(chunkStart, i);
    if (closed) i++;
    else this.err(start, startLine, startLineStart, 'unterminated string', 'close it with a double quote (")');
    this.i = i;
    return this.make(TokenKind.String, value, start, startLine, startLineStart);
  }
}

/** All tokens of `source`, ending with Eof. */
export function tokenize(source: string, file: string, diagnostics: DiagnosticBag): Token[] {
  const lexer = new Lexer(source, file, diagnostics);
  const tokens: Token[] = [];
  for (;;) {
    const t = lexer.next();
    tokens.push(t);
    if (t.kind === TokenKind.Eof) return tokens;
  }
}

/** `-?digits(.digits)?` checked by hand: the lexer accepted any run of digits and dots. */
function isWellFormedNumber(text: string): boolean {
  let k = text.charCodeAt(0) === Ch.Minus ? 1 : 0;
  let digitsBefore = 0;
  while (k < text.length && isDigit(text.charCodeAt(k))) {
    k++;
    digitsBefore++;
  }
  if (digitsBefore === 0) return false;
  if (k === text.length) return true;
  if (text.charCodeAt(k) !== Ch.Dot) return false;
  k++;
  const afterDot = k;
  while (k < text.length && isDigit(text.charCodeAt(k))) k++;
  return k === text.length && k > afterDot;
}
