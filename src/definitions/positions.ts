import type { SourcePos } from './diagnostics.js';

export type ModelPath = readonly (string | number)[];

/** Finds where a part of the model was written, so validation can point at it. */
export interface Locator {
  /** The position of the value at `path`, or of its nearest written ancestor. */
  at(path: ModelPath): SourcePos;
}

/**
 * Positions recorded by the `.ias` parser, attached to the draft objects they describe:
 * for each object, '' is where its statement starts and other keys are attribute paths
 * relative to it ("skills.2", "memory.max_messages"). Entries are flat arrays
 * `[file, key, line, column, key, line, column, …]`: a 1 MB file records tens of thousands of
 * positions, and one object per position showed up as garbage-collection time.
 */
export class PositionIndex implements Locator {
  private readonly byObject = new Map<object, (string | number)[]>();
  private root: object = {};

  /**
   * @param enabled false for the first, optimistic pass over a set that is probably valid:
   * nothing is recorded, and a set with any problem is parsed again with positions.
   */
  constructor(
    private readonly fallback: SourcePos,
    readonly enabled = true,
  ) {}

  /** The merged draft that `at` paths start from. */
  bindRoot(root: object): void {
    this.root = root;
  }

  set(target: object, key: string, file: string, line: number, column: number): void {
    if (!this.enabled) return;
    const entry = this.byObject.get(target);
    if (entry === undefined) this.byObject.set(target, [file, key, line, column]);
    else entry.push(key, line, column);
  }

  get(target: object, key: string): SourcePos | undefined {
    const entry = this.byObject.get(target);
    if (entry === undefined) return undefined;
    // The last write of a key wins, as it does in the draft.
    for (let i = entry.length - 3; i >= 1; i -= 3) {
      if (entry[i] === key) return { file: entry[0] as string, line: entry[i + 1] as number, column: entry[i + 2] as number };
    }
    return undefined;
  }

  at(path: ModelPath): SourcePos {
    const chain: { target: object; depth: number }[] = [{ target: this.root, depth: 0 }];
    let current: unknown = this.root;
    for (let i = 0; i < path.length; i++) {
      if (current === null || typeof current !== 'object') break;
      current = (current as Record<string | number, unknown>)[path[i]];
      if (current !== null && typeof current === 'object') chain.push({ target: current, depth: i + 1 });
    }
    for (let c = chain.length - 1; c >= 0; c--) {
      for (let end = path.length; end >= chain[c].depth; end--) {
        const pos = this.get(chain[c].target, path.slice(chain[c].depth, end).join('.'));
        if (pos !== undefined) return pos;
      }
    }
    return this.fallback;
  }
}
