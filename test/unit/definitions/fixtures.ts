import { readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const FIXTURES = resolve(import.meta.dirname, '../../fixtures/definitions');
export const VALID_DIR = join(FIXTURES, 'valid');
export const INVALID_DIR = join(FIXTURES, 'invalid');
export const AGENTS_DIR = resolve(import.meta.dirname, '../../../agents');

/**
 * The loadable entries of a fixture folder: each `.ias`, `.json`, `.yaml` file, and each
 * sub-folder (loaded through its `main.ias` when it has one, else as a folder).
 */
export function fixtureEntries(dir: string): { name: string; path: string }[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const full = join(dir, name);
      if (statSync(full).isDirectory()) {
        const main = join(full, 'main.ias');
        return [{ name, path: statExists(main) ? main : full }];
      }
      return /\.(ias|json|ya?ml)$/.test(name) && !name.endsWith('.golden.json') ? [{ name, path: full }] : [];
    });
}

function statExists(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
