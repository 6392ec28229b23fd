import { afterEach, describe, expect, it, vi } from 'vitest';
import { MockProvider, countWords, splitWords } from './mock.provider.js';
import { type ChatMessage, type ChatRequest, type ChatStreamEvent, type ToolSpec } from './model-provider.js';
import { collect, providerFailure } from '../../test/support/provider-assertions.js';

const mock = new MockProvider();

function ask(model: string, content: string, extra: Partial<ChatRequest> = {}): ChatRequest {
  return { model, messages: [{ role: 'user', content }], ...extra };
}

const searchTool: ToolSpec = {
  name: 'web-search',
  description: 'Searches the web',
  parameters: {
    type: 'object',
    properties: {
      query: { type: 'string' },
      limit: { type: 'integer', minimum: 3 },
      page: { type: 'number' },
      safe: { type: 'boolean' },
      mode: { type: 'string', enum: ['fast', 'deep'] },
      lang: { type: 'string', default: 'en' },
      tags: { type: 'array', items: { type: 'string' } },
      filters: { type: 'object' },
      note: { type: ['null', 'string'] },
    },
    required: ['query'],
  },
};

const calculatorTool: ToolSpec = {
  name: 'calc',
  description: 'Computes',
  parameters: { type: 'object', properties: { expression: { type: 'string' } } },
};

describe('MockProvider answers', () => {
  it('echoes the last user message with a fixed prefix and counts words as tokens', async () => {
    const response = await mock.chat({
      model: 'echo',
      messages: [
        { role: 'system', content: 'You are a test double.' },
        { role: 'user', content: 'first question here' },
        { role: 'assistant', content: 'first answer' },
        { role: 'user', content: 'Hello big   world' },
      ],
    });

    expect(response).toEqual({
      content: 'Echo: Hello big   world',
      toolCalls: [],
      // 5 + 3 + 2 + 3 words in, 4 words out.
      usage: { inputTokens: 13, outputTokens: 4, totalTokens: 17 },
      finishReason: 'stop',
    });
  });

  it('answers "Echo: " when there is no user message', async () => {
    const response = await mock.chat({ model: 'echo', messages: [{ role: 'system', content: 'alone' }] });
    expect(response.content).toBe('Echo: ');
    expect(response.usage).toEqual({ inputTokens: 1, outputTokens: 1, totalTokens: 2 });
  });

  it('treats any name other than fail as the echo model', async () => {
    const response = await mock.chat(ask('demo-model.v2', 'ping'));
    expect(response.content).toBe('Echo: ping');
  });

  it('is deterministic', async () => {
    const request = ask('echo', 'same input every time');
    expect(await mock.chat(request)).toEqual(await mock.chat(request));
  });

  it('streams word by word, each word with its following whitespace, then the full response', async () => {
    const events = await collect(mock.stream(ask('echo', 'Hello big\nworld')));

    expect(events).toEqual([
      { type: 'token', content: 'Echo: ' },
      { type: 'token', content: 'Hello ' },
      { type: 'token', content: 'big\n' },
      { type: 'token', content: 'world' },
      {
        type: 'end',
        response: {
          content: 'Echo: Hello big\nworld',
          toolCalls: [],
          usage: { inputTokens: 3, outputTokens: 4, totalTokens: 7 },
          finishReason: 'stop',
        },
      },
    ]);
  });

  it('cuts a text answer to max_tokens words and says so', async () => {
    const response = await mock.chat(ask('echo', 'Hello big world', { maxTokens: 2 }));
    const events = await collect(mock.stream(ask('echo', 'Hello big world', { maxTokens: 2 })));
    expect(response).toEqual({
      content: 'Echo: Hello',
      toolCalls: [],
      usage: { inputTokens: 3, outputTokens: 2, totalTokens: 5 },
      finishReason: 'length',
    });
    expect(events.slice(0, -1)).toEqual([
      { type: 'token', content: 'Echo: ' },
      { type: 'token', content: 'Hello' },
    ]);
    expect((await mock.chat(ask('echo', 'Hello big world', { maxTokens: 4 }))).finishReason).toBe('stop');
  });

  it('keeps leading whitespace with the first word when splitting', () => {
    expect(splitWords('  a b ')).toEqual(['  a ', 'b ']);
    expect(splitWords('   ')).toEqual(['   ']);
    expect(splitWords('')).toEqual([]);
  });
});

