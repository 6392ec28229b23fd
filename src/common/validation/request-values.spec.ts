import { describe, expect, it } from 'vitest';
import { findUnstorableText, nestsDeeperThan, shorten, toStorableText, unstorableTextMessage } from './request-values.js';

/** An object `levels` deep, built without recursion. */
function nested(levels: number): unknown {
  let value: unknown = 'leaf';
  for (let level = 0; level < levels; level++) value = level % 2 ? { a: value } : [value];
  return value;
}

describe('nestsDeeperThan', () => {
  it('counts the outermost object as level 1', () => {
    expect(nestsDeeperThan(nested(64), 64)).toBe(false);
    expect(nestsDeeperThan(nested(65), 64)).toBe(true);
    expect(nestsDeeperThan('text', 0)).toBe(false);
  });

  it('walks 200,000 levels without overflowing the stack', () => {
    expect(nestsDeeperThan(nested(200_000), 64)).toBe(true);
  });
});

describe('findUnstorableText', () => {
  it('names the field holding NUL or a lone surrogate, keys included', () => {
    expect(findUnstorableText({ a: { b: ['ok', 'x\u0000'] } })).toEqual({ field: 'a.b.1', problem: 'nul', inKey: false });
    expect(findUnstorableText({ note: 'x\ud800y' })).toEqual({ field: 'note', problem: 'surrogate', inKey: false });
    expect(findUnstorableText({ meta: { ['\udc00']: 'v' } })).toEqual({ field: 'meta', problem: 'surrogate', inKey: true });
    expect(findUnstorableText('\ud800', 'id')).toEqual({ field: 'id', problem: 'surrogate', inKey: false });
  });

  it('accepts surrogate pairs and reports the first problem in document order', () => {
    expect(findUnstorableText({ emoji: '😀', pair: '\ud83d\ude00' })).toBeUndefined();
    expect(findUnstorableText({ first: '\ud800', second: '\u0000' })?.field).toBe('first');
  });

  it('walks deep values without overflowing the stack', () => {
    expect(findUnstorableText(nested(50_000))).toBeUndefined();
  });

  it('words the message with a shortened field', () => {
    const field = 'f'.repeat(100);
    expect(unstorableTextMessage({ field, problem: 'nul', inKey: false })).toBe(`'${'f'.repeat(64)}…' must not contain NUL (\\u0000) characters.`);
  });
});

describe('toStorableText', () => {
  it('replaces NUL and lone surrogates in strings and keys by U+FFFD, keeping pairs', () => {
    expect(toStorableText({ 'k\u0000': ['a\ud800', '😀', 1, null], b: { c: '\udfff!' } })).toEqual({
      'k\uFFFD': ['a\uFFFD', '😀', 1, null],
      b: { c: '\uFFFD!' },
    });
    expect(toStorableText('x\u0000\ud800')).toBe('x\uFFFD\uFFFD');
  });

  it('copies deep values without overflowing the stack', () => {
    expect(nestsDeeperThan(toStorableText(nested(200_000)), 199_999)).toBe(true);
  });
});

describe('shorten', () => {
  it('keeps 64 characters and adds an ellipsis', () => {
    expect(shorten('a'.repeat(64))).toBe('a'.repeat(64));
    expect(shorten('a'.repeat(65))).toBe(`${'a'.repeat(64)}…`);
  });
});
