import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { assertCredentialsConfigured, ConfigError, isDevelopmentMode, loadConfig } from './configuration.js';
import { parseByteSize, parseDuration, parseFailureLimit, parseRateLimit, parseTrustProxy } from './parsers.js';

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('loadConfig', () => {
  it('uses the documented defaults', () => {
    const config = loadConfig({});
    expect(config.port).toBeUndefined();
    expect(config.host).toBe('0.0.0.0');
    expect(config.definitionsPath).toMatch(/\/agents$/);
    expect(config.databaseUrl).toBeUndefined();
    expect(config.sessionIdleTimeoutMs).toBe(30 * 60_000);
    expect(config.sessionRetentionMs).toBeUndefined();
    expect(config.auditContent).toBe(false);
    expect(config.audit).toEqual({ retentionMs: undefined, sealIntervalMs: 2_000 });
    expect(config.rateLimit).toBeUndefined();
    expect(config.rateLimitStore).toBe('memory');
    expect(config.bodyLimitBytes).toBe(1024 * 1024);
    expect(config.providerTimeoutMs).toBe(60_000);
    expect(config.logLevel).toBe('info');
    expect(config.openai.baseUrl).toBe('https://api.openai.com/v1');
    expect(config.ollama.host).toBe('http://localhost:11434');
    expect(config.oidc.rolesClaim).toBe('roles');
    expect(isDevelopmentMode(config)).toBe(true);
  });

  it('parses every kind of value', () => {
    const config = loadConfig({
      PORT: '9000',
      DATABASE_URL: 'postgres://u:p@db:5432/x',
      AGENTSPEC_API_KEY: 'single-key-123',
      AGENTSPEC_API_KEYS: 'key-one-1234, key-two-1234,',
      AGENTSPEC_SESSION_IDLE_TIMEOUT: '0',
      AGENTSPEC_SESSION_RETENTION: '90d',
      AGENTSPEC_AUDIT_CONTENT: 'true',
      AGENTSPEC_CORS_ORIGINS: 'https://a.example.com, http://localhost:3000',
      AGENTSPEC_BODY_LIMIT: '512kb',
      AGENTSPEC_PROVIDER_TIMEOUT: '500ms',
      OPENAI_BASE_URL: 'http://127.0.0.1:9999/v1/',
      AGENTSPEC_HTTP_TOOL_ALLOW_HOSTS: 'Internal.Example.com',
    });
    expect(config.port).toBe(9000);
    expect(config.apiKeys).toEqual(['single-key-123', 'key-one-1234', 'key-two-1234']);
    expect(config.sessionIdleTimeoutMs).toBe(0);
    expect(config.sessionRetentionMs).toBe(90 * 86_400_000);
    expect(config.auditContent).toBe(true);
    expect(config.corsOrigins).toEqual(['https://a.example.com', 'http://localhost:3000']);
    expect(config.bodyLimitBytes).toBe(512 * 1024);
    expect(config.providerTimeoutMs).toBe(500);
    expect(config.openai.baseUrl).toBe('http://127.0.0.1:9999/v1');
    expect(config.httpToolAllowHosts).toEqual(['internal.example.com']);
    expect(isDevelopmentMode(config)).toBe(false);
  });

  it('reads the audit retention and seal interval, refusing a retention of 0 and an interval under 100ms', () => {
    expect(loadConfig({ AGENTSPEC_AUDIT_RETENTION: '365d', AGENTSPEC_AUDIT_SEAL_INTERVAL: '0' }).audit).toEqual({
      retentionMs: 365 * 86_400_000,
      sealIntervalMs: 0,
    });
    expect(loadConfig({ AGENTSPEC_AUDIT_SEAL_INTERVAL: '500ms' }).audit.sealIntervalMs).toBe(500);
    expect(problems({ AGENTSPEC_AUDIT_RETENTION: '0', AGENTSPEC_AUDIT_SEAL_INTERVAL: '50ms' })).toEqual([
      'AGENTSPEC_AUDIT_RETENTION: must be above 0',
      'AGENTSPEC_AUDIT_SEAL_INTERVAL: must be 0 (off) or at least 100ms',
    ]);
  });

  it('reports every invalid variable at once, by name, without echoing secrets', () => {
    const found = problems({
      PORT: 'eighty',
      AGENTSPEC_SESSION_IDLE_TIMEOUT: '30 minutes',
      AGENTSPEC_RATE_LIMIT: '10',
      DATABASE_URL: 'mysql://x',
      AGENTSPEC_AUDIT_CONTENT: 'maybe',
      LOG_LEVEL: 'loud',
      AGENTSPEC_BODY_LIMIT: 'huge',
      AGENTSPEC_PROVIDER_TIMEOUT: '0',
      AGENTSPEC_API_KEY: 'short',
      OIDC_ISSUER: 'https://id.example.com',
    });
    const names = found.map((problem) => problem.split(':')[0]);
    expect(names).toEqual([
      'PORT',
      'DATABASE_URL',
      'AGENTSPEC_RATE_LIMIT',
      'AGENTSPEC_SESSION_IDLE_TIMEOUT',
      'AGENTSPEC_AUDIT_CONTENT',
      'AGENTSPEC_BODY_LIMIT',
      'AGENTSPEC_PROVIDER_TIMEOUT',
      'LOG_LEVEL',
      'AGENTSPEC_API_KEY/AGENTSPEC_API_KEYS',
      'OIDC_AUDIENCE',
    ]);
    expect(found.join('\n')).not.toContain('short');
  });
});

