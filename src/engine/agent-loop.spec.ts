import { describe, expect, it } from 'vitest';
import type { ResilientCall, ResilientStreamEvent } from '../providers/resilient-model.js';
import { type AgentEvent, type AgentProfile, type ModelCaller, runAgent } from './agent-loop.js';

const AGENT: AgentProfile = { name: 'talker', models: ['scripted/one'], tools: [], maxTurns: 3 };

/** Streams the given words, counting how many the loop has pulled so far. */
function scriptedModel(words: string[]): ModelCaller & { pulled: () => number } {
  let pulled = 0;
  return {
    pulled: () => pulled,
    chat: () => Promise.reject(new Error('not used')),
    async *stream(_call: ResilientCall): AsyncIterable<ResilientStreamEvent> {
      for (const word of words) {
        pulled++;
        yield { type: 'token', content: word };
      }
      const usage = { inputTokens: 1, outputTokens: words.length, totalTokens: 1 + words.length };
      yield {
        type: 'end',
        response: { content: words.join(''), toolCalls: [], usage, finishReason: 'stop', ref: 'scripted/one', provider: 'scripted', model: 'one' },
      };
    },
  };
}

describe('runAgent streaming', () => {
  it('reads no further from the model while the event consumer is still busy', async () => {
    const model = scriptedModel(['a ', 'b ', 'c ', 'd']);
    const seen: AgentEvent[] = [];
    let release!: () => void;
    const blocked = new Promise<void>((resolve) => (release = resolve));
    const run = runAgent(model, AGENT, {
      input: 'hi',
      stream: true,
      onEvent: (event) => {
        seen.push(event);
        // The first event stands for a client whose socket buffer is full.
        return seen.length === 1 ? blocked : undefined;
      },
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(seen).toHaveLength(1);
    expect(model.pulled()).toBe(1);

    release();
    const result = await run;
    expect(seen.map((event) => (event.type === 'token' ? event.content : event.type))).toEqual(['a ', 'b ', 'c ', 'd']);
    expect(model.pulled()).toBe(4);
    expect(result.output).toBe('a b c d');
  });
});