describe('the examples of docs/mock-model.md', () => {
  it('echo with usage', async () => {
    const response = await mock.chat({
      model: 'echo',
      messages: [
        { role: 'system', content: 'You are terse.' },
        { role: 'user', content: 'Hello big world' },
      ],
    });
    expect(response.content).toBe('Echo: Hello big world');
    expect(response.usage).toEqual({ inputTokens: 6, outputTokens: 4, totalTokens: 10 });
  });

  it('a conversation with a tool', async () => {
    const tools: ToolSpec[] = [
      { name: 'web-search', description: 'Searches', parameters: { type: 'object', properties: { query: { type: 'string' } } } },
    ];
    const user: ChatMessage = { role: 'user', content: 'look up cats with web-search' };
    const call = await mock.chat({ model: 'echo', messages: [user], tools });
    const answer = await mock.chat({
      model: 'echo',
      tools,
      messages: [
        user,
        { role: 'assistant', content: '', toolCalls: call.toolCalls },
        { role: 'tool', toolCallId: 'call_mock_1', name: 'web-search', content: '3 cats' },
      ],
    });
    expect(call.toolCalls).toEqual([{ id: 'call_mock_1', name: 'web-search', arguments: { query: 'look up cats with web-search' } }]);
    expect(answer.content).toBe('Tool web-search returned: 3 cats');
  });
});

describe('MockProvider tool-call demo', () => {
  it('calls a tool named in the last user message, with arguments derived from its schema', async () => {
    const input = 'Please use web-search to find cats';

    const response = await mock.chat(ask('echo', input, { tools: [calculatorTool, searchTool] }));

    expect(response).toEqual({
      content: '',
      toolCalls: [
        {
          id: 'call_mock_1',
          name: 'web-search',
          arguments: {
            query: input,
            limit: 3,
            page: 1,
            safe: true,
            mode: 'fast',
            lang: 'en',
            tags: [],
            filters: {},
            note: input,
          },
        },
      ],
      usage: { inputTokens: 6, outputTokens: 1, totalTokens: 7 },
      finishReason: 'tool_calls',
    });
  });

  it('calls every named tool, in order of first mention, case-insensitively', async () => {
    const response = await mock.chat(ask('echo', 'CALC 2+2 then Web-Search it', { tools: [searchTool, calculatorTool] }));
    expect(response.toolCalls.map((call) => [call.id, call.name])).toEqual([
      ['call_mock_1', 'calc'],
      ['call_mock_2', 'web-search'],
    ]);
  });

  it('matches whole tool names only', async () => {
    const response = await mock.chat(ask('echo', 'do some research on calculus', { tools: [searchTool, calculatorTool, { ...calculatorTool, name: 'search' }] }));
    expect(response.toolCalls).toEqual([]);
    expect(response.content).toBe('Echo: do some research on calculus');
  });

  it('answers with the tool output once the result arrives', async () => {
    const messages: ChatMessage[] = [
      { role: 'user', content: 'use web-search and calc' },
      {
        role: 'assistant',
        content: '',
        toolCalls: [
          { id: 'call_mock_1', name: 'web-search', arguments: {} },
          { id: 'call_mock_2', name: 'calc', arguments: {} },
        ],
      },
      { role: 'tool', toolCallId: 'call_mock_1', name: 'web-search', content: '3 cats found' },
      { role: 'tool', toolCallId: 'call_mock_2', name: 'calc', content: 'division by zero', isError: true },
    ];

    const response = await mock.chat({ model: 'echo', messages, tools: [searchTool, calculatorTool] });

    expect(response.content).toBe('Tool web-search returned: 3 cats found\nTool calc failed: division by zero');
    expect(response.toolCalls).toEqual([]);
    expect(response.finishReason).toBe('stop');
  });

  it('numbers call ids on from the calls already in the conversation', async () => {
    const messages: ChatMessage[] = [
      { role: 'user', content: 'calc 1' },
      { role: 'assistant', content: '', toolCalls: [{ id: 'call_mock_1', name: 'calc', arguments: {} }] },
      { role: 'tool', toolCallId: 'call_mock_1', name: 'calc', content: '1' },
      { role: 'assistant', content: 'Tool calc returned: 1' },
      { role: 'user', content: 'calc 2' },
    ];
    const response = await mock.chat({ model: 'echo', messages, tools: [calculatorTool] });
    expect(response.toolCalls).toEqual([{ id: 'call_mock_2', name: 'calc', arguments: { expression: 'calc 2' } }]);
  });

  it('streams no tokens for a tool-call turn', async () => {
    const events = await collect(mock.stream(ask('echo', 'calc 6*7', { tools: [calculatorTool] })));
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'end', response: { finishReason: 'tool_calls', content: '' } });
  });
});

