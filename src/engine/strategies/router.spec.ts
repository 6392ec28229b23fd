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
import { ROUTE_INSTRUCTION, ROUTED_ANSWER_INSTRUCTION } from './router.js';

const HISTORY = [
  { role: 'user' as const, content: 'hi' },
  { role: 'assistant' as const, content: 'hello' },
];

function router(overrides: Parameters<typeof agentProfile>[0] = {}) {
  const billing = scriptedTool('billing', (args) => `refund ${String(args.query)} issued`);
  const tech = scriptedTool('tech');
  return { billing, tech, profile: agentProfile({ strategy: 'router', tools: [billing.entry, tech.entry], ...overrides }) };
}

describe('router', () => {
  it('picks one skill with the tools offered, runs only it, and streams the answer from its result', async () => {
    const { billing, tech, profile } = router();
    const model = scriptedModel([
      { content: 'routing', toolCalls: [toolCall('billing', { query: 'order 7' }), toolCall('tech', { query: 'x' })] },
      { content: 'Your refund is on its way.' },
    ]);
    const events: AgentEvent[] = [];
    const result = await runAgent(model, profile, {
      systemPrompt: 'You triage.',
      input: 'Refund order 7',
      history: HISTORY,
      stream: true,
      onEvent: (event) => void events.push(event),
    });

    const [route, answer] = model.calls;
    expect(route).toMatchObject({ tools: ['billing', 'tech'], stream: false });
    expect(route.messages).toEqual([
      { role: 'system', content: 'You triage.' },
      { role: 'system', content: ROUTE_INSTRUCTION },
      ...HISTORY,
      { role: 'user', content: 'Refund order 7' },
    ]);
    expect(answer).toMatchObject({ tools: undefined, stream: true });
    expect(systemTexts(answer)).toEqual(['You triage.', ROUTED_ANSWER_INSTRUCTION]);
    expect(answer.messages.slice(2, 4)).toEqual(HISTORY);
    expect(userText(answer)).toBe(
      'Request:\nRefund order 7\n\nThe tool billing was called with {"query":"order 7"} and returned:\nrefund order 7 issued',
    );
    expect(billing.calls).toEqual([{ query: 'order 7' }]);
    expect(tech.calls).toEqual([]);
    expect(events.map((event) => (event.type === 'token' ? event.content : event.type))).toEqual([
      'tool_call',
      'tool_result',
      'Your ',
      'refund ',
      'is ',
      'on ',
      'its ',
      'way.',
    ]);
    expect(result).toMatchObject({ output: 'Your refund is on its way.', finishReason: 'stop', turns: 2, usage: { totalTokens: 20 } });
    expect(result.toolCalls.map((call) => call.name)).toEqual(['billing']);
  });

  it('takes the text of a model that calls no tool as the answer, sent as one token event', async () => {
    const { profile } = router();
    const model = scriptedModel([{ content: 'I can answer that myself.' }]);
    const events: AgentEvent[] = [];
    const result = await runAgent(model, profile, { input: 'q', stream: true, onEvent: (event) => void events.push(event) });

    expect(events).toEqual([{ type: 'token', content: 'I can answer that myself.' }]);
    expect(result).toMatchObject({ output: 'I can answer that myself.', finishReason: 'stop', turns: 1 });
  });

  it("answers with the tool's result when max_turns or the token budget leave no answer call", async () => {
    const limited = scriptedModel([{ toolCalls: [toolCall('billing', { query: 'order 7' })] }]);
    const byTurns = await runAgent(limited, router({ maxTurns: 1 }).profile, { input: 'q' });
    expect(byTurns).toMatchObject({ output: 'refund order 7 issued', finishReason: 'max_turns', turns: 1 });

    const spent = scriptedModel([{ toolCalls: [toolCall('billing', { query: 'order 7' })] }]);
    const byBudget = await runAgent(spent, router({ tokenBudget: 10 }).profile, { input: 'q' });
    expect(byBudget).toMatchObject({ output: 'refund order 7 issued', finishReason: 'token_budget', turns: 1 });
  });

  it('answers in one streamed call when the agent has no skills', async () => {
    const model = scriptedModel([{ content: 'plain answer' }]);
    const events: AgentEvent[] = [];
    const result = await runAgent(model, agentProfile({ strategy: 'router' }), {
      input: 'q',
      stream: true,
      onEvent: (event) => void events.push(event),
    });
    expect(model.calls.map((call) => [call.tools, call.stream, systemTexts(call)])).toEqual([[undefined, true, []]]);
    expect(events).toEqual([
      { type: 'token', content: 'plain ' },
      { type: 'token', content: 'answer' },
    ]);
    expect(result).toMatchObject({ output: 'plain answer', turns: 1 });
  });

  it('stops at once when the caller cancels during the routing call, running no tool', async () => {
    const { billing, profile } = router();
    const controller = new AbortController();
    const model = scriptedModel(() => {
      queueMicrotask(() => controller.abort(new Error('client went away')));
      return { hold: new Promise<void>(() => undefined) };
    });
    await expect(runAgent(model, profile, { input: 'q', signal: controller.signal })).rejects.toThrow('client went away');
    expect(model.calls).toHaveLength(1);
    expect(billing.calls).toEqual([]);
  });

  it('runs end to end on the mock provider: the input names the skill, the answer echoes its result', async () => {
    const { billing, profile } = router({ models: ['mock/echo'] });
    const events: AgentEvent[] = [];
    const result = await runAgent(mockProviderModel(), profile, {
      input: 'please ask billing',
      stream: true,
      onEvent: (event) => void events.push(event),
    });

    expect(billing.calls).toEqual([{ query: 'please ask billing' }]);
    expect(result.output).toBe(
      'Echo: Request:\nplease ask billing\n\nThe tool billing was called with {"query":"please ask billing"} and returned:\n' +
        'refund please ask billing issued',
    );
    expect(events.slice(0, 2).map((event) => event.type)).toEqual(['tool_call', 'tool_result']);
    expect(tokens(events)).toBe(result.output);
    expect(result).toMatchObject({ turns: 2, finishReason: 'stop' });
  });
});

function tokens(events: AgentEvent[]): string {
  return events.flatMap((event) => (event.type === 'token' ? [event.content] : [])).join('');
}
