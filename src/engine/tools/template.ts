import { CONFIG_PREFIX, placeholderAt, placeholders, render } from '../../definitions/index.js';

/**
 * `{{field}}` placeholders in tool definitions, filled from the model's arguments,
 * `{{secrets.name}}` filled from declared secrets, and `{{config.name}}` from the agent's
 * config parameters. Substitution is a single pass: text that comes from an argument or a
 * config value is never scanned for placeholders again, so an argument cannot pull a secret
 * or a config value into the request.
 */
const SECRET_PREFIX = 'secrets.';

export interface TemplateValues {
  args: Readonly<Record<string, unknown>>;
  secrets: ReadonlyMap<string, string>;
  /** The agent's config values by parameter name; a parameter without a value fills as empty. */
  config?: ReadonlyMap<string, unknown>;
}

export function secretReferences(template: string | undefined): string[] {
  if (!template) return [];
  return placeholders(template)
    .map((placeholder) => placeholder.key)
    .filter((key) => key.startsWith(SECRET_PREFIX))
    .map((key) => key.slice(SECRET_PREFIX.length));
}

function lookup(values: TemplateValues, key: string): unknown {
  if (key.startsWith(SECRET_PREFIX)) return values.secrets.get(key.slice(SECRET_PREFIX.length));
  if (key.startsWith(CONFIG_PREFIX)) return values.config?.get(key.slice(CONFIG_PREFIX.length));
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
  return render(template, (key) => encode(stringifyValue(lookup(values, key))));
}

/**
 * Fills only `{{config.name}}`, leaving every other placeholder as written: for the parts of a
 * tool that the model's arguments never reach (command args and env).
 */
export function fillConfig(template: string, config: ReadonlyMap<string, unknown> | undefined): string {
  if (config === undefined) return template;
  return render(template, (key) =>
    key.startsWith(CONFIG_PREFIX) ? stringifyValue(config.get(key.slice(CONFIG_PREFIX.length))) : undefined,
  );
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
 * whatever the arguments contain. It walks the template itself instead of using `render`
 * because how a value is written depends on the JSON string state around the placeholder;
 * placeholders are still found by the one grammar of src/definitions/template.ts.
 */
export function fillJsonTemplate(template: string, values: TemplateValues): string {
  let out = '';
  let inString = false;
  let escaped = false;
  let i = 0;
  while (i < template.length) {
    const placeholder = template.startsWith('{{', i) ? placeholderAt(template, i) : undefined;
    if (placeholder) {
      const value = lookup(values, placeholder.key);
      out += inString ? JSON.stringify(stringifyValue(value)).slice(1, -1) : jsonLiteral(value);
      i = placeholder.end;
      continue;
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
