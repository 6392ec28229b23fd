/**
 * Walks over request values and model output. Every walk here is iterative: a client controls
 * how deeply a JSON body nests, and a recursive walk would overflow the stack (docs/api.md §1.2).
 */

/** Deepest nesting of objects and arrays a request body may have; the body itself is level 1. */
export const MAX_NESTING_DEPTH = 64;

/** Longest client-supplied text quoted in an error message (docs/api.md §2.1). */
const MAX_QUOTED_LENGTH = 64;

/** A lone UTF-16 surrogate: PostgreSQL refuses it in jsonb, and UTF-8 cannot encode it. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const LONE_SURROGATES = new RegExp(LONE_SURROGATE.source, 'g');

/** `text` itself, or its first 64 characters and an ellipsis, for quoting in a message. */
export function shorten(text: string, max = MAX_QUOTED_LENGTH): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}

/** True when objects and arrays in `value` nest deeper than `max` levels. */
export function nestsDeeperThan(value: unknown, max: number): boolean {
  const pending: [unknown, number][] = [[value, 1]];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const [current, depth] = next;
    if (typeof current !== 'object' || current === null) continue;
    if (depth > max) return true;
    for (const entry of Object.values(current)) {
      if (typeof entry === 'object' && entry !== null) pending.push([entry, depth + 1]);
    }
  }
  return false;
}

export interface UnstorableText {
  /** Dotted path of the field (`metadata.note`); for a bad key, the object holding it. */
  field: string;
  problem: 'nul' | 'surrogate';
  inKey: boolean;
}

/**
 * The first text in `value` (strings, and object keys) that PostgreSQL cannot store: one holding
 * U+0000, or a lone UTF-16 surrogate.
 */
export function findUnstorableText(value: unknown, root = ''): UnstorableText | undefined {
  const pending: [unknown, string][] = [[value, root]];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const [current, path] = next;
    if (typeof current === 'string') {
      const problem = textProblem(current);
      if (problem) return { field: path, problem, inKey: false };
      continue;
    }
    if (typeof current !== 'object' || current === null) continue;
    const entries: [string, unknown][] = Object.entries(current);
    for (let index = entries.length - 1; index >= 0; index--) {
      const [key, entry] = entries[index];
      const problem = textProblem(key);
      if (problem) return { field: path, problem, inKey: true };
      pending.push([entry, path ? `${path}.${key}` : key]);
    }
  }
  return undefined;
}

function textProblem(text: string): UnstorableText['problem'] | undefined {
  if (text.includes('\u0000')) return 'nul';
  if (LONE_SURROGATE.test(text)) return 'surrogate';
  return undefined;
}

/** A sentence for a 400 answer about `found`. */
export function unstorableTextMessage(found: UnstorableText): string {
  const what = found.problem === 'nul' ? 'NUL (\\u0000) characters' : 'a lone UTF-16 surrogate (\\ud800-\\udfff without its pair)';
  const where = found.field ? `${found.inKey ? 'A key in ' : ''}'${shorten(found.field)}'` : found.inKey ? 'A key' : 'Text in the request';
  return `${where} must not contain ${what}.`;
}

function storableString(text: string): string {
  const withoutNul = text.includes('\u0000') ? text.replaceAll('\u0000', '\uFFFD') : text;
  return LONE_SURROGATE.test(withoutNul) ? withoutNul.replace(LONE_SURROGATES, '\uFFFD') : withoutNul;
}

/**
 * A copy of `value` in which NUL and lone surrogates, in strings and keys, are replaced by
 * U+FFFD, so that text from models and tools can always be stored.
 */
export function toStorableText<T>(value: T): T {
  if (typeof value === 'string') return storableString(value) as T;
  if (typeof value !== 'object' || value === null) return value;
  const copyOf = (source: object): Record<string, unknown> | unknown[] => (Array.isArray(source) ? [] : {});
  const root = copyOf(value);
  const pending: [object, Record<string, unknown> | unknown[]][] = [[value, root]];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const [source, target] = next;
    for (const [key, entry] of Object.entries(source) as [string, unknown][]) {
      let copied: unknown = entry;
      if (typeof entry === 'string') copied = storableString(entry);
      else if (typeof entry === 'object' && entry !== null) {
        copied = copyOf(entry);
        pending.push([entry, copied as Record<string, unknown> | unknown[]]);
      }
      if (Array.isArray(target)) target[Number(key)] = copied;
      else target[storableString(key)] = copied;
    }
  }
  return root as T;
}
