import type { Usage } from './sse';

export type { Usage };

export interface AgentSummary {
  name: string;
  model: string;
  models: string[];
  skills: string[];
  description?: string;
  pipelines: string[];
  guardrails: string[];
}

export interface ToolCall {
  name: string;
  arguments: Record<string, unknown>;
  output: string;
  duration_ms: number;
  error?: string;
}

export interface SessionSummary {
  session_id: string;
  agent: string;
  turns: number;
  created_at: string;
  last_active_at: string;
  metadata: Record<string, string>;
}

export interface SessionMessage {
  turn: number;
  role: 'user' | 'assistant';
  content: string;
  created_at: string;
  usage?: Usage;
  tool_calls?: ToolCall[];
}

export interface SessionHistory extends SessionSummary {
  messages: SessionMessage[];
}

export interface PipelineSummary {
  name: string;
  description?: string;
  steps: { name: string; agent: string; depends_on: string[] }[];
}

export type RunStatusName = 'running' | 'completed' | 'failed' | 'cancelled';
export type StepStatusName = 'pending' | 'running' | 'completed' | 'failed' | 'skipped';

export interface RunError {
  code: string;
  message: string;
}

export interface RunSummary {
  run_id: string;
  pipeline: string;
  status: RunStatusName;
  mode: 'sync' | 'async';
  started_at: string;
  finished_at: string | null;
  elapsed_ms: number;
  usage: Usage;
  error?: RunError;
}

export interface RunStatus {
  pipeline: string;
  run_id: string;
  status: RunStatusName;
  steps: { name: string; status: StepStatusName; duration_ms: number | null }[];
  started_at: string;
  elapsed_ms: number;
  finished_at?: string;
  output?: string | null;
  usage?: Usage;
  error?: RunError;
}

export const AUDIT_KINDS = [
  'invocation',
  'session_turn',
  'session_created',
  'session_deleted',
  'pipeline_run',
  'auth_refusal',
  'guardrail',
  'budget',
  'validation',
  'delegation',
] as const;
export const AUDIT_OUTCOMES = ['ok', 'error', 'refused', 'blocked', 'warned', 'cancelled'] as const;

export interface AuditEvent {
  id: string;
  seq: number | null;
  at: string;
  kind: (typeof AUDIT_KINDS)[number];
  outcome: (typeof AUDIT_OUTCOMES)[number];
  principal: string | null;
  agent: string | null;
  pipeline: string | null;
  session_id: string | null;
  run_id: string | null;
  correlation_id: string | null;
  detail: Record<string, unknown>;
}

export interface AuditChain {
  sealed: number;
  pending: number;
  head_seq: number | null;
  last_verification: null | {
    at: string;
    status: 'ok' | 'broken';
    checked: number;
    first_broken: null | { seq: number; id: string; reason: string };
  };
}

export interface ConsoleSettings {
  version: string;
  sso?: {
    issuer: string;
    client_id: string;
    scope: string;
    authorization_endpoint?: string;
    token_endpoint?: string;
    end_session_endpoint?: string;
  };
}
