import { RE2JS, RE2JSException } from 're2js';

/**
 * Guardrail keywords and patterns, compiled with RE2 (the re2js port), whose matching time is
 * linear in the text: a pattern cannot make an answer take exponential time to check, and one
 * with lookaround or backreferences, which would need backtracking, does not compile.
 */

/** The longest keyword or pattern accepted, in UTF-16 code units. */
export const MAX_GUARDRAIL_ENTRY_LENGTH = 1000;

/**
 * The shortest and longest text one match can span, in UTF-16 code units; `max` is Infinity when
 * the pattern has an unbounded repetition (`*`, `+`, `{n,}`).
 */
export interface MatchWidth {
  min: number;
  max: number;
}

export type CompiledPattern = { ok: true; regex: RE2JS; width: MatchWidth } | { ok: false; reason: string };

/** Compiles a guardrail pattern; `reason` is RE2's message when it does not compile. */
export function compileGuardrailPattern(source: string): CompiledPattern {
  if (source.length > MAX_GUARDRAIL_ENTRY_LENGTH) {
    return { ok: false, reason: `it is longer than ${MAX_GUARDRAIL_ENTRY_LENGTH} characters` };
  }
  try {
    return { ok: true, regex: RE2JS.compile(source), width: patternWidth(source) };
  } catch (error) {
    if (!(error instanceof RE2JSException)) throw error;
    return { ok: false, reason: error.message.replace(/^error parsing regexp: /, '') };
  }
}

/**
 * One case-insensitive regular expression matching any of the keywords as a substring, and the
 * longest text it can match. Case-insensitive is RE2's: Unicode simple case folding, character by
 * character and independent of the locale ("Σ" matches "σ" and "ς"; "ß" does not match "ss").
 */
export function compileKeywords(keywords: readonly string[]): { regex: RE2JS; maxLength: number } {
  const regex = RE2JS.compile(keywords.map((k) => RE2JS.quote(k)).join('|'), RE2JS.CASE_INSENSITIVE);
  let maxLength = 0;
  for (const k of keywords) maxLength = Math.max(maxLength, foldedLength(k));
  return { regex, maxLength };
}

/** Compiles one keyword alone (to tell which keyword of a list matched). */
export function compileKeyword(keyword: string): RE2JS {
  return RE2JS.compile(RE2JS.quote(keyword), RE2JS.CASE_INSENSITIVE);
}

/**
 * An upper bound on the UTF-16 length of a case-insensitive match of `text`: a non-ASCII
 * character may match a case variant outside the Basic Multilingual Plane (two code units).
 */
function foldedLength(text: string): number {
  let n = 0;
  for (const ch of text) n += ch.codePointAt(0)! < 0x80 ? 1 : 2;
  return n;
}

const UNKNOWN: MatchWidth = { min: 1, max: Infinity };

/**
 * The width of the matches of an RE2 pattern that compiles, read from its syntax (re2js does not
 * expose its parse tree). Sound rather than exact: `max` is never below a real match's length,
 * `min` never above. A character class or `.` may match a character outside the Basic
 * Multilingual Plane unless it is made of ASCII only, so it counts two code units. A construct the
 * reader does not know gives an unbounded width, which only costs streaming latency.
 */
export function patternWidth(source: string): MatchWidth {
  const reader = new WidthReader(source);
  const width = reader.alternation();
  return reader.done() ? width : UNKNOWN;
}

