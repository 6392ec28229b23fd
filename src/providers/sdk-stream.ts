import type { ChatResponse, ChatStreamEvent, ProviderError } from './model-provider.js';
import { abortedError, type ErrorContext } from './provider-errors.js';

/** Turns a provider's stream events into text deltas, then into the final answer. */
export interface StreamAccumulator {
  /** The text this event adds ('' for none). */
  add(event: unknown): string;
  finish(): ChatResponse;
}

/**
 * Reads an SDK stream (opened by `open`) through `accumulator`: one `token` per text delta,
 * then one `end`. Whatever the SDK throws goes through `toProviderError`.
 */
export async function* accumulateStream(
  open: () => Promise<AsyncIterable<unknown>>,
  accumulator: StreamAccumulator,
  ctx: ErrorContext,
  toProviderError: (err: unknown) => ProviderError,
): AsyncIterable<ChatStreamEvent> {
  try {
    for await (const event of await open()) {
      const text = accumulator.add(event);
      if (text) yield { type: 'token', content: text };
    }
  } catch (err) {
    throw toProviderError(err);
  }
  // The SDKs end an aborted stream quietly instead of throwing.
  if (ctx.signal?.aborted) throw abortedError(ctx);
  yield { type: 'end', response: accumulator.finish() };
}
