import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type AuthFailureLimit,
  ConfigValueError,
  parseBoolean,
  parseByteSize,
  parseDuration,
  parseFailureLimit,
  parseInteger,
  parseList,
  parseRateLimit,
  parseTrustProxy,
  parseUrl,
  type RateLimit,
  type TrustProxy,
} from './parsers.js';
import { type ModelPriceOverrides, parseModelPrices } from './model-prices.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Every setting of the process, read and validated once at start. */
export interface AppConfig {
  version: string;
  /** Unset → the default deploy block's port, else 8080 (decided once definitions are loaded). */
  port?: number;
  host: string;
  definitionsPath: string;
  /** The `environment` block whose overrides are applied to the agents; unset → the base values. */
  environment?: string;
  /** Unset → embedded Postgres under `dataDir`. */
  databaseUrl?: string;
  dataDir: string;
  databasePoolSize: number;
  apiKeys: string[];
  oidc: { issuer?: string; audience?: string; jwksUri?: string; rolesClaim: string };
  /** The web console's SSO sign-in (docs/console.md): a public client of `oidc.issuer`; unset = keys only. */
  console: { oidcClientId?: string; oidcScope: string; directory?: string };
  rateLimit?: RateLimit;
  rateLimitStore: 'memory' | 'postgres';
  /** Invalid credentials one client address may present per window before it is refused for `blockMs`; undefined = off. */
  authFailureLimit?: AuthFailureLimit;
  /** Express's `trust proxy`: false = the socket's address; true, a hop count, or the trusted proxies. */
  trustProxy: TrustProxy;
  /** `Strict-Transport-Security` max-age in seconds; undefined = the header is not sent. */
  hstsMaxAgeSeconds?: number;
  /** NODE_ENV; `production` refuses to start without credentials unless `authNone`. */
  nodeEnv?: string;
  /** AGENTSPEC_AUTH=none: serving without credentials is intended. */
  authNone: boolean;
  sessionIdleTimeoutMs: number;
  sessionRetentionMs?: number;
  auditContent: boolean;
  /** The audit events' hash chain and retention (docs/audit.md). */
  audit: {
    /** AGENTSPEC_AUDIT_RETENTION: age after which sealed events are purged; unset keeps them. */
    retentionMs?: number;
    /** AGENTSPEC_AUDIT_SEAL_INTERVAL: pause between two sealer runs of this replica; 0 = never seals. */
    sealIntervalMs: number;
  };
  corsOrigins: string[];
  bodyLimitBytes: number;
  providerTimeoutMs: number;
  shutdownTimeoutMs: number;
  metricsRequireAuth: boolean;
  logLevel: LogLevel;
  openai: { apiKey?: string; baseUrl: string };
  anthropic: { apiKey?: string; baseUrl?: string };
  ollama: { host: string };
  httpToolAllowHosts: string[];
  commandAllowlist: string[];
  inlineToolsEnabled: boolean;
  pipelines: { staleAfterMs: number; workerConcurrency: number; workerEnabled: boolean };
  /** AGENTSPEC_MODEL_PRICES: prices that replace or extend the default table (src/governance/prices.ts). */
  modelPrices: ModelPriceOverrides;
}

/** Thrown when one or more variables are invalid; the message names each of them. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

/**
 * AGENTSPEC_ENVIRONMENT: the name of the `environment` block to apply (blank = none). Read
 * here for `npm run definitions`, which must check what start-up would serve.
 */
export function definitionsEnvironment(env: Env = process.env): string | undefined {
  const raw = env.AGENTSPEC_ENVIRONMENT?.trim();
  return raw === undefined || raw === '' ? undefined : raw;
}

