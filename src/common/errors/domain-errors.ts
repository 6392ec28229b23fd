import { shorten } from '../validation/request-values.js';
/**
 * Errors that services, repositories and the runtime throw. Each carries a stable code and no
 * HTTP status: `error-table.ts` is the one place that turns a code into a status, headers and
 * the message a caller may see (docs/api.md §2).
 */
export const ERROR_CODES = [
  'invalid_request',
  'unauthorized',
  'forbidden',
  'not_found',
  'method_not_allowed',
  'session_busy',
  'payload_too_large',
  'unsupported_media_type',
  'rate_limited',
  'budget_exceeded',
  'validation_failed',
  'provider_error',
  'pipeline_error',
  'internal_error',
  'unavailable',
  'client_closed',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface ErrorDetail {
  field: string;
  message: string;
}

export interface DomainErrorOptions {
  /** Seconds a caller should wait before trying again (`Retry-After`). */
  retryAfterSeconds?: number;
  /** Per-field problems of an invalid request. */
  details?: ErrorDetail[];
  /** Methods the path allows (`Allow`). */
  allowed?: string[];
}

export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly options: DomainErrorOptions = {},
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class InvalidRequestError extends DomainError {
  constructor(message: string, details?: ErrorDetail[]) {
    super('invalid_request', message, details ? { details } : {});
  }
}

export class UnauthorizedError extends DomainError {
  constructor(message = 'Missing or invalid credentials. Send X-API-Key or Authorization: Bearer.') {
    super('unauthorized', message);
  }
}

/** Authenticated, but this caller may not do this (docs/security.md). */
export class ForbiddenError extends DomainError {
  constructor(message = 'You are not allowed to do this.') {
    super('forbidden', message);
  }
}

export class NotFoundError extends DomainError {
  constructor(message: string) {
    super('not_found', message);
  }
}

export class MethodNotAllowedError extends DomainError {
  constructor(method: string, path: string, allowed: string[]) {
    super('method_not_allowed', `Method ${method} is not allowed on ${shorten(path)}. Allowed: ${allowed.join(', ')}.`, { allowed });
  }
}

export class SessionBusyError extends DomainError {
  constructor(message: string, retryAfterSeconds = 1) {
    super('session_busy', message, { retryAfterSeconds });
  }
}

export class UnsupportedMediaTypeError extends DomainError {
  constructor(message: string) {
    super('unsupported_media_type', message);
  }
}

/** Too many requests from this caller, or too many failed authentications from its address (docs/security.md). */
export class RateLimitedError extends DomainError {
  constructor(retryAfterSeconds: number, message = `Too many requests. Try again in ${retryAfterSeconds} s.`) {
    super('rate_limited', message, { retryAfterSeconds });
  }
}

export class UnavailableError extends DomainError {
  constructor(message = 'The database is unavailable. Try again shortly.', retryAfterSeconds = 5) {
    super('unavailable', message, { retryAfterSeconds });
  }
}

/** The client went away before the answer; nothing is written back. */
export class ClientClosedError extends DomainError {
  constructor() {
    super('client_closed', 'The client disconnected before the answer.');
  }
}

/** The agent has spent its daily or monthly budget (issue 12); `Retry-After` is when that window resets. */
export class BudgetExceededError extends DomainError {
  constructor(
    readonly agent: string,
    readonly period: 'daily' | 'monthly',
    readonly limitUsd: number,
    readonly resetsAt: Date,
    retryAfterSeconds: number,
  ) {
    super(
      'budget_exceeded',
      `Agent '${agent}' has used up its ${period} budget of ${dollars(limitUsd)}. It resets at ${resetsAt.toISOString()}.`,
      { retryAfterSeconds },
    );
  }
}

/** `$5.00`, and every digit of a limit finer than cents (`$0.005`). */
function dollars(usd: number): string {
  return Number.isInteger(Math.round(usd * 1e6) / 1e4) ? `$${usd.toFixed(2)}` : `$${usd}`;
}

/** After its re-prompts, an agent's answer still breaks `error` rules of its `validate` block. */
export class ValidationFailedError extends DomainError {
  constructor(
    readonly agent: string,
    readonly rules: readonly { name: string; message: string }[],
    attempts: number,
  ) {
    super(
      'validation_failed',
      `Agent '${agent}' gave no valid answer in ${attempts} attempt${attempts === 1 ? '' : 's'}; it breaks ${rules.map((rule) => `'${rule.name}'`).join(', ')}.`,
      { details: rules.map((rule) => ({ field: rule.name, message: rule.message })) },
    );
  }
}
