import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDefinitions, memorySourceHost } from '../../src/definitions/index.js';
import { connect, createTestDatabase } from '../support/database.js';
import { post } from '../support/http.js';
import { readSse } from '../support/sse.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

const ENV = { AGENTSPEC_DEFINITIONS: 'test/fixtures/e2e-behaviour', AGENTSPEC_COMMAND_ALLOWLIST: 'echo' };

describe('agent behaviour written in definitions', () => {
  let databaseUrl: string;
  let app: TestApp;

  beforeAll(async () => {
    databaseUrl = await createTestDatabase();
    app = await startTestApp({ databaseUrl, env: ENV });
  });
  afterAll(() => app?.close());

  async function invoke(agent: string, input: string): Promise<{ status: number; body: Record<string, unknown>; correlationId: string }> {
    const response = await post(app, `/v1/agents/${agent}/invoke`, { input });
    return { status: response.status, body: await response.json(), correlationId: response.headers.get('x-correlation-id') ?? '' };
  }

  async function events(correlationId: string): Promise<Record<string, unknown>[]> {
    const client = await connect(databaseUrl);
    try {
      return (await client.query('SELECT kind, agent, name, action FROM governance_events WHERE correlation_id = $1 ORDER BY id', [correlationId])).rows;
    } finally {
      await client.end();
    }
  }

  describe('on input', () => {
    it('answers with respond, without a model call', async () => {
      const { status, body } = await invoke('front-desk', 'A BILLING question');
      expect(status).toBe(200);
      expect(body).toMatchObject({ output: 'Billing questions go to billing@example.com.', turns: 0, tool_calls: [] });
    });

    it('hands the call to another agent with delegate to, and says which agent answered', async () => {
      const { body, correlationId } = await invoke('front-desk', 'help me please');
      expect(await events(correlationId)).toEqual([{ kind: 'delegation', agent: 'front-desk', name: 'helper', action: 'delegate' }]);
      expect(body).toMatchObject({ output: 'Echo: help me please', answered_by: 'helper', turns: 1 });
      expect(body.tool_calls).toEqual([expect.objectContaining({ name: 'delegate_to_helper', arguments: { request: 'help me please' }, output: 'Echo: help me please' })]);
    });

    it("keeps what the delegate's guardrails withheld withheld, in the answer, the stream and the session", async () => {
      const { body } = await invoke('front-desk', 'a private secret');
      expect(body).toMatchObject({
        output: 'Not that.',
        answered_by: 'guarded-helper',
        finish_reason: 'content_filter',
        guardrails: [{ guardrail: 'no-secret', mode: 'block', side: 'input' }],
      });

      const streamed = await readSse(await post(app, '/v1/agents/front-desk/stream', { input: 'a private secret' }));
      expect(streamed.events.map((event) => event.type)).toEqual(['guardrail', 'done']);

      const session = (await (await post(app, '/v1/agents/front-desk/sessions', {})).json()).session_id as string;
      await post(app, `/v1/agents/front-desk/sessions/${session}/continue`, { input: 'a private secret' });
      const history = await (await fetch(`${app.url}/v1/agents/front-desk/sessions/${session}`)).json();
      expect(history.messages.map((m: { content: string }) => m.content)).toEqual(['[input withheld by guardrail "no-secret"]', 'Not that.']);
    });

    it('runs a skill with use skill and gives its result to the model', async () => {
      const { body } = await invoke('front-desk', 'status of the server');
      // The model gets "status of the server\n\nSkill ping returned: pong"; the mock model calls
      // every offered tool a user message names, so it runs ping once more before answering.
      expect(body.tool_calls).toEqual([
        expect.objectContaining({ name: 'ping', arguments: { query: 'status of the server' }, output: 'pong\n' }),
        expect.objectContaining({ name: 'ping', arguments: { query: 'status of the server\n\nSkill ping returned: pong\n' } }),
      ]);
      expect(body.output).toBe('Tool ping returned: pong\n');
    });

    it('lets the model answer when no branch decides', async () => {
      const { body } = await invoke('front-desk', 'good morning');
      expect(body).toMatchObject({ output: 'Echo: good morning', turns: 1 });
      expect(body).not.toHaveProperty('answered_by');
    });

    it('streams the skill events and the answer of a branch', async () => {
      const response = await post(app, '/v1/agents/front-desk/stream', { input: 'status now' });
      const { events: sent } = await readSse(response);
      expect(sent.map((event) => event.type).filter((type) => type !== 'token')).toEqual(['tool_call', 'tool_result', 'tool_call', 'tool_result', 'done']);
      const text = sent.filter((event) => event.type === 'token').map((event) => event.content).join('');
      expect(text).toBe('Tool ping returned: pong\n');
    });

    it('reads the session in session turns, and acts in pipeline steps', async () => {
      const session = (await (await post(app, '/v1/agents/front-desk/sessions', {})).json()).session_id as string;
      await post(app, `/v1/agents/front-desk/sessions/${session}/continue`, { input: 'hello' });
      const second = await (await post(app, `/v1/agents/front-desk/sessions/${session}/continue`, { input: 'who' })).json();
      expect(second).toMatchObject({ output: '2', turn: 2 });

      const run = await (await post(app, '/v1/pipelines/desk/run', { input: 'billing again' })).json();
      expect(run.steps[0].output).toBe('Billing questions go to billing@example.com.');
    });
  });

  describe('validate', () => {
    it('re-prompts on a broken error rule, then answers once the rule holds; the retry is audited', async () => {
      const { status, body, correlationId } = await invoke('strict', 'hello');
      expect(status).toBe(200);
      // The mock echoes the re-prompt, which names the rule's message ("Say OK …").
      expect(body.output).toContain('Say OK somewhere in the answer.');
      expect(body.turns).toBe(2);
      expect(await events(correlationId)).toEqual(
        expect.arrayContaining([{ kind: 'validation', agent: 'strict', name: 'says_ok', action: 'retry' }]),
      );
    });

    it('reports a broken warning rule in warnings and lets the answer pass', async () => {
      const { body } = await invoke('strict', 'OK');
      expect(body.output).toBe('Echo: OK');
      expect(body).not.toHaveProperty('warnings');
      const long = await invoke('strict', `OK ${'word '.repeat(20)}`);
      expect(long.body.warnings).toEqual([{ rule: 'short', message: 'Keep answers under 60 characters.' }]);
    });

    it('answers 422 validation_failed naming the rule once the re-prompts are used up', async () => {
      const { status, body, correlationId } = await invoke('impossible', 'hello');
      expect(status).toBe(422);
      expect(body).toEqual({
        error: {
          code: 'validation_failed',
          message: "Agent 'impossible' gave no valid answer in 2 attempts; it breaks 'zebra'.",
          details: [{ field: 'zebra', message: 'Mention the zebra.' }],
        },
      });
      expect((await events(correlationId)).map((row) => row.action)).toEqual(['retry', 'refuse']);
    });

    it('never streams a rejected answer', async () => {
      const response = await post(app, '/v1/agents/strict/stream', { input: 'hello there' });
      const { events: sent } = await readSse(response);
      const text = sent.filter((event) => event.type === 'token').map((event) => event.content).join('');
      expect(text).not.toContain('Echo: hello there');
      expect(text).toContain('Say OK');
      expect(sent.at(-1)).toMatchObject({ type: 'done' });
    });
  });

  describe('delegation', () => {
    it('offers delegates to the model as tools; the delegate answers through its own run', async () => {
      const { body } = await invoke('coordinator', 'ask delegate_to_helper about this');
      expect(body.tool_calls).toEqual([expect.objectContaining({ name: 'delegate_to_helper', output: 'Echo: ask delegate_to_helper about this' })]);
      expect(body.output).toBe('Tool delegate_to_helper returned: Echo: ask delegate_to_helper about this');
    });

    it('refuses delegation chains in a circle or deeper than 3 at load, with positions', async () => {
      const chain = (names: string[], back?: string): string =>
        [
          'package "p" version "1.0.0" lang "2.0"',
          'prompt "p" { content "x" }',
          ...names.map((name, i) => {
            const next = names[i + 1] ?? back;
            return `agent "${name}" {\n  uses prompt "p"\n  model "mock/echo"\n${next ? `  delegate to agent "${next}" when "always"\n` : ''}}`;
          }),
        ].join('\n');
      const load = async (text: string) => {
        const loaded = await loadDefinitions('/v/d.ias', { host: memorySourceHost({ '/v/d.ias': text }) });
        return loaded.ok ? [] : loaded.diagnostics.map((d) => `${d.line}:${d.column}: ${d.message}`);
      };
      expect(await load(chain(['a', 'b', 'c', 'd']))).toEqual([]);
      expect(await load(chain(['a', 'b', 'c', 'd', 'e']))).toEqual([
        '6:21: delegation from agent "a" goes 4 agents deep ("a" → "b" → "c" → "d" → "e"); at most 3 are allowed',
      ]);
      expect(await load(chain(['a', 'b'], 'a'))).toEqual(['11:21: agents delegate in a circle: "a" → "b" → "a"']);
      const needsVariable = chain(['a', 'b']).replace('prompt "p" { content "x" }', 'prompt "p" { content "x" }\nprompt "q" {\n  content "{{who}}"\n  variables {\n    who string required\n  }\n}').replace('agent "b" {\n  uses prompt "p"', 'agent "b" {\n  uses prompt "q"');
      expect(await load(needsVariable)).toEqual([
        '12:21: agent "b" cannot be delegated to: its prompt "q" needs "who", and a delegate gets no prompt variables',
      ]);
    });
  });

  describe('strategies', () => {
    it('runs plan-and-execute: a plan call, one call per step, an answer call', async () => {
      const { status, body } = await invoke('planner', 'tidy the shed');
      expect(status).toBe(200);
      expect(body.turns).toBeGreaterThanOrEqual(3);
      expect(typeof body.output).toBe('string');
    });
  });
});
