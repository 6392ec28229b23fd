export type Severity = 'error' | 'warning';

export interface SourcePos {
  file: string;
  line: number;
  column: number;
}

export interface Diagnostic extends SourcePos {
  severity: Severity;
  message: string;
  hints: string[];
}

export class DiagnosticBag {
  readonly items: Diagnostic[] = [];

  error(pos: SourcePos, message: string, ...hints: (string | undefined)[]): void {
    this.push('error', pos, message, hints);
  }

  warning(pos: SourcePos, message: string, ...hints: (string | undefined)[]): void {
    this.push('warning', pos, message, hints);
  }

  get errorCount(): number {
    let n = 0;
    for (const d of this.items) if (d.severity === 'error') n++;
    return n;
  }

  private push(severity: Severity, pos: SourcePos, message: string, hints: (string | undefined)[]): void {
    this.items.push({
      severity,
      file: pos.file,
      line: pos.line,
      column: pos.column,
      message,
      hints: hints.filter((h): h is string => h !== undefined && h !== ''),
    });
  }
}

/**
 * Orders diagnostics by file (in the order files were loaded), then line and column.
 * The sort is stable, so two messages at one position keep the order they were found in.
 */
export function sortDiagnostics(items: Diagnostic[], fileOrder: readonly string[]): Diagnostic[] {
  const rank = new Map<string, number>();
  fileOrder.forEach((f, i) => rank.set(f, i));
  return [...items].sort(
    (a, b) =>
      (rank.get(a.file) ?? fileOrder.length) - (rank.get(b.file) ?? fileOrder.length) ||
      a.line - b.line ||
      a.column - b.column,
  );
}

export interface FormatOptions {
  /** Only these severities; default both. */
  severities?: readonly Severity[];
}

/** `path:line:col: error: message` lines, each followed by its `  hint: …` lines. */
export function formatDiagnostics(items: readonly Diagnostic[], options: FormatOptions = {}): string {
  const allowed = options.severities ?? ['error', 'warning'];
  const out: string[] = [];
  for (const d of items) {
    if (!allowed.includes(d.severity)) continue;
    out.push(`${d.file}:${d.line}:${d.column}: ${d.severity}: ${d.message}`);
    for (const h of d.hints) out.push(`  hint: ${h}`);
  }
  return out.join('\n');
}

/** Levenshtein distance with an early exit once `max` is exceeded. */
export function editDistance(a: string, b: string, max = Infinity): number {
  if (a === b) return 0;
  if (Math.abs(a.length - b.length) > max) return max + 1;
  let prev = new Array<number>(b.length + 1);
  let cur = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    let rowMin = cur[0];
    const ca = a.charCodeAt(i - 1);
    for (let j = 1; j <= b.length; j++) {
      const cost = ca === b.charCodeAt(j - 1) ? 0 : 1;
      const v = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
      cur[j] = v;
      if (v < rowMin) rowMin = v;
    }
    if (rowMin > max) return max + 1;
    [prev, cur] = [cur, prev];
  }
  return prev[b.length];
}

/**
 * The closest candidate within a distance that grows with the word's length (a third of it,
 * at least 1, at most 3), so short names only match near-identical ones.
 */
export function closestName(name: string, candidates: Iterable<string>): string | undefined {
  const limit = Math.min(3, Math.max(1, Math.floor(name.length / 3)));
  let best: string | undefined;
  let bestDistance = limit + 1;
  const lower = name.toLowerCase();
  for (const c of candidates) {
    if (c === name) continue;
    const d = c.toLowerCase() === lower ? 0 : editDistance(lower, c.toLowerCase(), limit);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

export function didYouMean(name: string, candidates: Iterable<string>): string | undefined {
  const c = closestName(name, candidates);
  return c === undefined ? undefined : `did you mean "${c}"?`;
}
