import { HttpException } from '@nestjs/common';
import { isDatabaseUnavailable } from './database-errors.js';
import { ERROR_CODES, type DomainErrorOptions, type ErrorCode, type ErrorDetail, DomainError } from './domain-errors.js';

/** How one error code is answered. */
interface ErrorRule {
  status: number;
  /** The code callers see: a provider failure is an `internal_error` to them. */
  publicCode: string;
  /** False: the error's own text may hold anything, so callers get a fixed message instead. */
  exposeMessage: boolean;
  headers?: (options: DomainErrorOptions) => Record<string, string>;
}

const retryAfter = (options: DomainErrorOptions): Record<string, string> =>
  options.retryAfterSeconds === undefined ? {} : { 'Retry-After': String(options.retryAfterSeconds) };

/** The one table from code to answer (docs/api.md §2). */
const ERROR_TABLE: Record<ErrorCode, ErrorRule> = {
  invalid_request: { status: 400, publicCode: 'invalid_request', exposeMessage: true },
  unauthorized: {
    status: 401,
    publicCode: 'unauthorized',
    exposeMessage: true,
    headers: () => ({ 'WWW-Authenticate': 'Bearer realm="agentspec", ApiKey header="X-API-Key"' }),
  },
  forbidden: { status: 403, publicCode: 'forbidden', exposeMessage: true },
  not_found: { status: 404, publicCode: 'not_found', exposeMessage: true },
  method_not_allowed: {
    status: 405,
    publicCode: 'method_not_allowed',
    exposeMessage: true,
    headers: (options): Record<string, string> => (options.allowed ? { Allow: options.allowed.join(', ') } : {}),
  },
  session_busy: { status: 409, publicCode: 'session_busy', exposeMessage: true, headers: retryAfter },
  payload_too_large: { status: 413, publicCode: 'payload_too_large', exposeMessage: true },
  unsupported_media_type: { status: 415, publicCode: 'unsupported_media_type', exposeMessage: true },
  validation_failed: { status: 422, publicCode: 'validation_failed', exposeMessage: true },
  rate_limited: { status: 429, publicCode: 'rate_limited', exposeMessage: true, headers: retryAfter },
  budget_exceeded: { status: 429, publicCode: 'budget_exceeded', exposeMessage: true, headers: retryAfter },
  // Provider adapters word their messages for callers: provider/model and the reason, no keys.
  provider_error: { status: 500, publicCode: 'internal_error', exposeMessage: true },
  pipeline_error: { status: 500, publicCode: 'pipeline_error', exposeMessage: true },
  internal_error: { status: 500, publicCode: 'internal_error', exposeMessage: false },
  unavailable: { status: 503, publicCode: 'unavailable', exposeMessage: true, headers: retryAfter },
  client_closed: { status: 499, publicCode: 'client_closed', exposeMessage: true },
};

const GENERIC_MESSAGE = 'An internal error occurred. It has been logged with this correlation id.';
const GENERIC_STEP_MESSAGE = 'The step failed with an unexpected error.';

/** Framework errors (Nest's HttpException) carry a status; only these have a meaning here. */
const CODES_BY_STATUS: Partial<Record<number, ErrorCode>> = {
  400: 'invalid_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'rate_limited',
};

interface Classified {
  code: ErrorCode;
  message: string;
  options: DomainErrorOptions;
}

export interface ErrorResponse {
  status: number;
  headers: Record<string, string>;
  body: { error: { code: string; message: string; details?: ErrorDetail[] } };
  /** True when the error is ours to investigate (logged at error level with its stack). */
  unexpected: boolean;
}

/** Turns any thrown value into the documented envelope. Nothing internal leaks into it. */
export function toErrorResponse(error: unknown): ErrorResponse {
  const classified = classify(error);
  if (!classified) {
    return { status: 500, headers: {}, body: { error: { code: 'internal_error', message: GENERIC_MESSAGE } }, unexpected: true };
  }
  const rule = ERROR_TABLE[classified.code];
  const details = classified.options.details;
  return {
    status: rule.status,
    headers: rule.headers?.(classified.options) ?? {},
    body: {
      error: {
        code: rule.publicCode,
        message: rule.exposeMessage ? classified.message : GENERIC_MESSAGE,
        ...(details?.length ? { details } : {}),
      },
    },
    unexpected: classified.code === 'internal_error',
  };
}

/** The `{ code, message }` stored for a failed pipeline step, by the same table. */
export function toStepError(error: unknown): { code: string; message: string } {
  const classified = classify(error);
  if (!classified) return { code: 'internal_error', message: GENERIC_STEP_MESSAGE };
  const rule = ERROR_TABLE[classified.code];
  return { code: rule.publicCode, message: rule.exposeMessage ? classified.message : GENERIC_STEP_MESSAGE };
}

/** The domain code of a thrown value, for audit records; `internal_error` when it has none. */
export function errorCodeOf(error: unknown): ErrorCode {
  return classify(error)?.code ?? 'internal_error';
}

/**
 * The code of a thrown value. Besides our own errors, the pure cores (engine, providers) throw
 * errors with a `code` property from the same list, without depending on this module.
 */
function classify(error: unknown): Classified | undefined {
  if (error instanceof DomainError) return { code: error.code, message: error.message, options: error.options };
  const code = error instanceof Error ? (error as Error & { code?: unknown }).code : undefined;
  if (error instanceof Error && isErrorCode(code)) return { code, message: error.message, options: {} };
  const bodyParser = fromBodyParser(error);
  if (bodyParser) return bodyParser;
  if (isDatabaseUnavailable(error)) {
    return { code: 'unavailable', message: 'The database is unavailable. Try again shortly.', options: { retryAfterSeconds: 5 } };
  }
  if (error instanceof HttpException) {
    const code = CODES_BY_STATUS[error.getStatus()];
    return code ? { code, message: httpExceptionMessage(error), options: {} } : undefined;
  }
  return undefined;
}

function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && (ERROR_CODES as readonly string[]).includes(value);
}

/** Errors raised by the JSON body parser carry a `type` (see the body-parser README). */
function fromBodyParser(error: unknown): Classified | undefined {
  if (typeof error !== 'object' || error === null || !('type' in error)) return undefined;
  switch ((error).type) {
    case 'entity.parse.failed':
      return { code: 'invalid_request', message: 'The request body is not valid JSON.', options: {} };
    case 'entity.too.large': {
      const limit = (error as { limit?: number }).limit;
      return {
        code: 'payload_too_large',
        message: `The request body is larger than the limit${limit ? ` of ${limit} bytes` : ''}.`,
        options: {},
      };
    }
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return { code: 'unsupported_media_type', message: 'The request body encoding or charset is not supported.', options: {} };
    case 'request.aborted':
    case 'request.size.invalid':
      return { code: 'invalid_request', message: 'The request body was incomplete.', options: {} };
    default:
      return undefined;
  }
}

/** The router's message for a path segment that is not valid percent-encoding quotes it whole. */
const UNDECODABLE_PARAM = /^Failed to decode param /;

function httpExceptionMessage(error: HttpException): string {
  if (error.getStatus() === 404) return 'No route matches this path.';
  const response = error.getResponse();
  if (typeof response === 'string') return UNDECODABLE_PARAM.test(response) ? 'A path segment is not valid percent-encoded UTF-8.' : response;
  const message = (response as { message?: unknown }).message;
  if (typeof message === 'string') return UNDECODABLE_PARAM.test(message) ? 'A path segment is not valid percent-encoded UTF-8.' : message;
  if (Array.isArray(message)) return message.join('; ');
  return error.message;
}
