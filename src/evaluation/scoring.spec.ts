import { describe, expect, it } from 'vitest';
import { lexicalSimilarity, scoreAnswer } from './scoring.js';

describe('scoreAnswer', () => {
  it('exact: equal once trimmed, case counts', () => {
    expect(scoreAnswer('exact', ' Echo: hi\n', 'Echo: hi')).toBe(1);
    expect(scoreAnswer('exact', 'echo: hi', 'Echo: hi')).toBe(0);
    expect(scoreAnswer('exact', 'Echo:  hi', 'Echo: hi')).toBe(0);
  });

  it('contains: a substring, ignoring case', () => {
    expect(scoreAnswer('contains', 'REFUND policy', 'See our refund policy.')).toBe(1);
    expect(scoreAnswer('contains', 'refund policies', 'See our refund policy.')).toBe(0);
    expect(scoreAnswer('contains', '', 'anything')).toBe(1);
  });

  it('regex: an RE2 pattern found anywhere; anchors and flags are the pattern’s', () => {
    expect(scoreAnswer('regex', '\\d{3}', 'order 123 shipped')).toBe(1);
    expect(scoreAnswer('regex', '^\\d{3}$', 'order 123 shipped')).toBe(0);
    expect(scoreAnswer('regex', 'SHIPPED', 'order 123 shipped')).toBe(0);
    expect(scoreAnswer('regex', '(?i)SHIPPED', 'order 123 shipped')).toBe(1);
    expect(scoreAnswer('regex', 'a.b', 'a\nb')).toBe(0);
    expect(scoreAnswer('regex', '(?s)a.b', 'a\nb')).toBe(1);
  });

  it('semantic: the lexical similarity', () => {
    expect(scoreAnswer('semantic', 'the quick brown fox', 'Echo: the quick brown fox')).toBeCloseTo(4 / (2 * Math.sqrt(5)), 12);
  });
});

describe('lexicalSimilarity', () => {
  it('is the cosine of word counts, ignoring case and punctuation', () => {
    expect(lexicalSimilarity('Hello, World!', 'hello world')).toBe(1);
    expect(lexicalSimilarity('a a b', 'a b')).toBeCloseTo(3 / (Math.sqrt(5) * Math.sqrt(2)), 12);
    expect(lexicalSimilarity('cats sleep', 'dogs bark')).toBe(0);
  });

  it('does not depend on word order', () => {
    expect(lexicalSimilarity('low cost index funds', 'index funds, low cost')).toBe(1);
  });

  it('counts letters and digits of any script as words', () => {
    expect(lexicalSimilarity('Größe 42 café', 'größe 42 CAFÉ')).toBe(1);
    expect(lexicalSimilarity('東京 タワー', '東京')).toBeCloseTo(1 / Math.sqrt(2), 12);
  });

  it('is 1 for two texts without words and 0 when only one has none', () => {
    expect(lexicalSimilarity('...', '')).toBe(1);
    expect(lexicalSimilarity('', 'word')).toBe(0);
  });

  it('is exactly 1 for texts with the same words, so that a threshold of 1 can be met', () => {
    for (const text of ['the the the quick quick brown', 'Hello, World!', 'a b c d e f g h i j k l m n o p']) {
      expect(lexicalSimilarity(text, text.toUpperCase())).toBe(1);
    }
  });
});
