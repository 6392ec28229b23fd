import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { Document, LineCounter, Node as YamlNode, isMap, isNode, isPair, isScalar, parseDocument } from 'yaml';
import { DiagnosticBag, SourcePos, didYouMean } from './diagnostics.js';
import type { DefinitionsDraft } from './draft.js';
import { DEFINITIONS_SCHEMA } from './json-schema.js';
import { COLLECTIONS } from './model.js';
import type { Locator, ModelPath } from './positions.js';
import { KIND_LABELS, oneOfText } from './validator.js';

export type DocumentFormat = 'json' | 'yaml';

export interface ReadDocumentResult {
  draft?: DefinitionsDraft;
  locator: Locator;
}

let compiled: ValidateFunction | undefined;

function schemaValidator(): ValidateFunction {
  compiled ??= new Ajv2020({ allErrors: true, discriminator: true, verbose: true, strict: true, allowUnionTypes: true }).compile(
    DEFINITIONS_SCHEMA,
  );
  return compiled;
}

/** Positions inside a parsed YAML/JSON document, by model path. */
class YamlLocator implements Locator {
  constructor(
    private readonly doc: Document | undefined,
    private readonly lines: LineCounter,
    private readonly file: string,
  ) {}

  private posOf(offset: number): SourcePos {
    const { line, col } = this.lines.linePos(offset);
    return { file: this.file, line, column: col };
  }

  private nodeAt(path: ModelPath): YamlNode | undefined {
    if (this.doc === undefined) return undefined;
    for (let end = path.length; end >= 0; end--) {
      const node = end === 0 ? this.doc.contents : this.doc.getIn(path.slice(0, end), true);
      if (isNode(node) && node.range) return node;
    }
    return undefined;
  }

  at(path: ModelPath): SourcePos {
    const node = this.nodeAt(path);
    return node?.range ? this.posOf(node.range[0]) : { file: this.file, line: 1, column: 1 };
  }

  /** Where the key `key` of the mapping at `path` is written. */
  keyAt(path: ModelPath, key: string): SourcePos {
    const map = this.nodeAt(path);
    if (isMap(map)) {
      for (const pair of map.items) {
        if (isPair(pair) && isScalar(pair.key) && String(pair.key.value) === key && pair.key.range) {
          return this.posOf(pair.key.range[0]);
        }
      }
    }
    return this.at(path);
  }
}

/**
 * Reads a JSON or YAML document of the model: syntax, then the JSON Schema, then defaults for
 * what may be left out. The draft is returned only when the document has the schema's shape.
 */
export function readModelDocument(text: string, file: string, format: DocumentFormat, diags: DiagnosticBag): ReadDocumentResult {
  const lines = new LineCounter();
  const source = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const doc = parseDocument(source, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const locator = new YamlLocator(doc, lines, file);
  if (doc.errors.length > 0) {
    for (const e of doc.errors) {
      const p = lines.linePos(e.pos[0]);
      const message = e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
       diags.error({ file, line: p.line, column: p.col }, `invalid ${format === 'json' ? 'JSON' : 'YAML'}: ${message}`);
    }
    return { locator };
  }
  if (format === 'json') {
    try {
      JSON.parse(source);
    } catch (e) {
      diags.error({ file, line: 1, column: 1 }, `invalid JSON: ${(e as Error).message}`);
      return { locator };
    }
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 1000 });
  } catch (e) {
    diags.error({ file, line: 1, column: 1 }, `invalid ${format === 'json' ? 'JSON' : 'YAML'}: ${(e as Error).message}`);
    return { locator };
  }
  const validate = schemaValidator();
  if (!validate(raw)) {
    reportSchemaErrors(validate.errors ?? [], raw, locator, diags);
    return { locator };
  }
  return { draft: withDefaults(raw as Record<string, unknown>), locator };
}

function pointerToPath(pointer: string): (string | number)[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

function valueAt(root: unknown, path: readonly (string | number)[]): unknown {
  let cur = root;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string | number, unknown>)[seg];
  }
  return cur;
}

