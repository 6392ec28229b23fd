const CONNECTION_ERROR_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH']);
const CONNECTION_MESSAGES = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error',
  'Connection is not established',
  'the database system is',
];
/**
 * TypeORM's own errors for a query runner that is gone. Its PostgreSQL runner releases itself
 * when its connection emits 'error' (the database terminated it, 57P01, or the socket broke),
 * so a transaction that lost its connection between two statements fails with one of these,
 * not with pg's error. The same errors would come from using a runner after releasing it,
 * which our code never does (each runner it creates is released in a `finally` after its last
 * query); a change that did would answer 503 as well, and its "dependency unavailable" warning
 * would name TypeORM's message rather than a connection error.
 */
const RELEASED_RUNNER_ERRORS = new Set(['QueryRunnerAlreadyReleasedError', 'QueryRunnerProviderAlreadyReleasedError']);

/**
 * True when an error means "the database could not be reached", as opposed to a bad query.
 * Postgres SQLSTATE class 08 is connection exceptions; 57P01..57P03 are shutdowns/starting up;
 * 53300 is too many connections. A transaction whose connection was lost between statements
 * fails with TypeORM's "query runner already released" instead.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (let current: unknown = error, depth = 0; current && depth < 4; depth++) {
    if (typeof current !== 'object') return false;
    const candidate = current as { code?: unknown; message?: unknown; name?: unknown; driverError?: unknown; cause?: unknown };
    const code = typeof candidate.code === 'string' ? candidate.code : '';
    if (CONNECTION_ERROR_CODES.has(code) || code.startsWith('08') || ['57P01', '57P02', '57P03', '53300'].includes(code)) {
      return true;
    }
    if (typeof candidate.name === 'string' && RELEASED_RUNNER_ERRORS.has(candidate.name)) return true;
    const message = typeof candidate.message === 'string' ? candidate.message : '';
    if (CONNECTION_MESSAGES.some((fragment) => message.includes(fragment))) return true;
    if (error instanceof AggregateError && error.errors.some((inner) => isDatabaseUnavailable(inner))) return true;
    current = candidate.driverError ?? candidate.cause;
  }
  return false;
}
