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
import { ANSWER_INSTRUCTION, parsePlan, PLAN_INSTRUCTION, STEP_INSTRUCTION } from './plan-and-execute.js';

const HISTORY = [
  { role: 'user' as const, content: 'earlier question' },
  { role: 'assistant' as const, content: 'earlier answer' },
];

function planner(overrides: Parameters<typeof agentProfile>[0] = {}) {
  const lookup = scriptedTool('lookup', () => '3 cats');
  return { lookup, profile: agentProfile({ strategy: 'plan-and-execute', tools: [lookup.entry], ...overrides }) };
}

describe('plan-and-execute', () => {
  it('plans without tools, runs each step as a react loop, and streams only the answer call', async () => {
    const { lookup, profile } = planner();
    const model = scriptedModel([
      { content: '1. Find the cats\n2. Count them' },
      { toolCalls: [toolCall('lookup', { query: 'cats' })] },
      { content: 'Found 3 cats' },
      { content: 'There are 3' },
      { content: 'The answer is 3 cats' },
    ]);
    const events: AgentEvent[] = [];
    const result = await runAgent(model, profile, {
      systemPrompt: 'You plan.',
      input: 'How many cats?',
      history: HISTORY,
      stream: true,
      onEvent: (event) => void events.push(event),
    });

    const [plan, step1, step1Again, step2, answer] = model.calls;
    expect(model.calls.map((call) => [call.tools, call.stream])).toEqual([
      [undefined, false],
      [['lookup'], false],
      [['lookup'], false],
      [['lookup'], false],
      [undefined, true],
    ]);
    expect(plan.messages).toEqual([
      { role: 'system', content: 'You plan.' },
      { role: 'system', content: PLAN_INSTRUCTION },
      ...HISTORY,
      { role: 'user', content: 'How many cats?' },
    ]);
    expect(systemTexts(step1)).toEqual(['You plan.', STEP_INSTRUCTION]);
    expect(step1.messages.slice(2, 4)).toEqual(HISTORY);
    expect(userText(step1)).toBe(
      'Task:\nHow many cats?\n\nPlan:\n1. Find the cats\n2. Count them\n\nResults so far:\n(none yet)\n\nStep 1: Find the cats',
    );
    expect(step1Again.messages.at(-1)).toEqual({
      role: 'tool',
      toolCallId: 'call_lookup',
      name: 'lookup',
      content: '3 cats',
      isError: false,
    });
    expect(userText(step2)).toBe(
      'Task:\nHow many cats?\n\nPlan:\n1. Find the cats\n2. Count them\n\nResults so far:\n' +
        'Result of step 1 (Find the cats):\nFound 3 cats\n\nStep 2: Count them',
    );
    expect(systemTexts(answer)).toEqual(['You plan.', ANSWER_INSTRUCTION]);
    expect(userText(answer)).toBe(
      'Task:\nHow many cats?\n\nPlan:\n1. Find the cats\n2. Count them\n\nResults:\n' +
        'Result of step 1 (Find the cats):\nFound 3 cats\n\nResult of step 2 (Count them):\nThere are 3',
    );

    expect(lookup.calls).toEqual([{ query: 'cats' }]);
    expect(events).toEqual([
      { type: 'tool_call', name: 'lookup', arguments: { query: 'cats' } },
      { type: 'tool_result', name: 'lookup', output: '3 cats' },
      { type: 'token', content: 'The ' },
      { type: 'token', content: 'answer ' },
      { type: 'token', content: 'is ' },
      { type: 'token', content: '3 ' },
      { type: 'token', content: 'cats' },
    ]);
    expect(result).toMatchObject({
      output: 'The answer is 3 cats',
      finishReason: 'stop',
      turns: 5,
      usage: { inputTokens: 30, outputTokens: 20, totalTokens: 50 },
      toolCalls: [{ name: 'lookup', arguments: { query: 'cats' }, output: '3 cats' }],
    });
  });

  it('keeps one call for the answer and one per later step when turns run short', async () => {
    const { profile } = planner({ maxTurns: 3 });
    const model = scriptedModel([{ content: '1. a\n2. b\n3. c' }, { content: 'did a' }, { content: 'answer from a' }]);
    const result = await runAgent(model, profile, { input: 'task' });

    expect(model.calls.map(userText).map((text) => text.split('\n').at(-1))).toEqual(['task', 'Step 1: a', 'did a']);
    expect(userText(model.calls[2])).toContain('Result of step 1 (a):\ndid a');
    expect(result).toMatchObject({ output: 'answer from a', finishReason: 'max_turns', turns: 3 });
  });

  it('cuts a step that keeps calling tools at its share of the turns', async () => {
    const { profile } = planner({ maxTurns: 4 });
    const model = scriptedModel([
      { content: '1. dig' },
      { content: 'digging', toolCalls: [toolCall('lookup', {}, 'c1')] },
      { toolCalls: [toolCall('lookup', {}, 'c2')] },
      { content: 'the answer' },
    ]);
    const result = await runAgent(model, profile, { input: 'task' });

    expect(model.calls.map((call) => call.tools)).toEqual([undefined, ['lookup'], ['lookup'], undefined]);
    expect(userText(model.calls[3])).toContain('Result of step 1 (dig):\ndigging');
    expect(result).toMatchObject({ output: 'the answer', finishReason: 'max_turns', turns: 4 });
    expect(result.toolCalls).toHaveLength(2);
  });

  it('answers with the plan when max_turns allows only the planning call', async () => {
    const { profile } = planner({ maxTurns: 1 });
    const model = scriptedModel([{ content: '1. a\n2. b' }]);
    const events: AgentEvent[] = [];
    const result = await runAgent(model, profile, { input: 'task', stream: true, onEvent: (event) => void events.push(event) });

    expect(result).toMatchObject({ output: '1. a\n2. b', finishReason: 'max_turns', turns: 1 });
    expect(events).toEqual([{ type: 'token', content: '1. a\n2. b' }]);
  });

  it('stops at the token budget with the step results so far, each call capped at what is left', async () => {
    const { profile } = planner({ tokenBudget: 25 });
    const model = scriptedModel([{ content: '1. a\n2. b\n3. c' }, { content: 'did a' }, { content: 'did b' }]);
    const result = await runAgent(model, profile, { input: 'task', maxTokens: 8 });

    expect(model.calls.map((call) => call.maxTokens)).toEqual([8, 8, 5]);
    expect(result).toMatchObject({ output: 'did a\n\ndid b', finishReason: 'token_budget', turns: 3, usage: { totalTokens: 30 } });
  });

  it('stops at once when the caller cancels during a step', async () => {
    const { lookup, profile } = planner();
    const controller = new AbortController();
    let started!: () => void;
    const stepStarted = new Promise<void>((resolve) => (started = resolve));
    const model = scriptedModel((_call, index) => {
      if (index === 0) return { content: '1. a\n2. b' };
      started();
      return { hold: new Promise<void>(() => undefined) };
    });
    const run = runAgent(model, profile, { input: 'task', signal: controller.signal });
    await stepStarted;
    controller.abort(new Error('client went away'));

    await expect(run).rejects.toThrow('client went away');
    expect(model.calls).toHaveLength(2);
    expect(lookup.calls).toEqual([]);
  });

  it('runs end to end on the mock provider, the step calling the tool the input names', async () => {
    const { lookup, profile } = planner({ models: ['mock/echo'] });
    const events: AgentEvent[] = [];
    const result = await runAgent(mockProviderModel(), profile, {
      input: 'count cats with lookup',
      stream: true,
      onEvent: (event) => void events.push(event),
    });

    // plan (echo: one unnumbered step), the step's tool call and its report, the answer.
    expect(result.turns).toBe(4);
    expect(lookup.calls).toHaveLength(1);
    expect(result.toolCalls.map((call) => call.name)).toEqual(['lookup']);
    expect(result.output.startsWith('Echo: Task:\ncount cats with lookup\n\nPlan:\n1. Echo: count cats with lookup')).toBe(true);
    expect(result.output).toContain('Result of step 1 (Echo: count cats with lookup):\nTool lookup returned: 3 cats');
    const streamed = events.flatMap((event) => (event.type === 'token' ? [event.content] : []));
    expect(streamed.join('')).toBe(result.output);
    expect(events.slice(0, 2).map((event) => event.type)).toEqual(['tool_call', 'tool_result']);
    expect(result.finishReason).toBe('stop');
  });
});

describe('parsePlan', () => {
  it('takes numbered lines, joining continuation lines, at most five', () => {
    expect(parsePlan('Plan:\n1. a\n   more of a\n2) b\n\nnote\n3. c\n4. d\n5. e\n6. f', 'task')).toEqual([
      'a more of a',
      'b',
      'c',
      'd',
      'e',
    ]);
  });

  it('falls back to bullets, then the whole text, then the task', () => {
    expect(parsePlan('- a\n* b', 'task')).toEqual(['a', 'b']);
    expect(parsePlan('  just do it  ', 'task')).toEqual(['just do it']);
    expect(parsePlan('  ', 'task')).toEqual(['task']);
  });
});
