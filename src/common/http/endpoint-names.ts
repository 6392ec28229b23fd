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
};

export const UNMATCHED_ENDPOINT = 'unmatched';

export function endpointName(method: string, routePattern: string | undefined): string {
  if (routePattern === undefined) return UNMATCHED_ENDPOINT;
  return ENDPOINTS[`${method} ${routePattern}`] ?? routePattern;
}
