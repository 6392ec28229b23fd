import { describe, expect, it } from 'vitest';
import { DiagnosticBag, formatDiagnostics } from './diagnostics.js';
import { TokenKind, tokenize } from './lexer.js';

function lex(source: string): { tokens: [string, string, number, number, boolean][]; errors: string } {
  const diags = new DiagnosticBag();
  const tokens = tokenize(source, 'f.ias', diags).map(
    (t): [string, string, number, number, boolean] => [TokenKind[t.kind], t.text, t.line, t.column, t.newline],
  );
  return { tokens, errors: formatDiagnostics(diags.items) };
}

describe('tokenize', () => {
  it('reads identifiers with dashes, numbers, strings and punctuation with their positions', () => {
    expect(lex('uses skill "web-search"\n  max_turns -2 temperature 0.5 { } [ ] ( ) , . :').tokens).toEqual([
      ['Ident', 'uses', 1, 1, true],
      ['Ident', 'skill', 1, 6, false],
      ['String', 'web-search', 1, 12, false],
      ['Ident', 'max_turns', 2, 3, true],
      ['Number', '-2', 2, 13, false],
      ['Ident', 'temperature', 2, 16, false],
      ['Number', '0.5', 2, 28, false],
      ['Punct', '{', 2, 32, false],
      ['Punct', '}', 2, 34, false],
      ['Punct', '[', 2, 36, false],
      ['Punct', ']', 2, 38, false],
      ['Punct', '(', 2, 40, false],
      ['Punct', ')', 2, 42, false],
      ['Punct', ',', 2, 44, false],
      ['Punct', '.', 2, 46, false],
      ['Punct', ':', 2, 48, false],
      ['Eof', '', 2, 49, true],
    ]);
  });

  it('decodes the four escapes and keeps any other backslash pair as written', () => {
    const { tokens, errors } = lex('"a\\nb\\tc\\\\d\\"e\\qf\\{"');
    expect(tokens[0][1]).toBe('a\nb\tc\\d"e\\qf\\{');
    expect(errors).toBe('');
  });

  it('keeps raw newlines and indentation of multi-line strings and counts their lines', () => {
    const { tokens } = lex('content "one\n    two"\nnext');
    expect(tokens[1]).toEqual(['String', 'one\n    two', 1, 9, false]);
    expect(tokens[2]).toEqual(['Ident', 'next', 3, 1, true]);
  });

  it('skips # and // comments and a leading byte order mark', () => {
    expect(lex('\uFEFF# one\nx // two\n// three').tokens.map((t) => t[1])).toEqual(['x', '']);
  });

  it('reads comparison operators and refuses the ones the language does not have', () => {
    const { tokens, errors } = lex('a == b != c >= d <= e > f < g = h && i || j ; k !l & m | n * o');
    expect(tokens.filter((t) => t[0] === 'Operator').map((t) => t[1])).toEqual(['==', '!=', '>=', '<=', '>', '<']);
    expect(tokens.filter((t) => t[0] === 'Punct').map((t) => [t[1], t[3]])).toEqual([
      ['&&', 35],
      ['||', 40],
      ['!', 49],
      ['*', 60],
    ]);
    expect(errors.split('\n').filter((l) => !l.startsWith('  hint')).join('\n')).toBe(
      [
        'f.ias:1:31: error: unexpected character "="',
        'f.ias:1:45: error: unexpected character ";"',
        'f.ias:1:52: error: unexpected "&"',
        'f.ias:1:56: error: unexpected "|"',
      ].join('\n'),
    );
  });

  it('reports malformed numbers, unterminated strings and triple quotes where they start', () => {
    expect(lex('1.2.3 4.').errors).toBe('f.ias:1:1: error: invalid number "1.2.3"\nf.ias:1:7: error: invalid number "4."');
    expect(lex('x "open\nmore').errors).toBe('f.ias:1:3: error: unterminated string\n  hint: close it with a double quote (")');
    const heredoc = lex('a """x\ny""" b');
    expect(heredoc.errors).toMatch(/^f\.ias:1:3: error: triple-quoted strings/);
    expect(heredoc.tokens.map((t) => [t[1], t[2]])).toEqual([['a', 1], ['x\ny', 1], ['b', 2], ['', 2]]);
  });

  it('names characters outside the language', () => {
    expect(lex('x @ 😀').errors).toBe('f.ias:1:3: error: unexpected character "@"\nf.ias:1:5: error: unexpected character "😀"');
  });
});
