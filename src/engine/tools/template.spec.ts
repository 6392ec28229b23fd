import { describe, expect, it } from 'vitest';
import { fillConfig, fillJsonTemplate, fillTemplate, secretReferences, type TemplateValues } from './template.js';

const values = (args: Record<string, unknown>, secrets: Record<string, string> = {}): TemplateValues => ({
  args,
  secrets: new Map(Object.entries(secrets)),
});

describe('fillTemplate', () => {
  it('fills fields, tolerating spaces inside the braces, and encodes them when asked', () => {
    const filled = fillTemplate('/q/{{ term }}?x={{term}}', values({ term: 'a b/c' }), encodeURIComponent);
    expect(filled).toBe('/q/a%20b%2Fc?x=a%20b%2Fc');
  });

  it('turns missing and null values into empty text and objects into JSON', () => {
    expect(fillTemplate('[{{a}}|{{b}}|{{c}}|{{d}}]', values({ b: null, c: { k: 1 }, d: 2 }))).toBe('[||{"k":1}|2]');
  });

  it('does not read inherited properties of the arguments object', () => {
    expect(fillTemplate('{{constructor}}{{toString}}', values({}))).toBe('');
  });

  it('inserts secrets by name but never expands placeholders that arrive inside an argument', () => {
    const filled = fillTemplate('Bearer {{secrets.api-key}} {{note}}', values({ note: '{{secrets.api-key}}' }, { 'api-key': 's3cr3t' }));
    expect(filled).toBe('Bearer s3cr3t {{secrets.api-key}}');
  });
});

describe('secretReferences', () => {
  it('lists the secrets a template uses', () => {
    expect(secretReferences('{{secrets.a}} {{b}} {{ secrets.c-d }}')).toEqual(['a', 'c-d']);
    expect(secretReferences(undefined)).toEqual([]);
  });
});

describe('fillJsonTemplate', () => {
  it('escapes values placed inside JSON strings', () => {
    const body = fillJsonTemplate('{"q": "{{q}}", "n": "{{n}}"}', values({ q: 'say "hi"\n\\', n: 5 }));
    expect(JSON.parse(body)).toEqual({ q: 'say "hi"\n\\', n: '5' });
  });

  it('inserts JSON literals outside strings, quoting strings and writing null for missing values', () => {
    const body = fillJsonTemplate('{"limit": {{limit}}, "tags": {{tags}}, "name": {{name}}, "none": {{missing}}}', values({ limit: 3, tags: ['a', 'b'], name: '"}, "admin": true, "x": {"' }));
    expect(JSON.parse(body)).toEqual({ limit: 3, tags: ['a', 'b'], name: '"}, "admin": true, "x": {"', none: null });
  });

  it('tracks escaped quotes so the string context stays right', () => {
    const body = fillJsonTemplate('{"a": "x\\"{{v}}", "b": {{v}}}', values({ v: 'y' }));
    expect(JSON.parse(body)).toEqual({ a: 'x"y', b: 'y' });
  });
});

describe('{{config.name}} in tool templates', () => {
  const withConfig = (args: Record<string, unknown>): TemplateValues => ({
    args,
    secrets: new Map(),
    config: new Map<string, unknown>([
      ['region', 'eu west'],
      ['limit', 20],
    ]),
  });

  it('fills config values in the same single pass as arguments, so an argument cannot pull one in', () => {
    const filled = fillTemplate('/{{config.region}}/{{q}}', withConfig({ q: '{{config.region}}', 'config.region': 'spoofed' }), encodeURIComponent);
    expect(filled).toBe('/eu%20west/%7B%7Bconfig.region%7D%7D');
  });

  it('writes typed values as JSON literals outside strings and fills an undeclared or unset one as null', () => {
    expect(JSON.parse(fillJsonTemplate('{"r": "{{config.region}}", "n": {{config.limit}}, "x": {{config.none}}}', withConfig({})))).toEqual({
      r: 'eu west',
      n: 20,
      x: null,
    });
  });

  it('fillConfig fills only config placeholders and leaves the others as written', () => {
    expect(fillConfig('--limit={{config.limit}} {{q}} {{secrets.k}} {{config.none}}', new Map([['limit', 20]]))).toBe(
      '--limit=20 {{q}} {{secrets.k}} ',
    );
    expect(fillConfig('{{config.limit}}', undefined)).toBe('{{config.limit}}');
  });
});