/** `agent "support"` for a top-level item with a name, else a path like `agents[0].memory`. */
function describeLocation(root: unknown, path: readonly (string | number)[]): string {
  if (path.length === 0) return 'the document';
  const [kind, index] = path;
  const item = valueAt(root, [kind, index]);
  const name = item !== null && typeof item === 'object' ? (item as Record<string, unknown>).name : undefined;
  const dotted = (segments: readonly (string | number)[]): string =>
    segments.map((s, i) => (typeof s === 'number' ? `[${s}]` : i === 0 ? s : `.${s}`)).join('');
  if (typeof index === 'number' && typeof name === 'string' && (COLLECTIONS as readonly unknown[]).includes(kind)) {
    const owner = `${KIND_LABELS[kind as (typeof COLLECTIONS)[number]]} "${name}"`;
    return path.length === 2 ? owner : `${dotted(path.slice(2))} of ${owner}`;
  }
  return dotted(path);
}

/** The values of the discriminating properties in the schema (tool `type`, statement `kind`). */
const DISCRIMINATED: Record<string, string[]> = {
  type: ['http', 'command', 'inline', 'mcp'],
  kind: ['use_skill', 'delegate', 'respond', 'if', 'for_each'],
};

const TYPE_WORDS: Record<string, string> = {
  string: 'a string',
  integer: 'an integer',
  number: 'a number',
  boolean: 'true or false',
  array: 'a list',
  object: 'an object',
};

function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'string') return `string ${JSON.stringify(v.length > 24 ? `${v.slice(0, 24)}…` : v)}`;
  if (typeof v === 'number') return `number ${v}`;
  if (typeof v === 'boolean') return `boolean ${v}`;
  return 'an object';
}

