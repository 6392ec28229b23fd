/**
 * The console page's Content-Security-Policy: its own scripts, styles and images only (no inline
 * script or style, no eval), calls to this origin and to the identity provider's token endpoint
 * (`connectOrigins`), no framing, no plugins. The API's deny-all policy stays on every other path.
 */
export function consolePolicy(connectOrigins: readonly string[]): string {
  const directives: [string, string[]][] = [
    ['default-src', ["'none'"]],
    ['script-src', ["'self'"]],
    ['style-src', ["'self'"]],
    ['img-src', ["'self'", 'data:']],
    ['font-src', ["'self'"]],
    ['connect-src', ["'self'", ...connectOrigins]],
    ['manifest-src', ["'self'"]],
    ['base-uri', ["'none'"]],
    ['form-action', ["'self'"]],
    ['frame-ancestors', ["'none'"]],
    ['object-src', ["'none'"]],
  ];
  return directives.map(([name, values]) => `${name} ${values.join(' ')}`).join('; ');
}

/** Hashed assets never change; everything else is revalidated (ETag) so a new build shows at once. */
export function cacheControl(immutable: boolean): string {
  return immutable ? 'public, max-age=31536000, immutable' : 'no-cache';
}

/**
 * Whether the client takes gzip (RFC 9110 §12.5.3): `gzip` or `*` with a q-value above 0, the
 * explicit `gzip` entry winning over `*` (`gzip;q=0, *` refuses gzip).
 */
export function acceptsGzip(acceptEncoding: string | undefined): boolean {
  let gzip: number | undefined;
  let any: number | undefined;
  for (const item of (acceptEncoding ?? '').split(',')) {
    const [coding, ...params] = item.trim().toLowerCase().split(';');
    const q = params.map((param) => /^\s*q\s*=\s*([0-9.]+)\s*$/.exec(param)?.[1]).find((value) => value !== undefined);
    const weight = q === undefined ? 1 : Number(q);
    if (coding.trim() === 'gzip' || coding.trim() === 'x-gzip') gzip = Math.max(gzip ?? 0, Number.isNaN(weight) ? 0 : weight);
    else if (coding.trim() === '*') any = Number.isNaN(weight) ? 0 : weight;
  }
  return (gzip ?? any ?? 0) > 0;
}

/**
 * If-None-Match by the weak comparison (RFC 9110 §13.1.2): `*`, or any listed tag equal to
 * `etag` once a `W/` prefix is set aside.
 */
export function noneMatch(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  if (ifNoneMatch.trim() === '*') return true;
  const opaque = (tag: string) => tag.trim().replace(/^W\//, '');
  return (ifNoneMatch.match(/(?:W\/)?"[^"]*"/g) ?? []).some((tag) => opaque(tag) === opaque(etag));
}