describe('rate limits, proxies, headers and safe defaults', () => {
  it('has protective defaults: no request limit, the failed-authentication throttle on, no proxy trusted, no HSTS', () => {
    const config = loadConfig({});
    expect(config.rateLimit).toBeUndefined();
    expect(config.authFailureLimit).toEqual({ failures: 20, windowMs: 60_000, blockMs: 300_000 });
    expect(config.trustProxy).toBe(false);
    expect(config.hstsMaxAgeSeconds).toBeUndefined();
    expect(config.authNone).toBe(false);
  });

  it('reads every setting', () => {
    const config = loadConfig({
      AGENTSPEC_RATE_LIMIT: '10:20',
      AGENTSPEC_RATE_LIMIT_STORE: 'postgres',
      AGENTSPEC_AUTH_FAILURE_LIMIT: '5/30s',
      AGENTSPEC_AUTH_FAILURE_BLOCK: '1h',
      AGENTSPEC_TRUST_PROXY: 'loopback, 10.0.0.0/8',
      AGENTSPEC_HSTS_MAX_AGE: '180d',
      NODE_ENV: 'production',
      AGENTSPEC_AUTH: 'none',
    });
    expect(config.rateLimit).toEqual({ ratePerSecond: 10, burst: 20 });
    expect(config.rateLimitStore).toBe('postgres');
    expect(config.authFailureLimit).toEqual({ failures: 5, windowMs: 30_000, blockMs: 3_600_000 });
    expect(config.trustProxy).toEqual(['loopback', '10.0.0.0/8']);
    expect(config.hstsMaxAgeSeconds).toBe(15_552_000);
    expect(config.nodeEnv).toBe('production');
    expect(config.authNone).toBe(true);
    expect(loadConfig({ AGENTSPEC_AUTH_FAILURE_LIMIT: 'off' }).authFailureLimit).toBeUndefined();
  });

  it.each([
    [{ AGENTSPEC_RATE_LIMIT_STORE: 'redis' }, 'AGENTSPEC_RATE_LIMIT_STORE: "redis" must be memory or postgres'],
    [{ AGENTSPEC_AUTH_FAILURE_LIMIT: '20' }, 'AGENTSPEC_AUTH_FAILURE_LIMIT: "20" is not "failures/window" (e.g. 20/1m), 0 or off'],
    [{ AGENTSPEC_AUTH_FAILURE_BLOCK: '500ms' }, 'AGENTSPEC_AUTH_FAILURE_BLOCK: must be at least 1s'],
    [{ AGENTSPEC_TRUST_PROXY: 'proxy.example.com' }, expect.stringMatching(/^AGENTSPEC_TRUST_PROXY: "proxy.example.com" is not true, false, a hop count/)],
    [{ AGENTSPEC_HSTS_MAX_AGE: '0' }, 'AGENTSPEC_HSTS_MAX_AGE: must be above 0'],
    [{ AGENTSPEC_AUTH: 'off' }, 'AGENTSPEC_AUTH: "off" must be none (or unset)'],
    [{ AGENTSPEC_AUTH: 'none', AGENTSPEC_API_KEY: 'a-key-123456' }, expect.stringMatching(/^AGENTSPEC_AUTH: none contradicts/)],
  ])('refuses %j', (env, problem) => expect(problems(env)).toEqual([problem]));

  describe('assertCredentialsConfigured', () => {
    it('refuses production without any credential, naming the variables', () => {
      const config = loadConfig({ NODE_ENV: 'production' });
      expect(() => assertCredentialsConfigured(config, false)).toThrow(ConfigError);
      expect(() => assertCredentialsConfigured(config, false)).toThrow(/AGENTSPEC_API_KEY\/AGENTSPEC_API_KEYS or OIDC_ISSUER .* AGENTSPEC_AUTH=none/);
    });

    it('lets production serve with credentials, or without them when AGENTSPEC_AUTH=none', () => {
      expect(() => assertCredentialsConfigured(loadConfig({ NODE_ENV: 'production', AGENTSPEC_API_KEY: 'a-key-123456' }), true)).not.toThrow();
      expect(() => assertCredentialsConfigured(loadConfig({ NODE_ENV: 'production', AGENTSPEC_AUTH: 'none' }), false)).not.toThrow();
    });

    it('keeps development mode outside production', () => {
      expect(() => assertCredentialsConfigured(loadConfig({}), false)).not.toThrow();
      expect(() => assertCredentialsConfigured(loadConfig({ NODE_ENV: 'development' }), false)).not.toThrow();
    });

    it('refuses AGENTSPEC_AUTH=none when credentials come from elsewhere (user keys)', () => {
      expect(() => assertCredentialsConfigured(loadConfig({ AGENTSPEC_AUTH: 'none' }), true)).toThrow(/AGENTSPEC_AUTH: none contradicts/);
    });
  });
});

