import { compileEvalPattern, type EvalScoring } from '../definitions/eval-rules.js';

/**
 * The score of an answer against a case's `expect`, in [0, 1] (docs/agents.md "Evaluations"):
 * - `exact`: 1 when the answer equals `expect` once both are trimmed (case counts), else 0;
 * - `contains`: 1 when the answer contains `expect`, ignoring case, else 0;
 * - `regex`: 1 when the RE2 pattern `expect` matches somewhere in the answer, else 0;
 * - `semantic`: `lexicalSimilarity(answer, expect)`; no model is called.
 */
export function scoreAnswer(scoring: EvalScoring, expect: string, answer: string): number {
  switch (scoring) {
    case 'exact':
      return answer.trim() === expect.trim() ? 1 : 0;
    case 'contains':
      return answer.toLowerCase().includes(expect.toLowerCase()) ? 1 : 0;
    case 'regex': {
      const compiled = compileEvalPattern(expect);
      // The loader refused every pattern that does not compile.
      if (!compiled.ok) throw new Error(`invalid pattern ${JSON.stringify(expect)}: ${compiled.reason}`);
      return compiled.regex.test(answer) ? 1 : 0;
    }
    case 'semantic':
      return lexicalSimilarity(answer, expect);
  }
}

const WORD = /[\p{L}\p{M}\p{N}]+/gu;

/**
 * The cosine similarity of the two texts' word-count vectors: a word is a run of Unicode
 * letters, marks and digits of the lower-cased text (punctuation and whitespace separate
 * words and are dropped). 1 for two texts without words, 0 when only one has none.
 */
export function lexicalSimilarity(a: string, b: string): number {
  const left = wordCounts(a);
  const right = wordCounts(b);
  if (left.size === 0 || right.size === 0) return left.size === right.size ? 1 : 0;
  let dot = 0;
  for (const [word, count] of left) dot += count * (right.get(word) ?? 0);
  // Integer counts: for texts with the same words the root is exact, so the score is exactly 1.
  return Math.min(1, dot / Math.sqrt(squares(left) * squares(right)));
}

function wordCounts(text: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const word of text.toLowerCase().match(WORD) ?? []) counts.set(word, (counts.get(word) ?? 0) + 1);
  return counts;
}

function squares(counts: Map<string, number>): number {
  let sum = 0;
  for (const count of counts.values()) sum += count * count;
  return sum;
}
