import { describe, expect, it } from 'vitest';
import { placeholderAt, placeholders, render, stepInputKey, stepInputReferences } from './template.js';

describe('placeholders', () => {
  it('finds keys with optional spaces, and where each placeholder is', () => {
    expect(placeholders('Hi {{ name }}, {{a.b-c_1}}!')).toEqual([
      { key: 'name', start: 3, end: 13 },
      { key: 'a.b-c_1', start: 15, end: 26 },
    ]);
  });

  it('leaves text that is not a placeholder alone', () => {
    expect(placeholders('{{}} {{1x}} {{a b}} {x} {{ a }')).toEqual([]);
    expect(placeholders('{{{a}}}')).toEqual([{ key: 'a', start: 1, end: 6 }]);
  });

  it('reads one placeholder exactly where asked', () => {
    expect(placeholderAt('x {{y}}', 2)).toEqual({ key: 'y', start: 2, end: 7 });
    expect(placeholderAt('x {{y}}', 1)).toBeUndefined();
  });
});

describe('render', () => {
  it('replaces what the lookup knows, keeps the rest as written, in one pass', () => {
    const values: Record<string, string> = { a: '{{b}}', b: 'B', dollar: '$& $1' };
    expect(render('{{a}} {{ b }} {{c}} {{dollar}}', (key) => values[key])).toBe('{{b}} B {{c}} $& $1');
  });
});

describe('step input templates', () => {
  it('reads input and step outputs, nothing else', () => {
    expect(stepInputKey('input')).toEqual({ kind: 'input' });
    expect(stepInputKey('steps.fact-check_2.output')).toEqual({ kind: 'step', step: 'fact-check_2' });
    expect(stepInputKey('steps.a.status')).toBeUndefined();
    expect(stepInputKey('steps.a.b.output')).toBeUndefined();
    expect(stepInputKey('inputs')).toBeUndefined();
  });

  it('lists the steps read, once each, in order of first mention', () => {
    expect(stepInputReferences('{{steps.b.output}} {{input}} {{ steps.a.output }} {{steps.b.output}} {{steps.c.status}}')).toEqual(['b', 'a']);
  });
});