function reportSchemaErrors(errors: ErrorObject[], raw: unknown, loc: YamlLocator, diags: DiagnosticBag): void {
  const seen = new Set<string>();
  for (const e of errors) {
    // oneOf/anyOf summaries repeat what their branches said (or what the discriminator said).
    if (e.keyword === 'oneOf' || e.keyword === 'anyOf' || e.keyword === 'const') continue;
    const path = pointerToPath(e.instancePath);
    const last = path[path.length - 1];
    const attr = typeof last === 'string' ? `"${last}"` : 'this value';
    const parent = path.slice(0, -1);
    let pos = loc.at(path);
    let message: string;
    const hints: (string | undefined)[] = [];
    switch (e.keyword) {
      case 'additionalProperties': {
        const key = String((e.params as { additionalProperty: string }).additionalProperty);
        pos = loc.keyAt(path, key);
        message = `unknown attribute "${key}" in ${describeLocation(raw, path)}`;
        const props = (e.parentSchema as { properties?: Record<string, unknown> } | undefined)?.properties;
        if (props) hints.push(didYouMean(key, Object.keys(props)));
        break;
      }
      case 'required':
        message = `${describeLocation(raw, path)} is missing "${(e.params as { missingProperty: string }).missingProperty}"`;
        break;
      case 'type': {
        const expected = String((e.params as { type: string | string[] }).type)
          .split(',')
          .map((t) => TYPE_WORDS[t] ?? t)
          .join(' or ');
        message = `${attr} in ${describeLocation(raw, parent)} expects ${expected}, got ${describeValue(e.data)}`;
        break;
      }
      case 'enum': {
        const allowed = ((e.params as { allowedValues: unknown[] }).allowedValues ?? []).map(String);
        message = `${typeof last === 'string' ? last : 'this value'} must be ${oneOfText(allowed)}, got ${JSON.stringify(e.data)}`;
        if (typeof e.data === 'string') hints.push(didYouMean(e.data, allowed));
        break;
      }
      case 'discriminator': {
        const p = e.params as { tag: string; tagValue: unknown };
        const allowed = DISCRIMINATED[p.tag] ?? [];
        message =
          p.tagValue === undefined
            ? `${describeLocation(raw, path)} is missing "${p.tag}"`
            : `unknown ${p.tag} ${JSON.stringify(p.tagValue)} in ${describeLocation(raw, path)}`;
        if (p.tagValue !== undefined) {
          pos = loc.at([...path, p.tag]);
          hints.push(typeof p.tagValue === 'string' ? (didYouMean(p.tagValue, allowed) ?? `expected ${oneOfText(allowed)}`) : undefined);
        }
        break;
      }
      default:
        message = `${describeLocation(raw, path)}: ${e.message ?? 'invalid value'}`;
    }
    const key = `${pos.line}:${pos.column}:${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    diags.error(pos, message, ...hints);
  }
}

type Obj = Record<string, unknown>;

function fill(target: Obj, defaults: Obj): void {
  for (const [k, v] of Object.entries(defaults)) {
    if (target[k] === undefined) target[k] = typeof v === 'object' && v !== null ? structuredClone(v) : v;
  }
}

function items(value: unknown): Obj[] {
  return Array.isArray(value) ? (value as Obj[]) : [];
}

/** Fills the lists, maps and flags a JSON/YAML author may leave out, as the parser would. */
function withDefaults(raw: Obj): DefinitionsDraft {
  for (const kind of COLLECTIONS) if (raw[kind] === undefined) raw[kind] = [];
  for (const p of items(raw.prompts)) {
    fill(p, { content: '', variables: [], metadata: {} });
    for (const v of items(p.variables)) fill(v, { type: 'string', required: false });
  }
  for (const s of items(raw.skills)) {
    fill(s, { input: [], output: [], metadata: {} });
    for (const f of [...items(s.input), ...items(s.output)]) fill(f, { type: 'string', required: false });
    const tool = s.tool as Obj | undefined;
    if (tool?.type === 'http') fill(tool, { headers: {} });
    if (tool?.type === 'command') fill(tool, { args: [], env: {}, secrets: {} });
  }
  for (const a of items(raw.agents)) {
    fill(a, { skills: [], delegates: [], guardrails: [], config: [], validate: [], eval: [], metadata: {} });
    for (const c of items(a.config)) fill(c, { type: 'string', required: false, secret: false });
    for (const r of items(a.validate)) fill(r, { severity: 'error' });
    for (const c of items(a.eval)) fill(c, { tags: [] });
    if (a.on_input !== undefined) for (const st of items(a.on_input)) onInputDefaults(st);
  }
  for (const p of items(raw.pipelines)) {
    fill(p, { steps: [] });
    for (const s of items(p.steps)) {
      fill(s, { depends_on: [], parallel: false });
      if (typeof s.depends_on === 'string') s.depends_on = [s.depends_on];
    }
  }
  for (const dp of items(raw.deploy)) fill(dp, { default: false, env: {}, secrets: {} });
  for (const s of items(raw.mcp_servers)) fill(s, { args: [], env: {}, exposes: [], metadata: {} });
  for (const c of items(raw.mcp_clients)) fill(c, { servers: [], metadata: {} });
  for (const e of items(raw.environments)) fill(e, { overrides: [] });
  for (const p of items(raw.policies)) fill(p, { rules: [] });
  for (const t of items(raw.types)) {
    fill(t, { fields: [], values: [] });
    for (const f of items(t.fields)) fill(f, { type: 'string', required: false });
  }
  for (const u of items(raw.users)) fill(u, { agents: [] });
  for (const g of items(raw.guardrails)) fill(g, { keywords: [], patterns: [] });
  for (const s of items(raw.states)) fill(s, { attributes: {} });
  for (const b of items(raw.bindings)) fill(b, { default: false, config: {} });
  return raw as unknown as DefinitionsDraft;
}

function onInputDefaults(st: Obj): void {
  if (st.kind === 'use_skill') fill(st, { with: {} });
  if (st.kind === 'if') {
    for (const b of items(st.branches)) for (const s of items(b.body)) onInputDefaults(s);
    for (const s of items(st.else)) onInputDefaults(s);
  }
  if (st.kind === 'for_each') for (const s of items(st.body)) onInputDefaults(s);
}
