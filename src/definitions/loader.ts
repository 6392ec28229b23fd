import { readFile, readdir, realpath, stat } from 'node:fs/promises';
import * as nodePath from 'node:path';
import { Diagnostic, DiagnosticBag, SourcePos, sortDiagnostics } from './diagnostics.js';
import { DocumentFormat, readModelDocument } from './document.js';
import type { DefinitionsDraft } from './draft.js';
import { finalizeDraft, mergeDrafts } from './lower.js';
import type { Definitions } from './model.js';
import { ParsedFile, parseIas } from './parser.js';
import { Locator, PositionIndex } from './positions.js';
import { checkDefinitions } from './checks.js';

export type LoadResult =
  | { ok: true; definitions: Definitions; warnings: Diagnostic[]; files: string[] }
  | { ok: false; diagnostics: Diagnostic[]; files: string[] };

/** The file system as the loader sees it; tests and the benchmark pass an in-memory one. */
export interface SourceHost {
  kind(path: string): Promise<'file' | 'directory' | 'missing'>;
  readText(path: string): Promise<string>;
  /** Entry names of a directory. */
  list(path: string): Promise<string[]>;
  /** The canonical path, so a file reached by two routes (symlinks) loads once. */
  canonical(path: string): Promise<string>;
}

export const nodeSourceHost: SourceHost = {
  async kind(path) {
    try {
      const s = await stat(path);
      return s.isDirectory() ? 'directory' : 'file';
    } catch {
      return 'missing';
    }
  },
  readText: (path) => readFile(path, 'utf8'),
  list: (path) => readdir(path),
  async canonical(path) {
    try {
      return await realpath(path);
    } catch {
      return nodePath.resolve(path);
    }
  },
};

/** An in-memory host over `{ path: text }`; directories are implied by the paths. */
export function memorySourceHost(files: Record<string, string>): SourceHost {
  const normalized = new Map(Object.entries(files).map(([p, t]) => [nodePath.resolve(p), t]));
  const isDir = (p: string): boolean => {
    const prefix = nodePath.resolve(p) + nodePath.sep;
    for (const k of normalized.keys()) if (k.startsWith(prefix)) return true;
    return false;
  };
  return {
    kind(p) {
      if (normalized.has(nodePath.resolve(p))) return Promise.resolve('file');
      return Promise.resolve(isDir(p) ? 'directory' : 'missing');
    },
    readText(p) {
      const t = normalized.get(nodePath.resolve(p));
      if (t === undefined) return Promise.reject(new Error(`ENOENT: no such file, open '${p}'`));
      return Promise.resolve(t);
    },
    list(p) {
      const prefix = nodePath.resolve(p) + nodePath.sep;
      const names = new Set<string>();
      for (const k of normalized.keys()) if (k.startsWith(prefix)) names.add(k.slice(prefix.length).split(nodePath.sep)[0]);
      return Promise.resolve([...names]);
    },
    canonical(p) {
      return Promise.resolve(nodePath.resolve(p));
    },
  };
}

export interface LoadOptions {
  host?: SourceHost;
  /** Paths in messages are shown relative to this folder when inside it (default: the process's). */
  cwd?: string;
  /** The `environment` block to apply to the agents (AGENTSPEC_ENVIRONMENT); unset: the base values. */
  environment?: string;
}

const DOCUMENT_EXTENSIONS: Record<string, DocumentFormat> = { '.json': 'json', '.yaml': 'yaml', '.yml': 'yaml' };

/**
 * Loads definitions from a `.ias` file (with its imports), a folder of `.ias` files, or a
 * `.json`/`.yaml` file of the model. Never throws on bad input: every problem found is in
 * `diagnostics`, in source order.
 */
export async function loadDefinitions(path: string, options: LoadOptions = {}): Promise<LoadResult> {
  const host = options.host ?? nodeSourceHost;
  const cwd = options.cwd ?? process.cwd();
  const display = (p: string): string => {
    const rel = nodePath.relative(cwd, nodePath.resolve(cwd, p));
    return rel !== '' && !rel.startsWith('..') && !nodePath.isAbsolute(rel) ? rel : nodePath.resolve(cwd, p);
  };
  const target = nodePath.resolve(cwd, path);
  const diags = new DiagnosticBag();
  const kind = await host.kind(target);
  if (kind === 'missing') {
    diags.error(at(display(target)), `cannot read definitions: ${path} does not exist`);
    return fail(diags, []);
  }
  if (kind === 'file') {
    const format = DOCUMENT_EXTENSIONS[nodePath.extname(target).toLowerCase()];
    if (format !== undefined) return loadDocument(host, target, display(target), format, diags, options.environment);
    if (nodePath.extname(target).toLowerCase() !== '.ias') {
      diags.error(at(display(target)), `cannot read definitions from ${path}: expected a .ias, .json, .yaml or .yml file, or a folder`);
      return fail(diags, []);
    }
    return loadIas(host, [target], display, diags, options.environment);
  }
  const entries = await iasFilesIn(host, target);
  if (entries.length === 0) {
    diags.error(at(display(target)), `no .ias files in ${path}`);
    return fail(diags, []);
  }
  return loadIas(host, entries, display, diags, options.environment);
}