describe('OIDC settings', () => {
  it('reads an issuer, its audience, an optional JWKS URI and a roles claim path', () => {
    const config = loadConfig({
      OIDC_ISSUER: 'https://id.example.com/realms/acme/',
      OIDC_AUDIENCE: 'agentspec',
      OIDC_JWKS_URI: 'https://keys.example.com/jwks.json',
      OIDC_ROLES_CLAIM: 'realm_access.roles',
    });
    // The trailing slash stays: tokens' `iss` must match it exactly.
    expect(config.oidc).toEqual({
      issuer: 'https://id.example.com/realms/acme/',
      audience: 'agentspec',
      jwksUri: 'https://keys.example.com/jwks.json',
      rolesClaim: 'realm_access.roles',
    });
    expect(isDevelopmentMode(config)).toBe(false);
  });

  it('needs no API key: an issuer alone ends development mode', () => {
    const config = loadConfig({ OIDC_ISSUER: 'http://127.0.0.1:9999', OIDC_AUDIENCE: 'agentspec' });
    expect(config.apiKeys).toEqual([]);
    expect(config.oidc.jwksUri).toBeUndefined();
    expect(config.oidc.rolesClaim).toBe('roles');
    expect(isDevelopmentMode(config)).toBe(false);
  });

  it.each([
    [{ OIDC_ISSUER: 'https://id.example.com' }, 'OIDC_AUDIENCE: required when OIDC_ISSUER is set'],
    [
      { OIDC_ISSUER: 'http://id.example.com', OIDC_AUDIENCE: 'a' },
      'OIDC_ISSUER: must use https (http only on localhost, 127.0.0.1 or [::1])',
    ],
    [{ OIDC_ISSUER: 'https://id.example.com?tenant=1', OIDC_AUDIENCE: 'a' }, 'OIDC_ISSUER: must have no query or fragment'],
    [{ OIDC_ISSUER: 'id.example.com', OIDC_AUDIENCE: 'a' }, 'OIDC_ISSUER: is not a valid URL'],
    [
      { OIDC_ISSUER: 'https://id.example.com', OIDC_AUDIENCE: 'a', OIDC_JWKS_URI: 'http://keys.example.com/jwks' },
      'OIDC_JWKS_URI: must use https (http only on localhost, 127.0.0.1 or [::1])',
    ],
    [
      { OIDC_ISSUER: 'https://id.example.com', OIDC_AUDIENCE: 'a', OIDC_ROLES_CLAIM: 'realm_access..roles' },
      'OIDC_ROLES_CLAIM: "realm_access..roles" is not a claim name or dotted path (e.g. roles, realm_access.roles)',
    ],
    [{ OIDC_AUDIENCE: 'agentspec' }, 'OIDC_AUDIENCE: set without OIDC_ISSUER'],
    [{ OIDC_JWKS_URI: 'https://keys.example.com/jwks' }, 'OIDC_JWKS_URI: set without OIDC_ISSUER'],
    [{ OIDC_CONSOLE_CLIENT_ID: 'agentspec-console' }, 'OIDC_CONSOLE_CLIENT_ID: set without OIDC_ISSUER'],
    [
      { OIDC_ISSUER: 'https://id.example.com', OIDC_AUDIENCE: 'a', OIDC_CONSOLE_CLIENT_ID: 'two words' },
      'OIDC_CONSOLE_CLIENT_ID: must be printable ASCII without spaces',
    ],
    [
      { OIDC_ISSUER: 'https://id.example.com', OIDC_AUDIENCE: 'a', OIDC_CONSOLE_SCOPE: 'profile email' },
      'OIDC_CONSOLE_SCOPE: "profile email" must include openid',
    ],
  ])('refuses %j', (env, problem) => expect(problems(env)).toEqual([problem]));

  it('reads the console client id and scope; without them the console signs in with keys only', () => {
    const base = { OIDC_ISSUER: 'https://id.example.com', OIDC_AUDIENCE: 'a' };
    expect(loadConfig(base).console).toEqual({ oidcClientId: undefined, oidcScope: 'openid profile email', directory: undefined });
    expect(
      loadConfig({ ...base, OIDC_CONSOLE_CLIENT_ID: ' agentspec-console ', OIDC_CONSOLE_SCOPE: ' openid  api://agentspec/.default ' })
        .console,
    ).toEqual({ oidcClientId: 'agentspec-console', oidcScope: 'openid api://agentspec/.default', directory: undefined });
    expect(loadConfig({ AGENTSPEC_CONSOLE_DIR: 'build/console' }).console.directory).toBe(resolve('build/console'));
  });
});

