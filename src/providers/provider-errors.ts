import { ProviderError, type Usage } from './model-provider.js';

/**
 * Building blocks shared by the provider adapters to turn SDK and transport failures into
 * a `ProviderError` whose message reads `<provider>/<model>: <reason in words>`.
 */

export function modelLabel(provider: string, model: string): string {
  return `${provider}/${model}`;
}

/** 408, 409 (conflict/lock), 429 and every 5xx are worth trying again. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

export function describeStatus(status: number): string {
  switch (status) {
    case 400:
      return 'the provider rejected the request (HTTP 400)';
    case 401:
      return 'the API key was rejected (HTTP 401)';
    case 403:
      return 'access denied by the provider (HTTP 403)';
    case 404:
      return 'model or endpoint not found (HTTP 404)';
    case 408:
      return 'the provider timed out (HTTP 408)';
    case 413:
      return 'request too large for the provider (HTTP 413)';
    case 422:
      return 'the provider could not process the request (HTTP 422)';
    case 429:
      return 'rate limited by the provider (HTTP 429)';
    case 529:
      return 'the provider is overloaded (HTTP 529)';
  }
  if (status >= 500) return `server error at the provider (HTTP ${status})`;
  if (status >= 400) return `the provider rejected the request (HTTP ${status})`;
  return `unexpected HTTP status ${status}`;
}

/** Statuses whose error text helps an operator and is not about credentials. */
const DETAILED_STATUSES = new Set([400, 404, 409, 413, 422]);

/**
 * Reads `retry-after-ms` (OpenAI) or `retry-after` (seconds or an HTTP date, RFC 9110
 * §10.2.3) into milliseconds.
 */
export function retryAfterMs(headers: Headers | undefined, now: number = Date.now()): number | undefined {
  if (!headers) return undefined;
  const precise = headers.get('retry-after-ms');
  if (precise !== null && /^\d+(\.\d+)?$/.test(precise.trim())) return Math.round(Number(precise));
  const value = headers.get('retry-after')?.trim();
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Math.round(Number(value) * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

const KEY_LIKE = /\b(sk|pk|rk)-[A-Za-z0-9_-]{6,}/g;

/** Strips anything key-shaped from provider-supplied text and keeps it short. */
export function sanitizeDetail(text: string, secrets: ReadonlyArray<string | undefined>): string {
  let clean = text;
  for (const secret of secrets) {
    if (secret && secret.length >= 4) clean = clean.split(secret).join('[redacted]');
  }
  clean = clean.replace(KEY_LIKE, '[redacted]').replace(/\s+/g, ' ').trim();
  return clean.length > 200 ? `${clean.slice(0, 197)}...` : clean;
}

const NETWORK_CODES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset by the provider',
  ENOTFOUND: 'provider host not found',
  EAI_AGAIN: 'provider host name could not be resolved',
  ETIMEDOUT: 'connection timed out',
  EPIPE: 'connection closed by the provider',
  EHOSTUNREACH: 'provider host unreachable',
  ENETUNREACH: 'network unreachable',
  UND_ERR_SOCKET: 'connection closed by the provider',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
  UND_ERR_HEADERS_TIMEOUT: 'no response headers in time',
  UND_ERR_BODY_TIMEOUT: 'response body stalled',
};

function errorCode(err: unknown): string | undefined {
  for (let current = err, depth = 0; current && depth < 5; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && code in NETWORK_CODES) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Undici reports a dropped connection as `TypeError: fetch failed` or `terminated`. */
export function isNetworkFailure(err: unknown): boolean {
  if (errorCode(err)) return true;
  return err instanceof TypeError && (err.message === 'fetch failed' || err.message === 'terminated');
}

export function describeNetworkFailure(err: unknown): string {
  const code = errorCode(err);
  return code ? `network error: ${NETWORK_CODES[code]}` : 'network error: the connection to the provider failed';
}

export interface ErrorContext {
  provider: string;
  model: string;
  signal?: AbortSignal;
  secrets: ReadonlyArray<string | undefined>;
}

export function abortedError(ctx: ErrorContext, cause?: unknown): ProviderError {
  return new ProviderError(`${modelLabel(ctx.provider, ctx.model)}: request aborted`, ctx.provider, {
    retryable: false,
    cause: cause ?? ctx.signal?.reason,
  });
}

export function missingKeyError(ctx: ErrorContext): ProviderError {
  return new ProviderError(`${modelLabel(ctx.provider, ctx.model)}: no API key configured`, ctx.provider, { retryable: false });
}

export function badAnswerError(ctx: ErrorContext, what: string, cause?: unknown): ProviderError {
  return new ProviderError(`${modelLabel(ctx.provider, ctx.model)}: answer not understood (${what})`, ctx.provider, {
    retryable: false,
    cause,
  });
}

export function networkError(ctx: ErrorContext, cause: unknown): ProviderError {
  return new ProviderError(`${modelLabel(ctx.provider, ctx.model)}: ${describeNetworkFailure(cause)}`, ctx.provider, {
    retryable: true,
    cause,
  });
}

export function clientTimeoutError(ctx: ErrorContext, cause: unknown): ProviderError {
  return new ProviderError(`${modelLabel(ctx.provider, ctx.model)}: the provider did not answer in time`, ctx.provider, {
    retryable: true,
    cause,
  });
}

/** An error event inside an otherwise successful stream: no HTTP status, only a type. */
export function streamErrorEvent(ctx: ErrorContext, type: string, retryable: boolean, cause: unknown): ProviderError {
  const label = modelLabel(ctx.provider, ctx.model);
  return new ProviderError(`${label}: the provider reported an error mid-stream (${type})`, ctx.provider, {
    retryable,
    cause,
  });
}

export function httpError(
  ctx: ErrorContext,
  status: number,
  headers: Headers | undefined,
  detail: string | null | undefined,
  cause: unknown,
): ProviderError {
  let reason = describeStatus(status);
  if (detail && DETAILED_STATUSES.has(status)) reason += `: ${sanitizeDetail(detail, ctx.secrets)}`;
  const retryable = isRetryableStatus(status);
  return new ProviderError(`${modelLabel(ctx.provider, ctx.model)}: ${reason}`, ctx.provider, {
    status,
    retryable,
    retryAfterMs: retryable ? retryAfterMs(headers) : undefined,
    cause,
  });
}

/** Fallback for failures no adapter rule recognised: say what kind, never echo the text. */
export function unexpectedError(ctx: ErrorContext, cause: unknown): ProviderError {
  if (cause instanceof SyntaxError) return badAnswerError(ctx, 'the body is not valid JSON', cause);
  if (isNetworkFailure(cause)) return networkError(ctx, cause);
  const kind = cause instanceof Error ? cause.name : typeof cause;
  return new ProviderError(`${modelLabel(ctx.provider, ctx.model)}: unexpected failure (${kind})`, ctx.provider, {
    retryable: false,
    cause,
  });
}

export function parseToolArguments(ctx: ErrorContext, raw: string, toolName: string): Record<string, unknown> {
  if (raw.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    throw badAnswerError(ctx, `arguments of tool call "${toolName}" are not valid JSON`, err);
  }
  if (!isPlainObject(parsed)) throw badAnswerError(ctx, `arguments of tool call "${toolName}" are not a JSON object`);
  return parsed;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function usageOf(input: unknown, output: unknown): Usage {
  const inTokens = typeof input === 'number' && Number.isFinite(input) ? input : 0;
  const outTokens = typeof output === 'number' && Number.isFinite(output) ? output : 0;
  return { inputTokens: inTokens, outputTokens: outTokens, totalTokens: inTokens + outTokens };
}
