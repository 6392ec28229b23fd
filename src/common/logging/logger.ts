import type { LoggerService } from '@nestjs/common';
import { pino, type DestinationStream, type Logger } from 'pino';
import { logFields, requestContext } from '../request-context/request-context.js';

/**
 * JSON logs on stdout. A line written inside `requestContext.run` carries that request's
 * `correlation_id` (and the caller's principal id once known); code that logs for a request
 * after an await adds them itself (`logFields`).
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  const none = {};
  return pino(
    {
      level,
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      messageKey: 'msg',
      mixin: () => {
        const context = requestContext.current();
        return context ? logFields(context) : none;
      },
      // Outside a request's synchronous part (most lines) the line is written as given, not copied.
      mixinMergeStrategy: (logged: object, mixed: object) => (mixed === none ? logged : Object.assign(mixed, logged)),
      serializers: { err: serializeError },
      // A second line of defence: credentials must not be logged even if a header object is.
      // Not pino's `redact`: its wildcard paths copy every logged object (~9 KB per line).
      formatters: { level: (label) => ({ level: label }), log: censorCredentials },
    },
    destination ?? pino.destination({ fd: 1, sync: false }),
  );
}

const CREDENTIAL_KEYS = new Set(['authorization', 'x-api-key', 'apikey', 'api_key', 'password', 'cookie']);
const CENSOR = '[redacted]';
/** How deep credentials are looked for: `headers.authorization` is 2, `req.headers.authorization` 3. */
const CENSOR_DEPTH = 3;

/**
 * Replaces credential-named fields (any case) in the plain objects of a log line, up to three
 * levels deep. Copies only the objects on the path to a censored field; a line without
 * credentials is returned as it is, with no allocation.
 */
export function censorCredentials(object: Record<string, unknown>): Record<string, unknown> {
  return censorLevel(object, 1);
}

function censorLevel(object: Record<string, unknown>, depth: number): Record<string, unknown> {
  let copy: Record<string, unknown> | undefined;
  for (const key in object) {
    if (!Object.hasOwn(object, key)) continue;
    const value = object[key];
    let replacement = value;
    if (isCredentialKey(key)) {
      if (value !== undefined && value !== null) replacement = CENSOR;
    } else if (depth < CENSOR_DEPTH && isPlainObject(value)) {
      replacement = censorLevel(value, depth + 1);
    }
    if (replacement !== value) {
      copy ??= { ...object };
      copy[key] = replacement;
    }
  }
  return copy ?? object;
}

/** Keys already looked at (most lines reuse a handful of field names); bounded, as keys may come from clients. */
const keyVerdicts = new Map<string, boolean>();
const MAX_REMEMBERED_KEYS = 1_000;

function isCredentialKey(key: string): boolean {
  let verdict = keyVerdicts.get(key);
  if (verdict === undefined) {
    verdict = CREDENTIAL_KEYS.has(key.toLowerCase());
    if (keyVerdicts.size < MAX_REMEMBERED_KEYS) keyVerdicts.set(key, verdict);
  }
  return verdict;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const prototype = Object.getPrototypeOf(value) as unknown;
  return prototype === Object.prototype || prototype === null;
}

/**
 * Errors as pino shows them, minus what must not reach logs: a failed query's bound parameters
 * carry other callers' prompts and answers (TypeORM's QueryFailedError keeps them).
 */
function serializeError(error: unknown): unknown {
  const serialized = pino.stdSerializers.err(error as Error) as unknown as Record<string, unknown>;
  if (serialized && typeof serialized === 'object') {
    delete serialized.parameters;
    const driverError = serialized.driverError as Record<string, unknown> | undefined;
    if (driverError && typeof driverError === 'object') delete driverError.parameters;
  }
  return serialized;
}

/**
 * Routes Nest's own log calls into pino. Nest's `log` level is its start-up narration
 * (`InstanceLoader` modules initialised, `RoutesResolver`/`RouterExplorer` routes mapped, …), so
 * it goes to debug; the service says what it serves in one info line of its own (main.ts).
 */
export class NestPinoLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}

  log(message: unknown, context?: string): void {
    this.write('debug', message, context);
  }
  error(message: unknown, traceOrContext?: string, context?: string): void {
    this.write('error', message, context ?? traceOrContext);
  }
  warn(message: unknown, context?: string): void {
    this.write('warn', message, context);
  }
  debug(message: unknown, context?: string): void {
    this.write('debug', message, context);
  }
  verbose(message: unknown, context?: string): void {
    this.write('trace', message, context);
  }
  fatal(message: unknown, context?: string): void {
    this.write('fatal', message, context);
  }

  private write(level: 'info' | 'error' | 'warn' | 'debug' | 'trace' | 'fatal', message: unknown, context?: string) {
    const fields = context ? { context } : {};
    if (message instanceof Error) this.logger[level]({ ...fields, err: message }, message.message);
    else if (typeof message === 'object' && message !== null) this.logger[level]({ ...fields, ...message });
    else this.logger[level](fields, String(message));
  }
}
