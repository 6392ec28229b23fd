/**
 * Errors with a stable machine-readable code. Services throw these; the one exception filter
 * maps them to the `{ error: { code, message } }` envelope (api.md §1).
 */
export interface ErrorDetail {
  field: string;
  message: string;
}

export abstract class ApiError extends Error {
  abstract readonly status: number;
  abstract readonly code: string;
  /** Response headers the status requires (`Allow`, `Retry-After`, `WWW-Authenticate`). */
  readonly headers: Record<string, string> = {};

  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

export class InvalidRequestError extends ApiError {
  readonly status = 400;
  readonly code = 'invalid_request';
  constructor(
    message: string,
    readonly details?: ErrorDetail[],
  ) {
    super(message);
  }
}

export class UnauthorizedError extends ApiError {
  readonly status = 401;
  readonly code = 'unauthorized';
  constructor(message = 'Missing or invalid credentials. Send X-API-Key or Authorization: Bearer.') {
    super(message);
    this.headers['WWW-Authenticate'] = 'Bearer realm="agentspec", ApiKey header="X-API-Key"';
  }
}

export class NotFoundError extends ApiError {
  readonly status = 404;
  readonly code = 'not_found';
}

export class MethodNotAllowedError extends ApiError {
  readonly status = 405;
  readonly code = 'method_not_allowed';
  constructor(method: string, path: string, allowed: string[]) {
    super(`Method ${method} is not allowed on ${path}. Allowed: ${allowed.join(', ')}.`);
    this.headers.Allow = allowed.join(', ');
  }
}

export class SessionBusyError extends ApiError {
  readonly status = 409;
  readonly code = 'session_busy';
  constructor(message: string, retryAfterSeconds = 1) {
    super(message);
    this.headers['Retry-After'] = String(retryAfterSeconds);
  }
}

export class PayloadTooLargeError extends ApiError {
  readonly status = 413;
  readonly code = 'payload_too_large';
}

export class UnsupportedMediaTypeError extends ApiError {
  readonly status = 415;
  readonly code = 'unsupported_media_type';
}

export class InternalError extends ApiError {
  readonly status = 500;
  readonly code = 'internal_error';
}

export class UnavailableError extends ApiError {
  readonly status = 503;
  readonly code = 'unavailable';
  constructor(message = 'The database is unavailable. Try again shortly.', retryAfterSeconds = 5) {
    super(message);
    this.headers['Retry-After'] = String(retryAfterSeconds);
  }
}

/** The client went away before the answer; nothing is written back (nginx's 499). */
export class ClientClosedError extends ApiError {
  readonly status = 499;
  readonly code = 'client_closed';
  constructor() {
    super('The client disconnected before the answer.');
  }
}
