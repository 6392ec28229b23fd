import { describe, expect, it } from 'vitest';
import {
  agentProfile,
  mockProviderModel,
  scriptedModel,
  scriptedTool,
  systemTexts,
  toolCall,
  userText,
} from '../../../test/factories/scripted-model.js';
import { type AgentEvent, runAgent } from '../agent-loop.js';
import { accepts, CRITIQUE_INSTRUCTION, revisionRequest } from './reflexion.js';

function writer(overrides: Parameters<typeof agentProfile>[0] = {}) {
  const lookup = scriptedTool('lookup', () => 'a fact');
  return { lookup, profile: agentProfile({ strategy: 'reflexion', tools: [lookup.entry], ...overrides }) };
}

function tokens(events: AgentEvent[]): string[] {
  return events.flatMap((event) => (event.type === 'token' ? [event.content] : []));
}

describe('reflexion', () => {
  it('drafts, critiques and revises twice, streaming only the last revision', async () => {
    const { lookup, profile } = writer();
    const model = scriptedModel([
      { content: 'draft' },
      { content: 'too short' },
      { toolCalls: [toolCall('lookup', { query: 'fact' })] },
      { content: 'better draft' },
      { content: 'no sources' },
      { content: 'final text' },
    ]);
    const events: AgentEvent[] = [];
    const result = await runAgent(model, profile, {
      systemPrompt: 'You write.',
      input: 'Write a line.',
      stream: true,
      onEvent: (event) => void events.push(event),
    });

    expect(model.calls.map((call) => [call.tools, call.stream])).toEqual([
      [['lookup'], false],
      [undefined, false],
      [['lookup'], false],
      [['lookup'], false],
      [undefined, false],
      [['lookup'], true],
    ]);
    const [draft, critique1, revision1, , critique2, revision2] = model.calls;
    expect(draft.messages).toEqual([
      { role: 'system', content: 'You write.' },
      { role: 'user', content: 'Write a line.' },
    ]);
    expect(systemTexts(critique1)).toEqual(['You write.', CRITIQUE_INSTRUCTION]);
    expect(userText(critique1)).toBe('Task:\nWrite a line.\n\nAnswer:\ndraft');
    expect(revision1.messages).toEqual([
      { role: 'system', content: 'You write.' },
      { role: 'user', content: 'Write a line.' },
      { role: 'assistant', content: 'draft' },
      { role: 'user', content: revisionRequest('too short') },
    ]);
    expect(userText(critique2)).toBe('Task:\nWrite a line.\n\nAnswer:\nbetter draft');
    expect(revision2.messages.slice(2)).toEqual([
      { role: 'assistant', content: 'better draft' },
      { role: 'user', content: revisionRequest('no sources') },
    ]);
    expect(lookup.calls).toEqual([{ query: 'fact' }]);
    expect(events).toEqual([
      { type: 'tool_call', name: 'lookup', arguments: { query: 'fact' } },
      { type: 'tool_result', name: 'lookup', output: 'a fact' },
      { type: 'token', content: 'final ' },
      { type: 'token', content: 'text' },
    ]);
    expect(result).toMatchObject({ output: 'final text', finishReason: 'stop', turns: 6, usage: { totalTokens: 60 } });
  });

  it('keeps the draft the critique accepts, and sends it as one token event', async () => {
    const { profile } = writer();
    const model = scriptedModel([{ content: 'good draft' }, { content: ' ok. ' }]);
    const events: AgentEvent[] = [];
    const result = await runAgent(model, profile, { input: 'x', stream: true, onEvent: (event) => void events.push(event) });

    expect(model.calls).toHaveLength(2);
    expect(tokens(events)).toEqual(['good draft']);
    expect(result).toMatchObject({ output: 'good draft', finishReason: 'stop', turns: 2 });
  });

  it('does not critique when no revision could follow, and says max_turns', async () => {
    const { profile } = writer({ maxTurns: 3 });
    const model = scriptedModel([{ content: 'draft' }, { content: 'wrong' }, { content: 'revised' }]);
    const result = await runAgent(model, profile, { input: 'x' });
    expect(result).toMatchObject({ output: 'revised', finishReason: 'max_turns', turns: 3 });

    const short = scriptedModel([{ content: 'draft' }]);
    const first = await runAgent(short, writer({ maxTurns: 2 }).profile, { input: 'x' });
    expect(first).toMatchObject({ output: 'draft', finishReason: 'max_turns', turns: 1 });
  });

  it('stops at the token budget with the last answer', async () => {
    const { profile } = writer({ tokenBudget: 15 });
    const model = scriptedModel([{ content: 'draft' }, { content: 'wrong' }]);
    const result = await runAgent(model, profile, { input: 'x' });

    expect(model.calls.map((call) => call.maxTokens)).toEqual([15, 5]);
    expect(result).toMatchObject({ output: 'draft', finishReason: 'token_budget', turns: 2, usage: { totalTokens: 20 } });
  });

  it('stops at once when the caller cancels during the critique', async () => {
    const { profile } = writer();
    const controller = new AbortController();
    const model = scriptedModel((_call, index) => {
      if (index === 0) return { content: 'draft' };
      queueMicrotask(() => controller.abort(new Error('client went away')));
      return { hold: new Promise<void>(() => undefined) };
    });
    await expect(runAgent(model, profile, { input: 'x', signal: controller.signal })).rejects.toThrow('client went away');
    expect(model.calls).toHaveLength(2);
  });

  it('runs end to end on the mock provider: draft, two critiques, two revisions', async () => {
    const { profile } = writer({ models: ['mock/echo'], tools: [] });
    const events: AgentEvent[] = [];
    const result = await runAgent(mockProviderModel(), profile, {
      input: 'hello',
      stream: true,
      onEvent: (event) => void events.push(event),
    });

    expect(result.turns).toBe(5);
    // The echo model never says OK; the last revision echoes the second critique's request.
    expect(result.output).toBe(
      `Echo: ${revisionRequest('Echo: Task:\nhello\n\nAnswer:\n' + `Echo: ${revisionRequest('Echo: Task:\nhello\n\nAnswer:\nEcho: hello')}`)}`,
    );
    expect(tokens(events).join('')).toBe(result.output);
    expect(result.finishReason).toBe('stop');
  });
});

describe('accepts', () => {
  it('takes OK alone or an empty reply as acceptance, anything else as problems', () => {
    expect(['OK', 'ok.', ' Ok! ', '']).toEqual(['OK', 'ok.', ' Ok! ', ''].filter(accepts));
    expect(['OK, but short', 'Not OK', 'okay'].filter(accepts)).toEqual([]);
  });
});
