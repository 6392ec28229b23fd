import type { CorsOptions, CorsOptionsDelegate } from '@nestjs/common/interfaces/external/cors-options.interface.js';
import type { NextFunction, Request, Response } from 'express';
import helmet from 'helmet';

/** Swagger UI's page and its assets (`/docs`, `/docs/swagger-ui-bundle.js`, …). */
const DOCS = /^\/docs(\/|$)/;

/** Nothing in a JSON answer is meant to be rendered, framed or to load anything. */
const API_POLICY = {
  defaultSrc: ["'none'"],
  baseUri: ["'none'"],
  formAction: ["'none'"],
  frameAncestors: ["'none'"],
};

/**
 * Swagger UI: scripts and styles from this origin only (its set-up script is a file, not inline),
 * inline styles (React sets style attributes), data: images (its icons), calls to this origin
 * (Try it out). No upgrade-insecure-requests: the service may be served over plain HTTP.
 */
const DOCS_POLICY = {
  defaultSrc: ["'self'"],
  baseUri: ["'self'"],
  connectSrc: ["'self'"],
  fontSrc: ["'self'", 'data:'],
  formAction: ["'self'"],
  frameAncestors: ["'none'"],
  imgSrc: ["'self'", 'data:'],
  objectSrc: ["'none'"],
  scriptSrc: ["'self'"],
  scriptSrcAttr: ["'none'"],
  styleSrc: ["'self'", "'unsafe-inline'"],
  upgradeInsecureRequests: null,
};

export interface SecurityHeaderOptions {
  /** `Strict-Transport-Security` max-age; undefined: not sent (docs/security.md "CORS and headers"). */
  hstsMaxAgeSeconds?: number;
}

/**
 * Helmet's headers for an API: a deny-all Content-Security-Policy except on Swagger UI, which
 * gets the policy it needs; `nosniff`, `Referrer-Policy: no-referrer`, `X-Frame-Options: DENY`;
 * HSTS only when configured. Every header helmet sets here is the same for every request (no
 * directive depends on the request), so helmet runs once, at start, and each request gets what
 * it set: a dozen middleware calls and the policy's string building less per request.
 */
export function securityHeaders(options: SecurityHeaderOptions) {
  const common = {
    strictTransportSecurity:
      options.hstsMaxAgeSeconds === undefined ? false : { maxAge: options.hstsMaxAgeSeconds, includeSubDomains: false },
    xFrameOptions: { action: 'deny' as const },
    referrerPolicy: { policy: 'no-referrer' as const },
  };
  const api = headersOf(helmet({ ...common, contentSecurityPolicy: { useDefaults: false, directives: API_POLICY } }));
  const docs = headersOf(helmet({ ...common, contentSecurityPolicy: { useDefaults: false, directives: DOCS_POLICY } }));
  return function securityHeadersMiddleware(req: Request, res: Response, next: NextFunction): void {
    for (const [name, value] of DOCS.test(req.path) ? docs : api) {
      if (value === undefined) res.removeHeader(name);
      else res.setHeader(name, value);
    }
    next();
  };
}

/** What a helmet middleware does to a response, in order: a header set, or removed (undefined). */
type HeaderChange = readonly [name: string, value: string | undefined];

function headersOf(middleware: ReturnType<typeof helmet>): HeaderChange[] {
  const changes: HeaderChange[] = [];
  const recorder = {
    setHeader: (name: string, value: unknown) => void changes.push([name, String(value)]),
    removeHeader: (name: string) => void changes.push([name, undefined]),
  };
  let finished = false;
  let failure: unknown;
  middleware({} as never, recorder as never, (error?: unknown) => {
    finished = true;
    failure = error;
  });
  if (!finished || failure) {
    throw new Error(`helmet did not set its headers at start-up: ${failure instanceof Error ? failure.message : 'it did not finish'}`);
  }
  return changes;
}

const ALLOWED_HEADERS = ['Content-Type', 'Authorization', 'X-API-Key', 'X-Correlation-ID'];
const EXPOSED_HEADERS = [
  'X-Correlation-ID',
  'Retry-After',
  'WWW-Authenticate',
  'RateLimit-Limit',
  'RateLimit-Remaining',
  'RateLimit-Reset',
];

/**
 * CORS for the allowed origins only (`*`: any). A request from another origin gets no CORS header
 * at all, and its preflight is not answered here: it goes on to the router like any OPTIONS
 * request (405 on a known path), so the browser refuses the real request.
 */
export function corsOptions(origins: readonly string[]): CorsOptionsDelegate<Request> {
  const anyOrigin = origins.includes('*');
  const allowed = new Set(origins);
  const granted: CorsOptions = {
    allowedHeaders: ALLOWED_HEADERS,
    exposedHeaders: EXPOSED_HEADERS,
    maxAge: 600,
  };
  return (req, callback) => {
    const origin = req.headers.origin;
    if (origin === undefined || !(anyOrigin || allowed.has(origin))) return callback(null, { origin: false });
    callback(null, { ...granted, origin: anyOrigin ? '*' : origin });
  };
}

/** Answers depend on Origin once CORS is on: caches must keep them apart, refusals included. */
export function varyOnOrigin(_req: Request, res: Response, next: NextFunction): void {
  res.vary('Origin');
  next();
}
