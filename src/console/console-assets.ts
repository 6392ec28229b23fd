import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

/** One built file of the console, held in memory (the whole build is a few hundred kB). */
export interface ConsoleAsset {
  body: Buffer;
  /** Present when the type compresses and gzip makes it smaller. */
  gzip?: Buffer;
  contentType: string;
  /** A strong validator: the SHA-256 of the body. */
  etag: string;
  /** The gzip version's own validator (RFC 9110 §8.8.3.3: each content coding needs a distinct one). */
  gzipEtag?: string;
  /** Vite names the files under assets/ by their content hash, so they never change. */
  immutable: boolean;
  /** An HTML document: it gets the console's Content-Security-Policy. */
  document: boolean;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
};
const COMPRESSIBLE = new Set(['.html', '.js', '.css', '.svg', '.json', '.txt']);

/** Bounds on what a console folder may hold: a misconfigured AGENTSPEC_CONSOLE_DIR must not fill memory. */
export interface ConsoleAssetLimits {
  maxFiles: number;
  /** Of all served files together, before compression. */
  maxBytes: number;
}

/** The build is about 30 files and under 1 MB; these leave room for growth. */
export const DEFAULT_ASSET_LIMITS: ConsoleAssetLimits = { maxFiles: 500, maxBytes: 20 * 1024 * 1024 };

/**
 * The console's build (`vite build` → dist/console), by path relative to `/console/`. Only files
 * found at start are ever served, so no request path reaches the file system. Symbolic links
 * are skipped (a link could point anywhere on the host), and a folder over `limits` is refused.
 */
export class ConsoleAssets {
  private constructor(private readonly files: ReadonlyMap<string, ConsoleAsset>) {}

  /** Undefined when the folder holds no index.html (the console was not built). */
  static load(directory: string, limits: ConsoleAssetLimits = DEFAULT_ASSET_LIMITS): ConsoleAssets | undefined {
    if (!existsSync(join(directory, 'index.html'))) return undefined;
    const files = new Map<string, ConsoleAsset>();
    let bytes = 0;
    for (const { path, size } of listFiles(directory, limits.maxFiles)) {
      const type = TYPES[extname(path)];
      if (!type) continue;
      bytes += size;
      if (bytes > limits.maxBytes) throw new Error(`the console folder ${directory} holds more than ${limits.maxBytes} bytes`);
      const name = relative(directory, path).split(sep).join('/');
      const body = readFileSync(path);
      const gzip = COMPRESSIBLE.has(extname(path)) ? gzipSync(body, { level: 9 }) : undefined;
      const hash = createHash('sha256').update(body).digest('base64url');
      const smaller = gzip && gzip.length < body.length ? gzip : undefined;
      files.set(name, {
        body,
        gzip: smaller,
        contentType: type,
        etag: `"${hash}"`,
        gzipEtag: smaller ? `"${hash}-gz"` : undefined,
        immutable: name.startsWith('assets/'),
        document: extname(path) === '.html',
      });
    }
    return new ConsoleAssets(files);
  }

  /**
   * The file a path under `/console/` names; the page itself for the console's own routes
   * (`sessions/chat/sess_…`: no file extension in the last segment), so that reloading or
   * sharing any console address works; undefined for a missing file.
   */
  resolve(path: string): ConsoleAsset | undefined {
    const name = path.replace(/^\/+/, '');
    const file = this.files.get(name);
    if (file) return file;
    const last = name.split('/').pop() ?? '';
    if (name.startsWith('assets/') || last.includes('.')) return undefined;
    return this.files.get('index.html');
  }
}

/** dist/console of the checkout or image this code runs from (src/ under vitest, dist/src/ once built). */
export function defaultConsoleDirectory(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 6; depth++) {
    if (existsSync(join(dir, 'package.json'))) return join(dir, 'dist', 'console');
    dir = dirname(dir);
  }
  return join(process.cwd(), 'dist', 'console');
}

/** Regular files under `directory`, not following symbolic links; throws past `maxFiles` entries. */
function listFiles(directory: string, maxFiles: number): { path: string; size: number }[] {
  const found: { path: string; size: number }[] = [];
  const visit = (dir: string) => {
    for (const entry of readdirSync(dir)) {
      const path = join(dir, entry);
      const stat = lstatSync(path);
      if (stat.isDirectory()) visit(path);
      else if (stat.isFile()) found.push({ path, size: stat.size });
      if (found.length > maxFiles) throw new Error(`the console folder ${directory} holds more than ${maxFiles} files`);
    }
  };
  visit(directory);
  return found;
}
