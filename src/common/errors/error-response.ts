import { HttpException } from '@nestjs/common';
import {
  ApiError,
  InternalError,
  InvalidRequestError,
  PayloadTooLargeError,
  UnavailableError,
  UnsupportedMediaTypeError,
  type ErrorDetail,
} from './api-error.js';
import { isDatabaseUnavailable } from './database-errors.js';

export interface ErrorResponse {
  status: number;
  headers: Record<string, string>;
  body: { error: { code: string; message: string; details?: ErrorDetail[] } };
  /** True when the error is ours to investigate (logged at error level with its stack). */
  unexpected: boolean;
}

const CODES_BY_STATUS: Record<number, string> = {
  400: 'invalid_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  409: 'session_busy',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'rate_limited',
  503: 'unavailable',
};

/** Turns any thrown value into the documented envelope. Nothing internal leaks into it. */
export function toErrorResponse(error: unknown): ErrorResponse {
  const apiError = toApiError(error);
  if (apiError) {
    const details = apiError instanceof InvalidRequestError ? apiError.details : undefined;
    return {
      status: apiError.status,
      headers: apiError.headers,
      body: { error: { code: apiError.code, message: apiError.message, ...(details?.length ? { details } : {}) } },
      unexpected: false,
    };
  }
  const internal = new InternalError('An internal error occurred. It has been logged with this correlation id.');
  return { status: 500, headers: {}, body: { error: { code: internal.code, message: internal.message } }, unexpected: true };
}

function toApiError(error: unknown): ApiError | undefined {
  if (error instanceof ApiError) return error;
  const bodyParser = fromBodyParser(error);
  if (bodyParser) return bodyParser;
  if (isDatabaseUnavailable(error)) return new UnavailableError();
  if (error instanceof HttpException) {
    const status = error.getStatus();
    const code = CODES_BY_STATUS[status];
    if (!code) return undefined;
    return new (class extends ApiError {
      readonly status = status;
      readonly code = code;
    })(httpExceptionMessage(error));
  }
  return undefined;
}

/** Errors raised by the JSON body parser carry a `type` (see the body-parser README). */
function fromBodyParser(error: unknown): ApiError | undefined {
  if (typeof error !== 'object' || error === null || !('type' in error)) return undefined;
  switch ((error as { type: unknown }).type) {
    case 'entity.parse.failed':
      return new InvalidRequestError('The request body is not valid JSON.');
    case 'entity.too.large': {
      const limit = (error as { limit?: number }).limit;
      return new PayloadTooLargeError(`The request body is larger than the limit${limit ? ` of ${limit} bytes` : ''}.`);
    }
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new UnsupportedMediaTypeError('The request body encoding or charset is not supported.');
    case 'request.aborted':
    case 'request.size.invalid':
      return new InvalidRequestError('The request body was incomplete.');
    default:
      return undefined;
  }
}

function httpExceptionMessage(error: HttpException): string {
  if (error.getStatus() === 404) return 'No route matches this path.';
  const response = error.getResponse();
  if (typeof response === 'string') return response;
  const message = (response as { message?: unknown }).message;
  if (typeof message === 'string') return message;
  if (Array.isArray(message)) return message.join('; ');
  return error.message;
}

