import { describe, expect, it } from 'vitest';
import { authMode, databaseTarget, servingSummary, type ServingFacts } from './serving-summary.js';

function facts(overrides: Partial<ServingFacts['config']> = {}, rest: Partial<Omit<ServingFacts, 'config'>> = {}): ServingFacts {
  return {
    config: { apiKeys: [], oidc: { rolesClaim: 'roles' }, authNone: false, databaseUrl: undefined, dataDir: '/srv/agentspec/.data', version: '1.2.3', ...overrides },
    address: { address: '0.0.0.0', port: 8080 },
    agents: 3,
    pipelines: 1,
    userKeys: false,
    ...rest,
  };
}

describe('servingSummary', () => {
  it('names the URL, the docs, the embedded database with its folder, the counts and the auth mode', () => {
    const { fields, message } = servingSummary(facts());
    expect(message).toBe(
      'serving http://localhost:8080 (all interfaces, 0.0.0.0), API docs at http://localhost:8080/docs; ' +
        'database embedded (/srv/agentspec/.data); 3 agents, 1 pipeline; auth none (development)',
    );
    expect(fields).toEqual({
      url: 'http://localhost:8080',
      docs_url: 'http://localhost:8080/docs',
      host: '0.0.0.0',
      port: 8080,
      database: 'embedded',
      data_dir: '/srv/agentspec/.data',
      agents: 3,
      pipelines: 1,
      auth: 'none (development)',
      version: '1.2.3',
    });
  });

  it('shows a DATABASE_URL as host:port/dbname only, never its user, password or query', () => {
    const url = 'postgres://app:s3cret-pw@db.internal:6432/agentspec?sslmode=require&password=other-secret';
    const { fields, message } = servingSummary(facts({ databaseUrl: url, apiKeys: ['k-1'] }, { address: { address: '127.0.0.1', port: 9000 } }));
    expect(message).toBe(
      'serving http://127.0.0.1:9000, API docs at http://127.0.0.1:9000/docs; database db.internal:6432/agentspec; 3 agents, 1 pipeline; auth api-key',
    );
    expect(fields).toMatchObject({ database: 'db.internal:6432/agentspec', host: '127.0.0.1' });
    expect(fields).not.toHaveProperty('data_dir');
    expect(JSON.stringify({ fields, message })).not.toMatch(/app|s3cret|other-secret|sslmode/);
  });

  it('brackets an IPv6 address and counts in the singular and plural', () => {
    const { message } = servingSummary(facts({}, { address: { address: '::1', port: 80 }, agents: 1, pipelines: 0 }));
    expect(message).toMatch(/^serving http:\/\/\[::1\]:80, API docs at http:\/\/\[::1\]:80\/docs; .*; 1 agent, 0 pipelines;/);
  });
});

describe('authMode', () => {
  it('tells keys, OIDC, both, and the two ways of serving without credentials apart', () => {
    expect(authMode({ config: facts({ apiKeys: ['k'] }).config, userKeys: false })).toBe('api-key');
    expect(authMode({ config: facts().config, userKeys: true })).toBe('api-key');
    expect(authMode({ config: facts({ oidc: { issuer: 'https://id.example', rolesClaim: 'roles' } }).config, userKeys: false })).toBe('oidc');
    expect(authMode({ config: facts({ apiKeys: ['k'], oidc: { issuer: 'https://id.example', rolesClaim: 'roles' } }).config, userKeys: false })).toBe(
      'api-key+oidc',
    );
    expect(authMode({ config: facts({ authNone: true }).config, userKeys: false })).toBe('none (AGENTSPEC_AUTH=none)');
    expect(authMode({ config: facts().config, userKeys: false })).toBe('none (development)');
  });
});

describe('databaseTarget', () => {
  it('fills the default port and takes a socket directory as the host', () => {
    expect(databaseTarget('postgresql://u@db/agents')).toBe('db:5432/agents');
    expect(databaseTarget('postgres:///agents?host=/run/postgresql')).toBe('/run/postgresql:5432/agents');
    expect(databaseTarget('postgres://u:p@[2001:db8::1]:5433/x')).toBe('[2001:db8::1]:5433/x');
  });
});
