/**
 * Names for the `endpoint` metric label, keyed by `METHOD route-pattern`. Routes not listed
 * fall back to their pattern, which is still bounded (it comes from our code, not the caller).
 */
const ENDPOINTS: Record<string, string> = {
  'GET /v1/agents': 'agents',
  'POST /v1/agents/:name/invoke': 'invoke',
  'POST /v1/agents/:name/stream': 'stream',
  'POST /v1/agents/:name/sessions': 'sessions',
  'GET /v1/agents/:name/sessions': 'sessions_list',
  'POST /v1/agents/:name/sessions/:id/continue': 'continue',
  'POST /v1/agents/:name/sessions/:id': 'continue',
  'GET /v1/agents/:name/sessions/:id': 'session',
  'DELETE /v1/agents/:name/sessions/:id': 'session_delete',
  'GET /v1/pipelines': 'pipelines',
  'POST /v1/pipelines/:name/run': 'pipeline_run',
  'GET /v1/pipelines/:name/status': 'pipeline_status',
  'GET /v1/pipelines/:name/runs': 'pipeline_runs',
  'POST /v1/pipelines/:name/runs/:run_id/cancel': 'pipeline_cancel',
  'POST /v1/keys': 'key_create',
  'GET /v1/keys': 'keys',
  'DELETE /v1/keys/:id': 'key_revoke',
  'GET /healthz': 'healthz',
  'GET /livez': 'livez',
  'GET /readyz': 'readyz',
  'GET /v1/metrics': 'metrics',
  'GET /v1/audit/events': 'audit_events',
  'GET /v1/audit/export': 'audit_export',
  'GET /v1/audit/chain': 'audit_chain',
  'POST /v1/audit/chain/verify': 'audit_verify',
};

export const UNMATCHED_ENDPOINT = 'unmatched';
/** The Swagger UI of `mountSwagger`: its page, static assets, and `/docs-json`, `/docs-yaml`. */
export const DOCS_ENDPOINT = 'docs';
const DOCS_PATH = /^\/docs(?:[/-]|$)/;
/** The web console (docs/console.md): its page, its files and `/console/config.json`. */
export const CONSOLE_ENDPOINT = 'console';
const CONSOLE_PATH = /^\/console(?:\/|$)/;

/** The routes the application serves, by path: the RouteTable built at start-up. */
export interface KnownRoutes {
  routesFor(path: string): { path: string; methods: ReadonlySet<string> }[];
}

export interface RequestLabels {
  endpoint: string;
  /** The `{name}` of a `/v1/agents/{name}/…` route, as sent: the caller maps it to a bounded label. */
  agentName: string | undefined;
}

/**
 * The endpoint a request was for, also when Express's router never matched it: a body the
 * parser refused, a 405, a CORS preflight (all answered before or instead of a route) count
 * under the route their path names; HEAD counts as the GET it stands for (docs/api.md §9).
 */
export function requestLabels(method: string, path: string, matchedRoute: string | undefined, routes: KnownRoutes): RequestLabels {
  if (DOCS_PATH.test(path)) return { endpoint: DOCS_ENDPOINT, agentName: undefined };
  if (CONSOLE_PATH.test(path)) return { endpoint: CONSOLE_ENDPOINT, agentName: undefined };
  const asGet = method === 'HEAD' ? 'GET' : method;
  const route = matchedRoute === undefined ? routeOfPath(asGet, path, routes) : { path: matchedRoute, method: asGet };
  if (!route) return { endpoint: UNMATCHED_ENDPOINT, agentName: undefined };
  return {
    endpoint: ENDPOINTS[`${route.method} ${route.path}`] ?? route.path,
    agentName: route.path.startsWith('/v1/agents/:name') ? pathSegment(path, 3) : undefined,
  };
}

/** The route serving `method` on `path`; for another method (a 405), the path's GET route, or its first. */
function routeOfPath(method: string, path: string, routes: KnownRoutes): { path: string; method: string } | undefined {
  const candidates = routes.routesFor(path);
  const serving = candidates.find((route) => route.methods.has(method));
  if (serving) return { path: serving.path, method };
  const [first] = candidates;
  if (!first) return undefined;
  return { path: first.path, method: first.methods.has('GET') ? 'GET' : [...first.methods].sort()[0] };
}

function pathSegment(path: string, index: number): string | undefined {
  const segment = path.split('/')[index];
  if (segment === undefined) return undefined;
  try {
    return decodeURIComponent(segment);
  } catch {
    // Not a defined agent's name either way; the label becomes `unknown`.
    return segment;
  }
}