describe('parsers', () => {
  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['5m', 300_000],
    ['2h', 7_200_000],
    ['90d', 7_776_000_000],
    ['0', 0],
  ])('duration %s = %d ms', (raw, ms) => expect(parseDuration(raw)).toBe(ms));

  it.each(['', '5', '-1s', '1w', 's', '1.5.2s'])('refuses duration %j', (raw) => expect(() => parseDuration(raw)).toThrow());

  it('parses sizes and rate limits', () => {
    expect(parseByteSize('1mb')).toBe(1_048_576);
    expect(parseByteSize('100')).toBe(100);
    expect(() => parseByteSize('0')).toThrow();
    expect(parseRateLimit('0.5:3')).toEqual({ ratePerSecond: 0.5, burst: 3 });
    expect(() => parseRateLimit('0:3')).toThrow();
    expect(() => parseRateLimit('5:0')).toThrow();
  });

  it.each([
    ['false', false],
    ['0', false],
    ['true', true],
    ['2', 2],
    ['loopback', ['loopback']],
    ['127.0.0.1, 10.0.0.0/8, fd00::/8, uniquelocal', ['127.0.0.1', '10.0.0.0/8', 'fd00::/8', 'uniquelocal']],
  ])('trust proxy %j = %j', (raw, value) => expect(parseTrustProxy(raw)).toEqual(value));

  it.each(['10.0.0.0/33', '::1/129', '10.0.0.1/8/1', 'proxy', '101', ','])('refuses trust proxy %j', (raw) => expect(() => parseTrustProxy(raw)).toThrow());

  it('parses failure limits', () => {
    expect(parseFailureLimit('20/1m')).toEqual({ failures: 20, windowMs: 60_000 });
    expect(parseFailureLimit('0')).toBeUndefined();
    expect(() => parseFailureLimit('0/1m')).toThrow();
    expect(() => parseFailureLimit('5/500ms')).toThrow();
  });
});