function at(file: string): SourcePos {
  return { file, line: 1, column: 1 };
}

function fail(diags: DiagnosticBag, files: string[]): LoadResult {
  return { ok: false, diagnostics: sortDiagnostics(diags.items, files), files };
}

async function iasFilesIn(host: SourceHost, dir: string): Promise<string[]> {
  const names = (await host.list(dir)).filter((n) => n.toLowerCase().endsWith('.ias')).sort();
  const files: string[] = [];
  for (const n of names) {
    const full = nodePath.join(dir, n);
    if ((await host.kind(full)) === 'file') files.push(full);
  }
  return files;
}

async function loadDocument(
  host: SourceHost,
  target: string,
  shown: string,
  format: DocumentFormat,
  diags: DiagnosticBag,
  environment: string | undefined,
): Promise<LoadResult> {
  let text: string;
  try {
    text = await host.readText(target);
  } catch (e) {
    diags.error(at(shown), `cannot read ${shown}: ${(e as Error).message}`);
    return fail(diags, [shown]);
  }
  const { draft, locator } = readModelDocument(text, shown, format, diags);
  if (draft === undefined) return fail(diags, [shown]);
  return conclude(draft, locator, diags, [shown], true, () => false, environment);
}

async function loadIas(
  host: SourceHost,
  entries: string[],
  display: (p: string) => string,
  readErrors: DiagnosticBag,
  environment: string | undefined,
): Promise<LoadResult> {
  // First pass without recording positions, which costs a third of the time on large sets.
  // Any problem at all (even a warning) and the files are parsed again with positions.
  let diags = new DiagnosticBag();
  let positions = new PositionIndex(at(display(entries[0])), false);
  const parsed: ParsedFile[] = [];
  const texts: string[] = [];
  const shownFiles: string[] = [];
  const loaded = new Set<string>();

  // Depth first, in order: a file, then what it imports, then the next file.
  const visit = async (file: string, importedAt?: SourcePos): Promise<void> => {
    const canonical = await host.canonical(file);
    if (loaded.has(canonical)) return;
    loaded.add(canonical);
    const shown = display(file);
    let text: string;
    try {
      text = await host.readText(file);
    } catch (e) {
      readErrors.error(importedAt ?? at(shown), `cannot read ${shown}: ${(e as Error).message}`);
      return;
    }
    shownFiles.push(shown);
    texts.push(text);
    const result = parseIas(text, shown, diags, positions);
    parsed.push(result);
    for (const imp of result.imports) {
      for (const next of await resolveImport(host, file, imp.path, imp.pos, readErrors)) await visit(next, imp.pos);
    }
  };
  for (const entry of entries) await visit(entry);

  let draft = mergeDrafts(parsed);
  const written = (target: object, key: string): boolean => positions.get(target, key) !== undefined;
  const options = { checkPackage: false, written, describePos, environment, entry: positions.at([]) };
  if (readErrors.items.length === 0 && diags.items.length === 0) {
    positions.bindRoot(draft);
    checkDefinitions(draft, positions, diags, options);
    if (diags.items.length === 0) return { ok: true, definitions: finalizeDraft(draft), warnings: [], files: shownFiles };
  }
  diags = readErrors;
  positions = new PositionIndex(positions.at([]), true);
  draft = mergeDrafts(texts.map((text, i) => parseIas(text, shownFiles[i], diags, positions)));
  positions.bindRoot(draft);
  return conclude(draft, positions, diags, shownFiles, false, written, environment);
}

function describePos(p: SourcePos): string {
  return `${p.file}:${p.line}:${p.column}`;
}

async function resolveImport(
  host: SourceHost,
  from: string,
  spec: string,
  pos: SourcePos,
  diags: DiagnosticBag,
): Promise<string[]> {
  const local = spec.startsWith('./') || spec.startsWith('../') || nodePath.isAbsolute(spec);
  if (!local) {
    diags.error(pos, `import "${spec}" is not a local path`, `only local files can be imported: write "./${spec}"`);
    return [];
  }
  const target = nodePath.resolve(nodePath.dirname(from), spec);
  const kind = await host.kind(target);
  if (kind === 'missing') {
    diags.error(pos, `cannot import "${spec}": no such file or folder`);
    return [];
  }
  if (kind === 'directory') {
    const files = await iasFilesIn(host, target);
    if (files.length === 0) diags.error(pos, `cannot import "${spec}": the folder has no .ias files`);
    return files;
  }
  if (nodePath.extname(target).toLowerCase() !== '.ias') {
    diags.error(pos, `cannot import "${spec}": only .ias files can be imported`);
    return [];
  }
  return [target];
}

function conclude(
  draft: DefinitionsDraft,
  locator: Locator,
  diags: DiagnosticBag,
  files: string[],
  checkPackage: boolean,
  written: (target: object, key: string) => boolean,
  environment: string | undefined,
): LoadResult {
  checkDefinitions(draft, locator, diags, { checkPackage, written, describePos, environment, entry: locator.at([]) });
  if (diags.errorCount > 0) return fail(diags, files);
  return { ok: true, definitions: finalizeDraft(draft), warnings: sortDiagnostics(diags.items, files), files };
}
