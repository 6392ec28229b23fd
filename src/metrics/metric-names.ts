/** The documented metric families (docs/api.md §9). */
export const METRIC = {
  requests: 'agentspec_requests_total',
  requestDuration: 'agentspec_request_duration_seconds',
  tokens: 'agentspec_tokens_total',
  sessionsActive: 'agentspec_sessions_active',
  pipelineSteps: 'agentspec_pipeline_steps_total',
  errors: 'agentspec_errors_total',
  timeToFirstToken: 'agentspec_time_to_first_token_seconds',
  providerCalls: 'agentspec_provider_calls_total',
  providerCallDuration: 'agentspec_provider_call_duration_seconds',
  pipelineRuns: 'agentspec_pipeline_runs_total',
  pipelineRunDuration: 'agentspec_pipeline_run_duration_seconds',
  authFailures: 'agentspec_auth_failures_total',
  cost: 'agentspec_cost_dollars_total',
  budgetUsedRatio: 'agentspec_budget_used_ratio',
  guardrailViolations: 'agentspec_guardrail_violations_total',
} as const;

/** Label value for requests that are not about one agent (health, lists, unknown routes). */
export const NO_AGENT = 'none';
/** Label value for a name in a URL that no definition declares. */
export const UNKNOWN = 'unknown';
