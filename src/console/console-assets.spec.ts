import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsoleAssets, defaultConsoleDirectory } from './console-assets.js';

describe('ConsoleAssets', () => {
  let dir: string;
  let assets: ConsoleAssets;
  let outside: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'console-assets-'));
    mkdirSync(join(dir, 'assets'));
    writeFileSync(join(dir, 'index.html'), `<!doctype html><html>${'<p>page</p>'.repeat(50)}</html>`);
    writeFileSync(join(dir, 'favicon.svg'), '<svg/>');
    writeFileSync(join(dir, 'assets', 'index-abc123.js'), 'console.log(1);'.repeat(100));
    writeFileSync(join(dir, 'notes.exe'), 'not served');
    // Links out of the build: to a file elsewhere and to a folder elsewhere.
    outside = mkdtempSync(join(tmpdir(), 'console-outside-'));
    writeFileSync(join(outside, 'secret.txt'), 'host secret');
    symlinkSync(join(outside, 'secret.txt'), join(dir, 'leak.txt'));
    symlinkSync(outside, join(dir, 'linked'));
    assets = ConsoleAssets.load(dir)!;
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
  });

  it('serves built files by their path under /console/, hashed assets as immutable', () => {
    const script = assets.resolve('assets/index-abc123.js')!;
    expect(script.contentType).toBe('text/javascript; charset=utf-8');
    expect(script.immutable).toBe(true);
    expect(script.document).toBe(false);
    expect(gunzipSync(script.gzip!).toString()).toBe('console.log(1);'.repeat(100));
    expect(script.etag).toMatch(/^"[A-Za-z0-9_-]{43}"$/);
    expect(script.gzipEtag).toBe(script.etag.replace(/"$/, '-gz"'));
    expect(assets.resolve('favicon.svg')?.gzipEtag).toBeUndefined();
    expect(assets.resolve('favicon.svg')?.immutable).toBe(false);
  });

  it('answers the page for the console own addresses, and nothing for missing files', () => {
    const page = assets.resolve('')!;
    expect(page.document).toBe(true);
    expect(assets.resolve('sessions/chat/sess_1')).toBe(page);
    expect(assets.resolve('pipelines/brief/runs/run_01')).toBe(page);
    expect(assets.resolve('assets/missing.js')).toBeUndefined();
    expect(assets.resolve('assets/elsewhere')).toBeUndefined();
    expect(assets.resolve('favicon.ico')).toBeUndefined();
  });

  it('never reaches outside the build: only files found at load are served', () => {
    expect(assets.resolve('../package.json')).toBeUndefined();
    expect(assets.resolve('assets/../../package.json')).toBeUndefined();
    expect(assets.resolve('notes.exe')).toBeUndefined();
    // A path without an extension is a console address: the page, never a file outside.
    expect(assets.resolve('../../etc/passwd')?.document).toBe(true);
  });

  it('does not follow symbolic links out of the build', () => {
    expect(assets.resolve('leak.txt')).toBeUndefined();
    expect(assets.resolve('linked/secret.txt')).toBeUndefined();
  });

  it('refuses a folder with more files or bytes than its limits', () => {
    expect(() => ConsoleAssets.load(dir, { maxFiles: 2, maxBytes: 1e9 })).toThrow(/more than 2 files/);
    expect(() => ConsoleAssets.load(dir, { maxFiles: 100, maxBytes: 1000 })).toThrow(/more than 1000 bytes/);
    expect(ConsoleAssets.load(dir, { maxFiles: 4, maxBytes: 10_000 })?.resolve('favicon.svg')).toBeDefined();
  });

  it('is undefined for a folder without index.html (not built)', () => {
    expect(ConsoleAssets.load(join(dir, 'assets'))).toBeUndefined();
    expect(ConsoleAssets.load(join(dir, 'missing'))).toBeUndefined();
  });

  it('looks in dist/console of the checkout by default', () => {
    expect(defaultConsoleDirectory()).toBe(join(process.cwd(), 'dist', 'console'));
  });
});
