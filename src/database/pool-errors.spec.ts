import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { poolErrorLogger } from './pool-errors.js';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { logger, lines };
}

function adminShutdown(): Error {
  return Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' });
}

describe('poolErrorLogger', () => {
  it('logs the first error of a burst with its code, then counts the others until the quiet time ends', () => {
    const { logger, lines } = capture();
    let now = 1_000;
    const onError = poolErrorLogger(logger, 10_000, () => now);

    onError(adminShutdown());
    for (let i = 0; i < 9; i++) onError(adminShutdown());
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 40,
      err_code: '57P01',
      err_message: 'terminating connection due to administrator command',
      suppressed_errors: 0,
      msg: 'database connection lost; the pool reconnects on demand',
    });

    now += 10_000;
    onError(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }));
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatchObject({ err_code: 'ECONNRESET', suppressed_errors: 9 });
  });
});
