import { describe, expect, it } from 'vitest';
import { closestName, editDistance, formatDiagnostics, sortDiagnostics, type Diagnostic } from './diagnostics.js';

describe('editDistance', () => {
  it('counts insertions, deletions and substitutions', () => {
    expect(editDistance('web-serch', 'web-search')).toBe(1);
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('same', 'same')).toBe(0);
  });

  it('stops early past the limit', () => {
    expect(editDistance('abcdefgh', 'zyxwvuts', 2)).toBe(3);
  });
});

describe('closestName', () => {
  it('suggests a near name, scaled to the length of the word', () => {
    expect(closestName('temprature', ['timeout', 'temperature', 'template'])).toBe('temperature');
    expect(closestName('helpr', ['helper', 'router'])).toBe('helper');
    expect(closestName('ab', ['xy', 'abc'])).toBe('abc');
    expect(closestName('calculator', ['web-search', 'lookup'])).toBeUndefined();
    expect(closestName('Model', ['model'])).toBe('model');
  });
});

describe('formatting and ordering', () => {
  const d = (file: string, line: number, column: number, message: string, hints: string[] = []): Diagnostic => ({
    severity: 'error',
    file,
    line,
    column,
    message,
    hints,
  });

  it('orders by file load order, then line and column', () => {
    const sorted = sortDiagnostics([d('b.ias', 1, 1, 'b'), d('a.ias', 3, 2, 'a2'), d('a.ias', 3, 1, 'a1')], ['a.ias', 'b.ias']);
    expect(sorted.map((x) => x.message)).toEqual(['a1', 'a2', 'b']);
  });

  it('prints path:line:col: severity: message with indented hints', () => {
    expect(formatDiagnostics([d('x.ias', 2, 5, 'skill "web-serch" not found', ['did you mean "web-search"?'])])).toBe(
      'x.ias:2:5: error: skill "web-serch" not found\n  hint: did you mean "web-search"?',
    );
    expect(formatDiagnostics([{ ...d('x.ias', 1, 1, 'w'), severity: 'warning' }], { severities: ['error'] })).toBe('');
  });
});