describe('MockProvider options', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('waits latency before answering', async () => {
    vi.useFakeTimers();
    let settled = false;
    const pending = mock.chat(ask('echo?latency=200ms', 'hi')).then((response) => {
      settled = true;
      return response;
    });

    await vi.advanceTimersByTimeAsync(199);
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect((await pending).content).toBe('Echo: hi');
  });

  it('waits token_delay between streamed words, not before the first', async () => {
    vi.useFakeTimers();
    const seen: string[] = [];
    const done = (async () => {
      for await (const event of mock.stream(ask('echo?token_delay=50ms', 'a b'))) {
        if (event.type === 'token') seen.push(event.content);
      }
    })();

    await vi.advanceTimersByTimeAsync(0);
    expect(seen).toEqual(['Echo: ']);
    await vi.advanceTimersByTimeAsync(49);
    expect(seen).toEqual(['Echo: ']);
    await vi.advanceTimersByTimeAsync(1);
    expect(seen).toEqual(['Echo: ', 'a ']);
    await vi.advanceTimersByTimeAsync(50);
    await done;
    expect(seen).toEqual(['Echo: ', 'a ', 'b']);
  });

  it('rejects at once and clears its timer when aborted during latency', async () => {
    vi.useFakeTimers();
    const controller = new AbortController();
    const pending = providerFailure(mock.chat(ask('echo?latency=10s', 'hi', { signal: controller.signal })));
    await vi.advanceTimersByTimeAsync(10);
    expect(vi.getTimerCount()).toBe(1);

    controller.abort();
    const err = await pending;

    expect(err.message).toBe('mock/echo?latency=10s: request aborted');
    expect(err.retryable).toBe(false);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('stops a slow stream when aborted between words', async () => {
    const controller = new AbortController();
    const seen: ChatStreamEvent[] = [];
    const started = Date.now();

    const err = await providerFailure(
      (async () => {
        for await (const event of mock.stream(ask('echo?token_delay=5s', 'one two three', { signal: controller.signal }))) {
          seen.push(event);
          setTimeout(() => controller.abort(), 10);
        }
      })(),
    );

    expect(seen).toEqual([{ type: 'token', content: 'Echo: ' }]);
    expect(err.message).toBe('mock/echo?token_delay=5s: request aborted');
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('refuses an already aborted request', async () => {
    const err = await providerFailure(mock.chat(ask('echo', 'hi', { signal: AbortSignal.abort() })));
    expect(err.message).toBe('mock/echo: request aborted');
  });

  it('fails like a retryable provider 500 as mock/fail', async () => {
    const err = await providerFailure(mock.chat(ask('fail', 'hi')));
    expect(err.message).toBe('mock/fail: server error at the provider (HTTP 500) (simulated)');
    expect(err.provider).toBe('mock');
    expect(err.status).toBe(500);
    expect(err.retryable).toBe(true);
  });

  it('fails with the given status and Retry-After', async () => {
    const err = await providerFailure(mock.chat(ask('echo?fail=429&retry_after=2s', 'hi')));
    expect(err.message).toBe('mock/echo?fail=429&retry_after=2s: rate limited by the provider (HTTP 429) (simulated)');
    expect(err.retryable).toBe(true);
    expect(err.retryAfterMs).toBe(2000);
  });

  it('fails without retry on a 4xx other than 408, 409 and 429', async () => {
    const err = await providerFailure(mock.chat(ask('echo?fail=400', 'hi')));
    expect(err.retryable).toBe(false);
    expect(err.status).toBe(400);
  });

  it('fails mid-stream after fail_after tokens', async () => {
    const tokens: string[] = [];
    const err = await providerFailure(
      (async () => {
        for await (const event of mock.stream(ask('echo?fail_after=2', 'one two three'))) {
          if (event.type === 'token') tokens.push(event.content);
        }
      })(),
    );
    expect(tokens).toEqual(['Echo: ', 'one ']);
    expect(err.message).toBe('mock/echo?fail_after=2: server error at the provider (HTTP 500) (simulated)');
  });

  it('rejects an invalid model id as a non-retryable error', async () => {
    const err = await providerFailure(mock.chat(ask('echo?speed=fast', 'hi')));
    expect(err.message).toMatch(/^mock\/echo\?speed=fast: unknown mock option "speed"/);
    expect(err.retryable).toBe(false);
  });

  it('counts words exactly as /\\S+/g does, every JavaScript whitespace included', () => {
    const pieces = [
      'a',
      'word',
      'é',
      '𝒳',
      '\u200b',
      ' ',
      '\t',
      '\n',
      '\v',
      '\f',
      '\r',
      '\u00a0',
      '\u1680',
      '\u2000',
      '\u200a',
      '\u2028',
      '\u2029',
      '\u202f',
      '\u205f',
      '\u3000',
      '\ufeff',
      '\u0085',
      '\u180e',
    ];
    // MINSTD (Park–Miller): every product stays below 2^53, so the sequence is exact and repeatable.
    let seed = 7;
    const next = () => (seed = (seed * 48_271) % 2_147_483_647);
    for (let run = 0; run < 2000; run++) {
      const text = Array.from({ length: next() % 12 }, () => pieces[next() % pieces.length]).join('');
      expect(countWords(text), JSON.stringify(text)).toBe(text.match(/\S+/g)?.length ?? 0);
    }
    for (let code = 0; code < 0x10000; code++) {
      const text = `a${String.fromCharCode(code)}b`;
      expect(countWords(text), code.toString(16)).toBe(text.match(/\S+/g)?.length ?? 0);
    }
  });
});
