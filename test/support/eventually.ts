import { inspect } from 'node:util';

export interface EventuallyOptions {
  /** Default 5 s. */
  timeoutMs?: number;
  /** Pause between two reads; default 100 ms. */
  intervalMs?: number;
  /** Named in the error when time runs out. */
  what?: string;
}

/**
 * Reads until the value is ready and returns it: a value other than `undefined` and `false`,
 * or one `accept` agrees with. Fails once `timeoutMs` has passed, showing the last value read.
 * An error thrown by `read` fails at once.
 */
export async function eventually<T>(read: () => Promise<T | undefined | false>, options?: EventuallyOptions): Promise<T>;
export async function eventually<T>(read: () => Promise<T>, accept: (value: T) => boolean, options?: EventuallyOptions): Promise<T>;
export async function eventually<T>(
  read: () => Promise<T>,
  acceptOrOptions?: ((value: T) => boolean) | EventuallyOptions,
  maybeOptions: EventuallyOptions = {},
): Promise<T> {
  const accept = typeof acceptOrOptions === 'function' ? acceptOrOptions : (value: T) => value !== undefined && value !== false;
  const { timeoutMs = 5_000, intervalMs = 100, what = 'the condition' } =
    typeof acceptOrOptions === 'function' ? maybeOptions : (acceptOrOptions ?? {});
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (accept(value)) return value;
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last value: ${inspect(value, { depth: 4 })}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
