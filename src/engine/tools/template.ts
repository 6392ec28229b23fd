/**
 * `{{field}}` placeholders in tool definitions, filled from the model's arguments, and
 * `{{secrets.name}}` filled from declared secrets. Substitution is a single pass: text that
 * comes from an argument is never scanned for placeholders again, so an argument cannot
 * pull a secret into the request.
 */
const PLACEHOLDER = /\{\{\s*([A-Za-z_][\w.-]*)\s*\}\}/g;
const PLACEHOLDER_HERE = /\{\{\s*([A-Za-z_][\w.-]*)\s*\}\}/y;
const SECRET_PREFIX = 'secrets.';

export interface TemplateValues {
  args: Readonly<Record<string, unknown>>;
  secrets: ReadonlyMap<string, string>;
}

export function secretReferences(template: string | undefined): string[] {
  if (!template) return [];
  return [...template.matchAll(PLACEHOLDER)]
    .map((match) => match[1])
    .filter((key) => key.startsWith(SECRET_PREFIX))
    .map((key) => key.slice(SECRET_PREFIX.length));
}

function lookup(values: TemplateValues, key: string): unknown {
  if (key.startsWith(SECRET_PREFIX)) return values.secrets.get(key.slice(SECRET_PREFIX.length));
  return Object.hasOwn(values.args, key) ? values.args[key] : undefined;
}

/** Missing and null become the empty string; objects and arrays become JSON. */
export function stringifyValue(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return JSON.stringify(value) ?? '';
}

export function fillTemplate(template: string, values: TemplateValues, encode: (text: string) => string = (t) => t): string {
  return template.replace(PLACEHOLDER, (_whole, key: string) => encode(stringifyValue(lookup(values, key))));
}

function jsonLiteral(value: unknown): string {
  if (value === undefined) return 'null';
  if (typeof value === 'bigint') return String(value);
  return JSON.stringify(value) ?? 'null';
}

/**
 * Fills a JSON body template. A placeholder inside a JSON string gets the value escaped for
 * that string (`"q": "{{query}}"`); one outside a string gets the value as a JSON literal
 * (`"limit": {{limit}}`, a string then arriving quoted). Either way the body stays valid JSON
 * whatever the arguments contain.
 */
export function fillJsonTemplate(template: string, values: TemplateValues): string {
  let out = '';
  let inString = false;
  let escaped = false;
  let i = 0;
  while (i < template.length) {
    if (template.startsWith('{{', i)) {
      PLACEHOLDER_HERE.lastIndex = i;
      const match = PLACEHOLDER_HERE.exec(template);
      if (match) {
        const value = lookup(values, match[1]);
        out += inString ? JSON.stringify(stringifyValue(value)).slice(1, -1) : jsonLiteral(value);
        i += match[0].length;
        continue;
      }
    }
    const ch = template[i];
    if (inString) {
      if (escaped) escaped = false;
      else if (ch === '\\') escaped = true;
      else if (ch === '"') inString = false;
    } else if (ch === '"') {
      inString = true;
    }
    out += ch;
    i += 1;
  }
  return out;
}
