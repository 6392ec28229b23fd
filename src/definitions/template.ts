/**
 * The one `{{…}}` placeholder grammar of the definitions: prompt variables, tool arguments
 * and secrets, and pipeline step inputs all use it. A placeholder is `{{ key }}`, spaces
 * inside the braces optional, the key a letter or `_` then letters, digits, `_`, `.`, `-`.
 * What a key means is up to each user; text that does not match stays as written.
 */
const PLACEHOLDER_SOURCE = String.raw`\{\{\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*\}\}`;
const PLACEHOLDERS = new RegExp(PLACEHOLDER_SOURCE, 'g');
const PLACEHOLDER_HERE = new RegExp(PLACEHOLDER_SOURCE, 'y');

export interface Placeholder {
  key: string;
  /** Where the placeholder starts in the template, and where it ends (exclusive). */
  start: number;
  end: number;
}

/** The placeholders of a template, in order. */
export function placeholders(template: string): Placeholder[] {
  return [...template.matchAll(PLACEHOLDERS)].map((match) => ({
    key: match[1],
    start: match.index,
    end: match.index + match[0].length,
  }));
}

/** The placeholder starting exactly at `index`, if one does. */
export function placeholderAt(template: string, index: number): Placeholder | undefined {
  PLACEHOLDER_HERE.lastIndex = index;
  const match = PLACEHOLDER_HERE.exec(template);
  return match ? { key: match[1], start: index, end: index + match[0].length } : undefined;
}

/**
 * Replaces each placeholder with what `lookup` gives for its key, or leaves it as written when
 * `lookup` gives undefined. One pass: replacement text is never scanned for placeholders again.
 */
export function render(template: string, lookup: (key: string) => string | undefined): string {
  let out = '';
  let last = 0;
  for (const placeholder of placeholders(template)) {
    const value = lookup(placeholder.key);
    if (value === undefined) continue;
    out += template.slice(last, placeholder.start) + value;
    last = placeholder.end;
  }
  return out + template.slice(last);
}

const STEP_OUTPUT = /^steps\.([A-Za-z0-9_-]+)\.output$/;

/**
 * How a pipeline step input reads a key: `input` is the run's input, `steps.<name>.output`
 * the output of step `<name>`; any other key is not a step input placeholder.
 */
export function stepInputKey(key: string): { kind: 'input' } | { kind: 'step'; step: string } | undefined {
  if (key === 'input') return { kind: 'input' };
  const match = STEP_OUTPUT.exec(key);
  return match ? { kind: 'step', step: match[1] } : undefined;
}

/** Names of the steps a step input template reads, in order of first mention. */
export function stepInputReferences(template: string): string[] {
  const names: string[] = [];
  for (const { key } of placeholders(template)) {
    const read = stepInputKey(key);
    if (read?.kind === 'step' && !names.includes(read.step)) names.push(read.step);
  }
  return names;
}