const POSIX_CLASS = /^\[:(\^?)[a-z]+:\]/;
const REPEAT = /^\{(\d+)(,(\d*))?\}/;
const NAMED_GROUP = /^\(\?P?<[A-Za-z0-9_]+>/;
const FLAGS = /^\(\?[imsU-]*([:)])/;

function times(width: number, count: number): number {
  return width === 0 ? 0 : width * count;
}

class WidthReader {
  private i = 0;
  /** Whether case folding may be on anywhere: `(?i` appears in the source. */
  private readonly folds: boolean;
  private failed = false;

  constructor(private readonly src: string) {
    this.folds = /\(\?[a-zA-Z-]*i/.test(src);
  }

  done(): boolean {
    return !this.failed && this.i === this.src.length;
  }

  alternation(): MatchWidth {
    const result = this.concatenation();
    while (this.src[this.i] === '|') {
      this.i++;
      const next = this.concatenation();
      result.min = Math.min(result.min, next.min);
      result.max = Math.max(result.max, next.max);
    }
    return result;
  }

  private concatenation(): MatchWidth {
    const result = { min: 0, max: 0 };
    while (!this.failed && this.i < this.src.length && this.src[this.i] !== '|' && this.src[this.i] !== ')') {
      const atom = this.repeated(this.atom());
      result.min += atom.min;
      result.max += atom.max;
    }
    return result;
  }

  private repeated(atom: MatchWidth): MatchWidth {
    let { min, max } = atom;
    for (;;) {
      const c = this.src[this.i];
      let lo: number;
      let hi: number;
      if (c === '*' || c === '+' || c === '?') {
        this.i++;
        [lo, hi] = c === '*' ? [0, Infinity] : c === '+' ? [1, Infinity] : [0, 1];
      } else if (c === '{' && REPEAT.test(this.src.slice(this.i, this.i + 16))) {
        const m = REPEAT.exec(this.src.slice(this.i, this.i + 16))!;
        this.i += m[0].length;
        lo = Number(m[1]);
        hi = m[2] === undefined ? lo : m[3] === '' ? Infinity : Number(m[3]);
      } else {
        return { min, max };
      }
      if (this.src[this.i] === '?') this.i++;
      min = times(min, lo);
      max = times(max, hi);
    }
  }

  private atom(): MatchWidth {
    const c = this.src[this.i];
    switch (c) {
      case '(':
        return this.group();
      case '[':
        return this.characterClass();
      case '.':
        this.i++;
        return { min: 1, max: 2 };
      case '^':
      case '$':
        this.i++;
        return { min: 0, max: 0 };
      case '\\':
        return this.escape();
      default:
        return this.literalWidth(this.codePoint());
    }
  }

  private group(): MatchWidth {
    const rest = this.src.slice(this.i, this.i + 64);
    if (rest.startsWith('(?')) {
      const named = NAMED_GROUP.exec(rest);
      const flags = FLAGS.exec(rest);
      if (named !== null) {
        this.i += named[0].length;
      } else if (flags !== null) {
        this.i += flags[0].length;
        if (flags[1] === ')') return { min: 0, max: 0 };
      } else {
        this.failed = true;
        return UNKNOWN;
      }
    } else {
      this.i++;
    }
    const inner = this.alternation();
    if (this.src[this.i] !== ')') {
      this.failed = true;
      return UNKNOWN;
    }
    this.i++;
    return inner;
  }

  private escape(): MatchWidth {
    const c = this.src[this.i + 1];
    this.i += 2;
    switch (c) {
      case 'b':
      case 'B':
      case 'A':
      case 'z':
        return { min: 0, max: 0 };
      case 'd':
      case 'w':
      case 's':
        return { min: 1, max: 1 };
      case 'D':
      case 'W':
      case 'S':
        return { min: 1, max: 2 };
      case 'p':
      case 'P':
        this.skipUnicodeClassName();
        return { min: 1, max: 2 };
      case 'Q': {
        const end = this.src.indexOf('\\E', this.i);
        const text = this.src.slice(this.i, end < 0 ? this.src.length : end);
        this.i = end < 0 ? this.src.length : end + 2;
        const result = { min: 0, max: 0 };
        for (const ch of text) {
          const w = this.literalWidth(ch.codePointAt(0)!);
          result.min += w.min;
          result.max += w.max;
        }
        return result;
      }
      default:
        this.i -= 2;
        return this.literalWidth(this.escapedCodePoint());
    }
  }

  /** After `\p` or `\P`: a one-letter name or `{Name}`. */
  private skipUnicodeClassName(): void {
    if (this.src[this.i] === '{') {
      const end = this.src.indexOf('}', this.i);
      this.i = end < 0 ? this.src.length : end + 1;
    } else {
      this.i++;
    }
  }

  /** The character a single-character escape (`\x41`, `\x{1F600}`, `\012`, `\n`, `\.`) stands for. */
  private escapedCodePoint(): number {
    const c = this.src[this.i + 1];
    this.i += 2;
    if (c === 'x') {
      if (this.src[this.i] === '{') {
        const end = this.src.indexOf('}', this.i);
        const value = parseInt(this.src.slice(this.i + 1, end), 16);
        this.i = end + 1;
        return value;
      }
      const value = parseInt(this.src.slice(this.i, this.i + 2), 16);
      this.i += 2;
      return value;
    }
    if (c >= '0' && c <= '7') {
      let digits = c;
      while (digits.length < 3 && this.src[this.i] >= '0' && this.src[this.i] <= '7') digits += this.src[this.i++];
      return parseInt(digits, 8);
    }
    this.i -= 1;
    return this.codePoint();
  }

  /** The code point at the cursor, which it passes. */
  private codePoint(): number {
    const cp = this.src.codePointAt(this.i)!;
    this.i += cp > 0xffff ? 2 : 1;
    return cp;
  }

  private literalWidth(cp: number): MatchWidth {
    if (cp > 0xffff) return { min: 2, max: 2 };
    return { min: 1, max: this.folds && cp >= 0x80 ? 2 : 1 };
  }

  /** `[…]`: one character, two code units unless the class is plain ASCII. */
  private characterClass(): MatchWidth {
    this.i++;
    let wide = false;
    if (this.src[this.i] === '^') {
      wide = true;
      this.i++;
    }
    let first = true;
    while (this.i < this.src.length && (first || this.src[this.i] !== ']')) {
      first = false;
      const posix = POSIX_CLASS.exec(this.src.slice(this.i, this.i + 16));
      if (posix !== null) {
        this.i += posix[0].length;
        if (posix[1] === '^') wide = true;
        continue;
      }
      if (this.src[this.i] === '\\' && 'dwsDWSpP'.includes(this.src[this.i + 1])) {
        const c = this.src[this.i + 1];
        this.i += 2;
        if (c === 'p' || c === 'P') this.skipUnicodeClassName();
        if (c !== 'd' && c !== 'w' && c !== 's') wide = true;
        continue;
      }
      const low = this.classCharacter();
      if (this.src[this.i] === '-' && this.src[this.i + 1] !== ']' && this.i + 1 < this.src.length) {
        this.i++;
        const high = this.classCharacter();
        if (high >= 0x80) wide = true;
      } else if (low >= 0x80) {
        wide = true;
      }
    }
    if (this.src[this.i] !== ']') {
      this.failed = true;
      return UNKNOWN;
    }
    this.i++;
    return { min: 1, max: wide ? 2 : 1 };
  }

  private classCharacter(): number {
    return this.src[this.i] === '\\' ? this.escapedCodePoint() : this.codePoint();
  }
}
