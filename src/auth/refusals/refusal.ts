import type { Request, Response } from 'express';

/**
 * Why a request was refused, as counted in `agentspec_auth_failures_total{reason}` and stored
 * in `auth_refusals.reason`. A fixed list, so the metric's label values stay bounded.
 */
export const REFUSAL_REASONS = ['missing_credentials', 'invalid_credentials', 'forbidden', 'rate_limited', 'auth_throttled'] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];

/** One 401, 403 or 429 answer, as logged and stored. Never a credential. */
export interface Refusal {
  at: Date;
  status: number;
  /** The error code answered (`unauthorized`, `forbidden`, `rate_limited`, …). */
  code: string;
  reason: RefusalReason;
  /** The principal's id when it was known (403, 429 of a rate limit). */
  principal?: string;
  ip?: string;
  method: string;
  /** The route pattern (`/v1/agents/:name/invoke`), never the path with its values. */
  route?: string;
  correlationId: string;
}

/** What the refusal audit counts; the metrics module's MetricsService provides it. */
export interface RefusalMetrics {
  recordAuthFailure(reason: RefusalReason): void;
}
export const REFUSAL_METRICS = Symbol('REFUSAL_METRICS');

const REFUSAL_REASON_LOCAL = 'refusalReason';

/** Where a refusal is decided, says why, for the audit written when the answer is sent. */
export function markRefusal(response: Response, reason: RefusalReason): void {
  response.locals[REFUSAL_REASON_LOCAL] = reason;
}

export function markedRefusal(response: Response): RefusalReason | undefined {
  return response.locals[REFUSAL_REASON_LOCAL] as RefusalReason | undefined;
}

/** Whether the request carried anything in a credential header (valid or not). */
export function presentsCredentials(req: Request): boolean {
  return Boolean(req.headers['x-api-key'] || req.headers.authorization);
}
