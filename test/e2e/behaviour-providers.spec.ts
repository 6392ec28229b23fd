import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/database.js';
import { FakeOpenAIServer } from '../support/fakes/fake-openai-server.js';
import { post } from '../support/http.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

/** The user-visible text of each request the fake received: its last message. */
function lastMessages(fake: FakeOpenAIServer): string[] {
  return fake.requests.map((request) => {
    const messages = request.body?.messages as { role: string; content: unknown }[];
    return `${messages.at(-1)!.role}: ${String(messages.at(-1)!.content)}`;
  });
}

describe('strategies, validate and delegation against an OpenAI-compatible server', () => {
  let openai: FakeOpenAIServer;
  let app: TestApp;

  beforeAll(async () => {
    openai = await new FakeOpenAIServer().start();
    app = await startTestApp({
      databaseUrl: await createTestDatabase(),
      env: {
        AGENTSPEC_DEFINITIONS: 'test/fixtures/e2e-behaviour-providers',
        OPENAI_BASE_URL: openai.baseUrl,
        OPENAI_API_KEY: 'sk-test-openai-key-0000',
        AGENTSPEC_COMMAND_ALLOWLIST: 'cat',
      },
    });
  });
  beforeEach(() => openai.reset());
  afterAll(async () => {
    await app?.close();
    await openai?.close();
  });

  it('plan-and-execute: a plan, one call per step, an answer from the step results', async () => {
    openai.enqueue(
      { type: 'text', text: '1. Boil water\n2. Steep the tea' },
      { type: 'text', text: 'Water boiled.' },
      { type: 'text', text: 'Tea steeped.' },
      { type: 'text', text: 'Your tea is ready.' },
    );
    const body = await (await post(app, '/v1/agents/planner/invoke', { input: 'Make tea' })).json();

    expect(body).toMatchObject({ output: 'Your tea is ready.', turns: 4 });
    const sent = lastMessages(openai);
    expect(sent[1]).toContain('Step 1: Boil water');
    expect(sent[2]).toContain('Step 2: Steep the tea');
    expect(sent[2]).toContain('Water boiled.');
    expect(sent[3]).toContain('Tea steeped.');
    expect(openai.requests[3].body?.tools).toBeUndefined();
  });

  it('router: one call picks a skill, the skill runs, one call answers from its result', async () => {
    openai.enqueue(
      { type: 'tool_calls', calls: [{ id: 'call_1', name: 'clock', arguments: { zone: 'UTC' } }] },
      { type: 'text', text: 'It is noon in UTC.' },
    );
    const body = await (await post(app, '/v1/agents/routed/invoke', { input: 'What time is it?' })).json();

    expect(body).toMatchObject({ output: 'It is noon in UTC.', turns: 2 });
    // `cat` answers with the arguments it got on stdin.
    expect(body.tool_calls).toEqual([expect.objectContaining({ name: 'clock', arguments: { zone: 'UTC' }, output: '{"zone":"UTC"}' })]);
    expect(openai.requests[0].body?.tools).toHaveLength(1);
    expect(openai.requests[1].body?.tools).toBeUndefined();
    expect(lastMessages(openai)[1]).toContain('{"zone":"UTC"}');
  });

  it('reflexion: a draft, a critique, a revision, a critique that accepts it', async () => {
    openai.enqueue(
      { type: 'text', text: 'Paris is in Italy.' },
      { type: 'text', text: 'Wrong country.' },
      { type: 'text', text: 'Paris is in France.' },
      { type: 'text', text: 'OK' },
    );
    const body = await (await post(app, '/v1/agents/reflective/invoke', { input: 'Where is Paris?' })).json();

    expect(body).toMatchObject({ output: 'Paris is in France.', turns: 4 });
    expect(openai.requests).toHaveLength(4);
    expect(openai.requests[2].body?.messages).toEqual(
      expect.arrayContaining([expect.objectContaining({ role: 'assistant', content: 'Paris is in Italy.' })]),
    );
  });

  it('map-reduce: one map call per paragraph, then one reduce call', async () => {
    openai.enqueue({ type: 'text', text: 'summary one' }, { type: 'text', text: 'summary two' }, { type: 'text', text: 'both summed up' });
    const body = await (await post(app, '/v1/agents/mapper/invoke', { input: 'First part.\n\nSecond part.' })).json();

    expect(body).toMatchObject({ output: 'both summed up', turns: 3 });
    const sent = lastMessages(openai);
    expect(sent.slice(0, 2).sort()).toEqual([expect.stringContaining('First part.'), expect.stringContaining('Second part.')].sort());
    expect(sent[2]).toContain('summary one');
    expect(sent[2]).toContain('summary two');
  });

  it('validate: a broken error rule re-prompts the model with the rule, then the answer passes', async () => {
    openai.enqueue({ type: 'text', text: 'The sky is blue.' }, { type: 'text', text: 'The sky is blue [physics book].' });
    const response = await post(app, '/v1/agents/checked/invoke', { input: 'Why is the sky blue?' });

    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ output: 'The sky is blue [physics book].', turns: 2 });
    expect(lastMessages(openai)[1]).toContain('- Cite a source in [brackets].');
  });

  it('validate: 422 validation_failed once every re-prompt broke the rule again', async () => {
    for (let i = 0; i < 4; i++) openai.enqueue({ type: 'text', text: 'No source here.' });
    const response = await post(app, '/v1/agents/checked/invoke', { input: 'Why is the sky blue?' });

    expect(response.status).toBe(422);
    expect((await response.json()).error).toMatchObject({ code: 'validation_failed', details: [{ field: 'cites', message: 'Cite a source in [brackets].' }] });
    expect(openai.requests).toHaveLength(4);
  });

  it('delegation: the model calls delegate_to_specialist, the specialist runs, the model answers with its result', async () => {
    openai.enqueue(
      { type: 'tool_calls', calls: [{ id: 'call_1', name: 'delegate_to_specialist', arguments: { request: 'explain tides' } }] },
      { type: 'text', text: 'The moon pulls the sea.' },
      { type: 'text', text: 'A specialist says: the moon pulls the sea.' },
    );
    const body = await (await post(app, '/v1/agents/desk/invoke', { input: 'Why are there tides?' })).json();

    expect(body.output).toBe('A specialist says: the moon pulls the sea.');
    expect(body.tool_calls).toEqual([expect.objectContaining({ name: 'delegate_to_specialist', output: 'The moon pulls the sea.' })]);
    const tools = (openai.requests[0].body?.tools as { function: { name: string; description: string } }[]).map((tool) => tool.function);
    expect(tools).toEqual([expect.objectContaining({ name: 'delegate_to_specialist', description: expect.stringContaining('the question needs a specialist') })]);
    // The specialist got the request on its own, under its own prompt.
    expect(openai.requests[1].body?.messages).toEqual([
      { role: 'system', content: 'Be helpful.' },
      { role: 'user', content: 'explain tides' },
    ]);
  });
});
