import { afterEach, describe, expect, it, vi } from 'vitest';
import { Api } from './api';

/**
 * A streamed answer whose body records whether the reader cancelled it; unless `end`, it stays
 * open after its chunks, like an agent still answering.
 */
function streamedAnswer(chunks: string[], end = false) {
  const state = { cancelled: false, pulled: 0 };
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      const next = chunks[state.pulled++];
      if (next === undefined) {
        if (end) controller.close();
        else return new Promise<void>(() => undefined);
      } else controller.enqueue(new TextEncoder().encode(next));
    },
    cancel() {
      state.cancelled = true;
    },
  });
  vi.stubGlobal('fetch', () => Promise.resolve(new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream' } })));
  return state;
}

const api = () => new Api({ kind: 'key', key: 'k-test-0123456789' }, () => undefined);
const token = (content: string) => `data: {"type":"token","content":"${content}"}\n\n`;

describe('Api.stream', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it('cancels the HTTP stream when its reader stops early', async () => {
    const state = streamedAnswer([token('a'), token('b'), token('c')]);
    for await (const event of api().stream('/v1/agents/a/stream', { message: 'hi' }, new AbortController().signal)) {
      expect(event).toEqual({ type: 'token', content: 'a' });
      break;
    }
    await vi.waitFor(() => expect(state.cancelled).toBe(true));
  });

  it('cancels the HTTP stream when the consumer throws', async () => {
    const state = streamedAnswer([token('a'), token('b')]);
    const consume = async () => {
      for await (const event of api().stream('/v1/agents/a/stream', {}, new AbortController().signal)) {
        throw new Error(`cannot show ${event.type}`);
      }
    };
    await expect(consume()).rejects.toThrow('cannot show token');
    // Cancelling reaches the body through the text decoder a few ticks later.
    await vi.waitFor(() => expect(state.cancelled).toBe(true));
  });

  it('reads to the end without cancelling, skipping a malformed event', async () => {
    const state = streamedAnswer([token('a'), 'data: {oops\n\n', token('b')], true);
    const events = [];
    for await (const event of api().stream('/v1/agents/a/stream', {}, new AbortController().signal)) events.push(event);
    expect(events).toEqual([
      { type: 'token', content: 'a' },
      { type: 'token', content: 'b' },
    ]);
    expect(state.cancelled).toBe(false);
  });
});
