import type { Logger } from 'pino';

/** How long further pool errors are only counted after one was logged. */
const QUIET_MS = 10_000;

/**
 * The pool's 'error' listener: pg emits 'error' on an idle pooled connection the server closed
 * (`57P01` when PostgreSQL restarts, a reset socket), and an 'error' event nobody listens to ends
 * the process. The pool has already dropped that connection and opens a new one on demand, so
 * this only logs: one line per burst, since a restart fails every idle connection at once.
 */
export function poolErrorLogger(logger: Logger, quietMs = QUIET_MS, clock: () => number = Date.now): (error: Error) => void {
  let quietUntil = Number.NEGATIVE_INFINITY;
  let suppressed = 0;
  return (error) => {
    const now = clock();
    if (now < quietUntil) {
      suppressed++;
      return;
    }
    quietUntil = now + quietMs;
    logger.warn(
      { err_code: (error as { code?: unknown }).code, err_message: error.message, suppressed_errors: suppressed },
      'database connection lost; the pool reconnects on demand',
    );
    suppressed = 0;
  };
}
