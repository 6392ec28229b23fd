const CONNECTION_ERROR_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH']);
const CONNECTION_MESSAGES = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error',
  'Connection is not established',
  'the database system is',
];

/**
 * True when an error means "the database could not be reached", as opposed to a bad query.
 * Postgres SQLSTATE class 08 is connection exceptions; 57P01..57P03 are shutdowns/starting up;
 * 53300 is too many connections.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (let current: unknown = error, depth = 0; current && depth < 4; depth++) {
    if (typeof current !== 'object') return false;
    const candidate = current as { code?: unknown; message?: unknown; driverError?: unknown; cause?: unknown };
    const code = typeof candidate.code === 'string' ? candidate.code : '';
    if (CONNECTION_ERROR_CODES.has(code) || code.startsWith('08') || ['57P01', '57P02', '57P03', '53300'].includes(code)) {
      return true;
    }
    const message = typeof candidate.message === 'string' ? candidate.message : '';
    if (CONNECTION_MESSAGES.some((fragment) => message.includes(fragment))) return true;
    if (error instanceof AggregateError && error.errors.some((inner) => isDatabaseUnavailable(inner))) return true;
    current = candidate.driverError ?? candidate.cause;
  }
  return false;
}
