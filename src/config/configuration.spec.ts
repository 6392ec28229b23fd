import { describe, expect, it } from 'vitest';
import { ConfigError, isDevelopmentMode, loadConfig } from './configuration.js';
import { parseByteSize, parseDuration, parseRateLimit } from './parsers.js';

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
      'OIDC_ISSUER',
    ]);
    expect(found.join('\n')).not.toContain('short');
  });
});

it('refuses settings of features this version does not have yet, rather than ignoring them', () => {
  expect(problems({ AGENTSPEC_RATE_LIMIT: '10:20' })).toEqual([expect.stringMatching(/^AGENTSPEC_RATE_LIMIT: rate limiting is not available/)]);
  expect(problems({ OIDC_ISSUER: 'https://id.example.com', OIDC_AUDIENCE: 'agentspec' })).toEqual([
    expect.stringMatching(/^OIDC_ISSUER: SSO .* not available/),
  ]);
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
});
