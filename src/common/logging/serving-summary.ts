import type { AppConfig } from '../../config/configuration.js';

export type AuthMode = 'api-key' | 'oidc' | 'api-key+oidc' | 'none (development)' | 'none (AGENTSPEC_AUTH=none)';

export interface ServingFacts {
  config: Pick<AppConfig, 'apiKeys' | 'oidc' | 'authNone' | 'databaseUrl' | 'dataDir' | 'version'>;
  /** The address the server listens on, as `server.address()` reports it. */
  address: { address: string; port: number };
  agents: number;
  pipelines: number;
  /** User blocks of the definitions hold keys: they end development mode as configured keys do. */
  userKeys: boolean;
}

/** How requests are authenticated, as AuthenticationGuard decides it at start (docs/security.md). */
export function authMode(facts: Pick<ServingFacts, 'config' | 'userKeys'>): AuthMode {
  const keys = facts.config.apiKeys.length > 0 || facts.userKeys;
  const oidc = Boolean(facts.config.oidc.issuer);
  if (keys && oidc) return 'api-key+oidc';
  if (keys) return 'api-key';
  if (oidc) return 'oidc';
  return facts.config.authNone ? 'none (AGENTSPEC_AUTH=none)' : 'none (development)';
}

/**
 * The one line logged when the server starts serving: where, with which database, what and how
 * protected. A DATABASE_URL is shown as host:port/dbname only; its user, password and query
 * (which may hold `password=`) never reach the log.
 */
export function servingSummary(facts: ServingFacts): { fields: Record<string, unknown>; message: string } {
  const { config, address } = facts;
  const wildcard = address.address === '0.0.0.0' || address.address === '::';
  const host = wildcard ? 'localhost' : address.address.includes(':') ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  const docsUrl = `${url}/docs`;
  const database = config.databaseUrl ? databaseTarget(config.databaseUrl) : 'embedded';
  const auth = authMode(facts);
  const fields: Record<string, unknown> = {
    url,
    docs_url: docsUrl,
    host: address.address,
    port: address.port,
    database,
    ...(config.databaseUrl ? {} : { data_dir: config.dataDir }),
    agents: facts.agents,
    pipelines: facts.pipelines,
    auth,
    version: config.version,
  };
  const message =
    `serving ${url}${wildcard ? ` (all interfaces, ${address.address})` : ''}, API docs at ${docsUrl}; ` +
    `database ${config.databaseUrl ? database : `embedded (${config.dataDir})`}; ` +
    `${plural(facts.agents, 'agent')}, ${plural(facts.pipelines, 'pipeline')}; auth ${auth}`;
  return { fields, message };
}

/** `host:port/dbname` of a postgres:// URL; a socket directory (`?host=/run/postgresql`) stands for the host. */
export function databaseTarget(databaseUrl: string): string {
  const url = new URL(databaseUrl);
  const socket = url.searchParams.get('host');
  const host = url.hostname || (socket?.startsWith('/') ? socket : undefined) || 'localhost';
  const name = decodeURIComponent(url.pathname.replace(/^\//, ''));
  return `${host}:${url.port || '5432'}/${name || '(default)'}`;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