/** Parses the environment into an AppConfig, reporting every invalid variable at once. */
export function loadConfig(env: Env = process.env): AppConfig {
  const problems: string[] = [];
  const read = <T>(name: string, fallback: T, parse: (raw: string) => T): T => {
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') return fallback;
    try {
      return parse(raw);
    } catch (error) {
      if (!(error instanceof ConfigValueError)) throw error;
      // Secrets are never echoed back: only the variable name and the rule it broke.
      problems.push(`${name}: ${error.message}`);
      return fallback;
    }
  };
  const optional = <T>(name: string, parse: (raw: string) => T): T | undefined =>
    read<T | undefined>(name, undefined, parse);
  const text = (raw: string) => raw.trim();
  const urlText = (protocols: string[]) => (raw: string) => parseUrl(raw, protocols).toString().replace(/\/$/, '');

  const config: AppConfig = {
    version: readPackageVersion(),
    port: optional('PORT', (raw) => parseInteger(raw, 0, 65_535)),
    host: read('HOST', '0.0.0.0', text),
    definitionsPath: resolve(read('AGENTSPEC_DEFINITIONS', './agents', text)),
    environment: definitionsEnvironment(env),
    databaseUrl: optional('DATABASE_URL', (raw) => {
      parseUrl(raw, ['postgres:', 'postgresql:']);
      return raw.trim();
    }),
    dataDir: resolve(read('AGENTSPEC_DATA_DIR', './.data', text)),
    databasePoolSize: read('AGENTSPEC_DB_POOL_SIZE', 10, (raw) => parseInteger(raw, 1, 1000)),
    apiKeys: [
      ...read('AGENTSPEC_API_KEY', [] as string[], (raw) => [raw.trim()]),
      ...read('AGENTSPEC_API_KEYS', [] as string[], parseList),
    ],
    oidc: {
      issuer: optional('OIDC_ISSUER', parseIssuer),
      audience: optional('OIDC_AUDIENCE', text),
      jwksUri: optional('OIDC_JWKS_URI', (raw) => keyServerUrl(raw).toString()),
      rolesClaim: read('OIDC_ROLES_CLAIM', 'roles', parseClaimPath),
    },
    console: {
      oidcClientId: optional('OIDC_CONSOLE_CLIENT_ID', parseClientId),
      oidcScope: read('OIDC_CONSOLE_SCOPE', 'openid profile email', parseScope),
      directory: optional('AGENTSPEC_CONSOLE_DIR', (raw) => resolve(raw.trim())),
    },
    rateLimit: optional('AGENTSPEC_RATE_LIMIT', parseRateLimit),
    rateLimitStore: read('AGENTSPEC_RATE_LIMIT_STORE', 'memory' as const, (raw) => {
      const value = raw.trim();
      if (value !== 'memory' && value !== 'postgres') {
        throw new ConfigValueError(`"${raw}" must be memory or postgres`);
      }
      return value;
    }),
    authFailureLimit: withBlock(
      read('AGENTSPEC_AUTH_FAILURE_LIMIT', { failures: 20, windowMs: 60_000 }, parseFailureLimit),
      read('AGENTSPEC_AUTH_FAILURE_BLOCK', 5 * 60_000, atLeastOneSecond),
    ),
    trustProxy: read<TrustProxy>('AGENTSPEC_TRUST_PROXY', false, parseTrustProxy),
    hstsMaxAgeSeconds: optional('AGENTSPEC_HSTS_MAX_AGE', (raw) => Math.floor(positiveDuration(raw) / 1000)),
    nodeEnv: optional('NODE_ENV', text),
    authNone: read('AGENTSPEC_AUTH', false, (raw) => {
      if (raw.trim() !== 'none') throw new ConfigValueError(`"${raw}" must be none (or unset)`);
      return true;
    }),
    sessionIdleTimeoutMs: read('AGENTSPEC_SESSION_IDLE_TIMEOUT', 30 * 60_000, parseDuration),
    sessionRetentionMs: optional('AGENTSPEC_SESSION_RETENTION', parseDuration),
    auditContent: read('AGENTSPEC_AUDIT_CONTENT', false, parseBoolean),
    audit: {
      retentionMs: optional('AGENTSPEC_AUDIT_RETENTION', positiveDuration),
      sealIntervalMs: read('AGENTSPEC_AUDIT_SEAL_INTERVAL', 2_000, (raw) => {
        const ms = parseDuration(raw);
        if (ms !== 0 && ms < 100) throw new ConfigValueError('must be 0 (off) or at least 100ms');
        return ms;
      }),
    },
    corsOrigins: read('AGENTSPEC_CORS_ORIGINS', [] as string[], (raw) =>
      parseList(raw).map((origin) => {
        if (origin === '*') return origin;
        const url = parseUrl(origin, ['http:', 'https:']);
        return url.origin;
      }),
    ),
    bodyLimitBytes: read('AGENTSPEC_BODY_LIMIT', 1024 * 1024, parseByteSize),
    providerTimeoutMs: read('AGENTSPEC_PROVIDER_TIMEOUT', 60_000, positiveDuration),
    shutdownTimeoutMs: read('AGENTSPEC_SHUTDOWN_TIMEOUT', 10_000, parseDuration),
    metricsRequireAuth: read('AGENTSPEC_METRICS_AUTH', false, parseBoolean),
    logLevel: read<LogLevel>('LOG_LEVEL', 'info', (raw) => {
      const level = raw.trim().toLowerCase();
      if (!(LOG_LEVELS as readonly string[]).includes(level)) {
        throw new ConfigValueError(`"${raw}" must be one of ${LOG_LEVELS.join(', ')}`);
      }
      return level as LogLevel;
    }),
    openai: {
      apiKey: optional('OPENAI_API_KEY', text),
      baseUrl: read('OPENAI_BASE_URL', 'https://api.openai.com/v1', urlText(['https:', 'http:'])),
    },
    anthropic: {
      apiKey: optional('ANTHROPIC_API_KEY', text),
      baseUrl: optional('ANTHROPIC_BASE_URL', urlText(['https:', 'http:'])),
    },
    ollama: { host: read('OLLAMA_HOST', 'http://localhost:11434', urlText(['https:', 'http:'])) },
    httpToolAllowHosts: read('AGENTSPEC_HTTP_TOOL_ALLOW_HOSTS', [] as string[], (raw) =>
      parseList(raw).map((host) => host.toLowerCase()),
    ),
    commandAllowlist: read('AGENTSPEC_COMMAND_ALLOWLIST', [] as string[], parseList),
    inlineToolsEnabled: read('AGENTSPEC_INLINE_TOOLS', false, parseBoolean),
    pipelines: {
      staleAfterMs: read('AGENTSPEC_PIPELINE_STALE_AFTER', 10_000, (raw) => {
        const ms = parseDuration(raw);
        if (ms < 1_000) throw new ConfigValueError('must be at least 1s');
        return ms;
      }),
      workerConcurrency: read('AGENTSPEC_PIPELINE_WORKER_CONCURRENCY', 8, (raw) => parseInteger(raw, 1, 1000)),
      workerEnabled: read('AGENTSPEC_PIPELINE_WORKER', true, parseBoolean),
    },
    modelPrices: read<ModelPriceOverrides>('AGENTSPEC_MODEL_PRICES', {}, parseModelPrices),
  };

  if (config.apiKeys.some((key) => key.length < 8)) {
    problems.push('AGENTSPEC_API_KEY/AGENTSPEC_API_KEYS: every key must be at least 8 characters');
  }
  if (config.oidc.issuer && !config.oidc.audience) {
    problems.push('OIDC_AUDIENCE: required when OIDC_ISSUER is set');
  }
  // Without the issuer these would be ignored, possibly leaving the server in development mode.
  if (env.OIDC_ISSUER === undefined || env.OIDC_ISSUER.trim() === '') {
    for (const name of ['OIDC_AUDIENCE', 'OIDC_JWKS_URI', 'OIDC_ROLES_CLAIM', 'OIDC_CONSOLE_CLIENT_ID', 'OIDC_CONSOLE_SCOPE']) {
      if (env[name]?.trim()) problems.push(`${name}: set without OIDC_ISSUER`);
    }
  }
  if (config.authNone && (config.apiKeys.length > 0 || config.oidc.issuer)) {
    problems.push('AGENTSPEC_AUTH: none contradicts AGENTSPEC_API_KEY/AGENTSPEC_API_KEYS/OIDC_ISSUER being set; unset one of them');
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/**
 * Kept exactly as written: tokens' `iss` must equal it character for character, trailing slash
 * included (OpenID Connect Discovery 1.0 §3).
 */
function parseIssuer(raw: string): string {
  const url = keyServerUrl(raw);
  if (url.search || url.hash) throw new ConfigValueError('must have no query or fragment');
  return raw.trim();
}

/** Signing keys fetched over plain HTTP could be swapped on the way: https, except on loopback. */
function keyServerUrl(raw: string): URL {
  const url = parseUrl(raw, ['https:', 'http:']);
  if (url.protocol === 'http:' && !['localhost', '[::1]'].includes(url.hostname) && !/^127\.\d+\.\d+\.\d+$/.test(url.hostname)) {
    throw new ConfigValueError('must use https (http only on localhost, 127.0.0.1 or [::1])');
  }
  return url;
}

/** A claim name, or a dotted path into nested claims (`realm_access.roles`). */
function parseClaimPath(raw: string): string {
  const path = raw.trim();
  if (/\s/.test(path) || path.split('.').some((segment) => segment === '')) {
    throw new ConfigValueError(`"${raw}" is not a claim name or dotted path (e.g. roles, realm_access.roles)`);
  }
  return path;
}

/** A client id goes into the authorization URL as it is: printable ASCII, no spaces (RFC 6749 Appendix A.1). */
function parseClientId(raw: string): string {
  const id = raw.trim();
  if (!/^[\x21-\x7e]+$/.test(id)) throw new ConfigValueError('must be printable ASCII without spaces');
  return id;
}

/** Space-separated scope tokens (RFC 6749 §3.3); `openid` is required for an OpenID Connect sign-in. */
function parseScope(raw: string): string {
  const scopes = raw.trim().split(/\s+/);
  if (scopes.some((scope) => !/^[\x21\x23-\x5b\x5d-\x7e]+$/.test(scope))) {
    throw new ConfigValueError(`"${raw}" is not a list of scope tokens separated by spaces`);
  }
  if (!scopes.includes('openid')) throw new ConfigValueError(`"${raw}" must include openid`);
  return scopes.join(' ');
}

function atLeastOneSecond(raw: string): number {
  const ms = parseDuration(raw);
  if (ms < 1_000) throw new ConfigValueError('must be at least 1s');
  return ms;
}

function withBlock(limit: Omit<AuthFailureLimit, 'blockMs'> | undefined, blockMs: number): AuthFailureLimit | undefined {
  return limit && { ...limit, blockMs };
}

function positiveDuration(raw: string): number {
  const ms = parseDuration(raw);
  if (ms <= 0) throw new ConfigValueError('must be above 0');
  return ms;
}

function readPackageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 6; depth++) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate)) {
      const pkg = JSON.parse(readFileSync(candidate, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'agentspec-runtime' && pkg.version) return pkg.version;
    }
    dir = dirname(dir);
  }
  return '0.0.0';
}

/**
 * Start-up refusal of an unprotected production server (docs/security.md "Safe defaults"): with
 * NODE_ENV=production and no credential of any kind, only AGENTSPEC_AUTH=none lets it serve.
 * Called once every credential source (variables, definitions) is known.
 */
export function assertCredentialsConfigured(config: AppConfig, credentialsConfigured: boolean): void {
  if (credentialsConfigured) {
    if (config.authNone) {
      throw new ConfigError([
        'AGENTSPEC_AUTH: none contradicts the credentials configured (user keys in the definitions); unset one of them',
      ]);
    }
    return;
  }
  if (config.nodeEnv === 'production' && !config.authNone) {
    throw new ConfigError([
      'NODE_ENV=production but no credentials are configured: set AGENTSPEC_API_KEY/AGENTSPEC_API_KEYS or ' +
        'OIDC_ISSUER (or user keys in the definitions), or AGENTSPEC_AUTH=none to serve without authentication on purpose',
    ]);
  }
}

/** True when no credential of any kind is configured: requests are accepted without one. */
export function isDevelopmentMode(config: AppConfig): boolean {
  return config.apiKeys.length === 0 && !config.oidc.issuer;
}
