import { describe, expect, it } from 'vitest';
import {
  agentProfile,
  mockProviderModel,
  scriptedModel,
  scriptedTool,
  systemTexts,
  userText,
} from '../../../test/factories/scripted-model.js';
import { type AgentEvent, runAgent } from '../agent-loop.js';
import { MAP_CONCURRENCY, MAX_CHUNK_CHARS, MAX_CHUNKS, mapInstruction, REDUCE_INSTRUCTION, splitInput } from './map-reduce.js';

const HISTORY = [
  { role: 'user' as const, content: 'earlier' },
  { role: 'assistant' as const, content: 'noted' },
];

function mapper(overrides: Parameters<typeof agentProfile>[0] = {}) {
  return agentProfile({ strategy: 'map-reduce', tools: [scriptedTool('lookup').entry], ...overrides });
}

function tokens(events: AgentEvent[]): string[] {
  return events.flatMap((event) => (event.type === 'token' ? [event.content] : []));
}

/** Answers a map call with the upper-cased chunk, the reduce call with `reduced`. */
function upperCaser(reduced = 'all parts') {
  return scriptedModel((call) =>
    systemTexts(call).includes(REDUCE_INSTRUCTION) ? { content: reduced } : { content: userText(call).toUpperCase() },
  );
}

describe('map-reduce', () => {
  it('maps each paragraph without tools or history, then reduces with history and streams only that call', async () => {
    const model = upperCaser('three parts');
    const events: AgentEvent[] = [];
    const result = await runAgent(model, mapper(), {
      systemPrompt: 'You analyse.',
      input: 'alpha\n\n  beta  \n \ngamma',
      history: HISTORY,
      stream: true,
      onEvent: (event) => void events.push(event),
    });

    expect(model.calls.map((call) => call.messages)).toEqual([
      ...['alpha', 'beta', 'gamma'].map((chunk, i) => [
        { role: 'system', content: 'You analyse.' },
        { role: 'system', content: mapInstruction(i + 1, 3) },
        { role: 'user', content: chunk },
      ]),
      [
        { role: 'system', content: 'You analyse.' },
        { role: 'system', content: REDUCE_INSTRUCTION },
        ...HISTORY,
        { role: 'user', content: 'Answer for part 1 of 3:\nALPHA\n\nAnswer for part 2 of 3:\nBETA\n\nAnswer for part 3 of 3:\nGAMMA' },
      ],
    ]);
    expect(model.calls.map((call) => [call.tools, call.stream])).toEqual([
      [undefined, false],
      [undefined, false],
      [undefined, false],
      [undefined, true],
    ]);
    expect(tokens(events)).toEqual(['three ', 'parts']);
    expect(result).toMatchObject({ output: 'three parts', finishReason: 'stop', turns: 4, usage: { totalTokens: 40 }, toolCalls: [] });
  });

  it(`keeps at most ${MAP_CONCURRENCY} map calls in flight`, async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const model = scriptedModel((call) =>
      systemTexts(call).includes(REDUCE_INSTRUCTION) ? { content: 'done' } : { content: 'x', hold: gate },
    );
    const run = runAgent(model, mapper(), { input: ['1', '2', '3', '4', '5', '6'].join('\n\n') });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(model.calls).toHaveLength(MAP_CONCURRENCY);

    release();
    const result = await run;
    expect(model.calls.map(userText).slice(0, 6).sort()).toEqual(['1', '2', '3', '4', '5', '6']);
    expect(result).toMatchObject({ output: 'done', turns: 7 });
  });

  it('maps only the first chunks when max_turns leaves too few calls, keeping one for the reduce', async () => {
    const model = upperCaser();
    const result = await runAgent(model, mapper({ maxTurns: 3 }), { input: 'a\n\nb\n\nc\n\nd' });

    expect(model.calls.map(userText)).toEqual(['a', 'b', 'Answer for part 1 of 4:\nA\n\nAnswer for part 2 of 4:\nB']);
    expect(result).toMatchObject({ output: 'all parts', finishReason: 'max_turns', turns: 3 });

    const single = upperCaser();
    const one = await runAgent(single, mapper({ maxTurns: 1 }), { input: 'a\n\nb' });
    expect(one).toMatchObject({ output: 'A', finishReason: 'max_turns', turns: 1 });
  });

  it('stops mapping when the token budget is spent and answers with the partial answers', async () => {
    const model = upperCaser();
    const events: AgentEvent[] = [];
    const result = await runAgent(model, mapper({ tokenBudget: 35 }), {
      input: 'a\n\nb\n\nc\n\nd\n\ne\n\nf',
      stream: true,
      onEvent: (event) => void events.push(event),
    });

    // The first four start together with the whole budget left; then it is spent.
    expect(model.calls.map((call) => call.maxTokens)).toEqual([35, 35, 35, 35]);
    expect(result).toMatchObject({ output: 'A\n\nB\n\nC\n\nD', finishReason: 'token_budget', turns: 4, usage: { totalTokens: 40 } });
    expect(tokens(events)).toEqual(['A\n\nB\n\nC\n\nD']);
  });

  it('stops every map call at once when the caller cancels', async () => {
    const controller = new AbortController();
    const model = scriptedModel(() => ({ hold: new Promise<void>(() => undefined) }));
    const run = runAgent(model, mapper(), { input: 'a\n\nb\n\nc\n\nd\n\ne', signal: controller.signal });
    await new Promise((resolve) => setTimeout(resolve, 10));
    controller.abort(new Error('client went away'));

    await expect(run).rejects.toThrow('client went away');
    expect(model.calls).toHaveLength(MAP_CONCURRENCY);
  });

  it('fails with the first failed map call, aborting the others', async () => {
    const model = scriptedModel((call) =>
      userText(call) === 'b' ? { fail: new Error('provider down') } : { hold: new Promise<void>(() => undefined) },
    );
    await expect(runAgent(model, mapper(), { input: 'a\n\nb\n\nc\n\nd\n\ne' })).rejects.toThrow('provider down');
    expect(model.calls).toHaveLength(MAP_CONCURRENCY);
  });

  it('runs end to end on the mock provider', async () => {
    const events: AgentEvent[] = [];
    const result = await runAgent(mockProviderModel(), mapper({ models: ['mock/echo'] }), {
      input: 'one\n\ntwo',
      stream: true,
      onEvent: (event) => void events.push(event),
    });

    expect(result.output).toBe('Echo: Answer for part 1 of 2:\nEcho: one\n\nAnswer for part 2 of 2:\nEcho: two');
    expect(tokens(events).join('')).toBe(result.output);
    expect(result).toMatchObject({ turns: 3, finishReason: 'stop', toolCalls: [] });
  });
});

describe('splitInput', () => {
  it('splits at blank lines and cuts long paragraphs at whitespace', () => {
    expect(splitInput('a\nb\n\n\nc')).toEqual(['a\nb', 'c']);
    const long = `${'word '.repeat(MAX_CHUNK_CHARS / 5)}tail`;
    const pieces = splitInput(long);
    expect(pieces).toHaveLength(2);
    expect(pieces.every((piece) => piece.length <= MAX_CHUNK_CHARS)).toBe(true);
    expect(pieces.join(' ')).toBe(long.trim());
  });

  it(`joins neighbours so that at most ${MAX_CHUNKS} chunks remain`, () => {
    const paragraphs = Array.from({ length: 40 }, (_, i) => `p${i}`);
    const chunks = splitInput(paragraphs.join('\n\n'));
    expect(chunks).toHaveLength(14);
    expect(chunks[0]).toBe('p0\n\np1\n\np2');
    expect(chunks.join('\n\n')).toBe(paragraphs.join('\n\n'));
  });

  it('keeps a blank input as one chunk', () => {
    expect(splitInput('  ')).toEqual(['  ']);
  });
});
