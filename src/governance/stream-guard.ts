import type { RE2JS } from 're2js';
import type { GuardrailFinding, GuardrailRule, GuardrailSet } from './guardrails.js';

export interface StreamOutcome {
  blocked: boolean;
  /** Not blocked: the rest of the answer, still to be sent. Blocked: the fallback. */
  text: string;
  findings: GuardrailFinding[];
  blockedBy?: string;
}

/** RE2's "unanchored" search mode (re2js `RE2Flags.UNANCHORED`, which it does not export). */
const UNANCHORED = 0;
/** Characters kept before a search start, for what `\b` and `(?m)^` read there (a pair is two). */
const CONTEXT = 2;

/** Whether `regex` matches in `text` at or after `from`, reading the text before `from` as context. */
function matchesFrom(regex: RE2JS, text: string, from: number): boolean {
  // The lazy DFA, without capture positions: several times faster than a Matcher.
  return (regex.re2().matchWithGroup(text, from, text.length, UNANCHORED, 0) as [boolean, unknown])[0];
}

/** The end of the leftmost match at or after `from`, or undefined. */
function leftmostMatchEnd(regex: RE2JS, text: string, from: number): number | undefined {
  const m = regex.matcher(text);
  return m.find(from) ? m.end() : undefined;
}

const isHigh = (c: number): boolean => c >= 0xd800 && c <= 0xdbff;
const isLow = (c: number): boolean => c >= 0xdc00 && c <= 0xdfff;

/**
 * Guards one streamed answer: `push` returns what may be sent now, `finish` what is left (or
 * the fallback). Text a "block" guardrail matches is never released: the last W characters
 * are held back, W being the longest match of any block rule. When a block pattern is unbounded
 * (`*`, `+`, `{n,}`) the whole answer is held until `finish`, so it streams no sooner than
 * it would without streaming. "warn" guardrails hold nothing back; all guardrails are checked
 * against the whole answer at `finish`, so the outcome is the one `GuardrailSet.apply` gives.
 *
 * Why scanning a window is enough. For each block rule R (longest match W), `scan` is a
 * position such that no match of R in the final answer starts before it: 0 at first. After a
 * push the text so far is X (length n); search X from `scan`, with the text before `scan` as
 * context. (1) A match [s, e) of the final answer with e < n is a match in X: RE2's assertions
 * read at most one character on either side of a position, and X and the final answer agree up
 * to and including position e. (2) If the leftmost match found ends before n, it is such a
 * match: the answer is blocked. (3) Otherwise every match of the final answer starting before
 * n - W ends before n (s + W ≤ e), so it is a match in X, starting at or after `scan` (by the
 * invariant) and before the leftmost one found, which cannot be: `scan` may move to n - W.
 * Keywords have no assertions, so any keyword match found blocks at once.
 * Holding back W and not W - 1 characters is what makes e < n in (3), so that `$`, `\b` and
 * `\B` at the end of a match read the character after it. Each push searches from the previous
 * n - W: O(W + chunk) per push, not O(n). `scan` never stops between the halves of a surrogate
 * pair (RE2 would step into the pair there), and neither does the text released.
 */
export class StreamGuard {
  private readonly rules: readonly GuardrailRule[];
  private readonly scan: number[];
  private readonly holdAll: boolean;
  private readonly parts: string[] = [];
  /** The text from `windowStart` to the end: what is still to be searched or released. */
  private window = '';
  private windowStart = 0;
  private length = 0;
  private released = 0;
  private blockedEarly = false;
  private outcome?: StreamOutcome;

  constructor(private readonly set: GuardrailSet) {
    this.rules = set.blockRules.filter((r) => Number.isFinite(r.maxMatchLength));
    this.holdAll = this.rules.length < set.blockRules.length;
    this.scan = this.rules.map(() => 0);
  }

  /** A block guardrail has matched: nothing more will be released, and the lead may stop the model. */
  get blocked(): boolean {
    return this.blockedEarly;
  }

  /** Takes the next piece of the answer; returns the text that may be sent now (possibly ''). */
  push(chunk: string): string {
    if (this.outcome !== undefined) throw new Error('push() after finish()');
    if (chunk === '') return '';
    this.parts.push(chunk);
    this.length += chunk.length;
    if (this.blockedEarly) return '';
    this.window += chunk;
    for (let i = 0; i < this.rules.length; i++) {
      const rule = this.rules[i];
      const from = this.scan[i] - this.windowStart;
      if (matchesFrom(rule.regex, this.window, from) && (rule.prefixSafe || this.endsBeforeLast(rule.regex, from))) {
        this.blockedEarly = true;
        this.window = '';
        return '';
      }
      this.scan[i] = Math.max(this.scan[i], this.pairStart(this.length - rule.maxMatchLength));
    }
    let out = '';
    if (!this.holdAll) {
      const upTo = this.pairStart(Math.min(this.length, ...this.scan));
      out = this.window.slice(this.released - this.windowStart, upTo - this.windowStart);
      this.released = upTo;
    }
    this.trimWindow();
    return out;
  }

  /** Ends the answer: the rest to send, or the block decision over the whole answer. */
  finish(): StreamOutcome {
    if (this.outcome !== undefined) return this.outcome;
    const text = this.parts.join('');
    const decision = this.set.apply(text);
    if (decision.blocked) {
      this.outcome = { blocked: true, text: decision.text, findings: decision.findings, blockedBy: decision.blockedBy };
    } else {
      this.outcome = { blocked: false, text: text.slice(this.released), findings: decision.findings };
    }
    this.parts.length = 0;
    this.window = '';
    return this.outcome;
  }

  /** Whether the leftmost match from `from` (window-relative) ends before the last character. */
  private endsBeforeLast(regex: RE2JS, from: number): boolean {
    const end = leftmostMatchEnd(regex, this.window, from);
    return end !== undefined && end < this.window.length;
  }

  /**
   * `at`, or one less when `at` falls between the halves of a surrogate pair or right after a
   * high surrogate whose low half has not arrived.
   */
  private pairStart(at: number): number {
    // Before the window: below every search start already, so discarded by the caller.
    if (at <= this.windowStart) return Math.max(at, 0);
    const before = this.charAt(at - 1);
    if (isHigh(before) && (at >= this.length || isLow(this.charAt(at)))) return at - 1;
    return at;
  }

  private charAt(at: number): number {
    return this.window.charCodeAt(at - this.windowStart);
  }

  private trimWindow(): void {
    const searchFrom = this.rules.length === 0 ? this.length : Math.min(...this.scan) - CONTEXT;
    const keep = Math.max(0, Math.min(searchFrom, this.holdAll ? searchFrom : this.released));
    if (keep <= this.windowStart) return;
    this.window = this.window.slice(keep - this.windowStart);
    this.windowStart = keep;
  }
}
