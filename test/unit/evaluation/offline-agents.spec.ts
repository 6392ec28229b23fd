import { resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runDefinitionsCli } from '../../../scripts/definitions-cli.js';
import { loadConfig } from '../../../src/config/configuration.js';
import { loadDefinitions, memorySourceHost, type Definitions } from '../../../src/definitions/index.js';
import { runEvalCases, selectEvalCases } from '../../../src/evaluation/eval-runner.js';
import { OfflineAgents } from '../../../src/evaluation/offline-agents.js';
import { resolveAgentConfig } from '../../../src/runtime/agent-config.js';
import { FakeOpenAIServer } from '../../support/fakes/fake-openai-server.js';

const EVAL_DIR = resolve(import.meta.dirname, '../../fixtures/eval');

async function definitionsOf(text: string): Promise<Definitions> {
  const loaded = await loadDefinitions('/defs/main.ias', { host: memorySourceHost({ '/defs/main.ias': text }) });
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.diagnostics));
  return loaded.definitions;
}

function offline(definitions: Definitions, env: Record<string, string> = {}): OfflineAgents {
  const config = resolveAgentConfig(definitions, env);
  if (!config.ok) throw new Error(config.problems.join('\n'));
  return OfflineAgents.build(definitions, loadConfig({}), config.agents);
}

const HEADER = 'package "t" version "1.0.0" lang "2.0"\n';

describe('OfflineAgents', () => {
  it('renders the prompt with the config values and answers as the server would', async () => {
    const agents = offline(
      await definitionsOf(`${HEADER}
        prompt "p" { content "Speak like {{config.persona}}." }
        agent "a" { uses prompt "p" model "mock/echo" config { persona string required } }`),
      { AGENTSPEC_CONFIG_A_PERSONA: 'a pirate' },
    );
    const result = await agents.run('a', 'Hello big world');
    expect(result.output).toBe('Echo: Hello big world');
    // "Speak like a pirate." (4 words) + the input (3) in, the answer (4) out: the prompt was sent rendered.
    expect(result.usage).toEqual({ inputTokens: 7, outputTokens: 4, totalTokens: 11 });
    await agents.close();
  });

  it("applies the agent's guardrails to the answer", async () => {
    const agents = offline(
      await definitionsOf(`${HEADER}
        prompt "p" { content "Hi." }
        guardrail "no-echo" { mode "block" patterns ["^Echo: secret"] fallback "Withheld." }
        agent "a" { uses prompt "p" model "mock/echo" uses guardrail "no-echo" }`),
    );
    expect(await agents.run('a', 'secret plans')).toMatchObject({
      output: 'Withheld.',
      finishReason: 'content_filter',
      blockedBy: { guardrail: 'no-echo', side: 'output' },
    });
    expect((await agents.run('a', 'public plans')).output).toBe('Echo: public plans');
  });

  it('makes a case whose prompt lacks a required variable a failed case with the reason', async () => {
    const definitions = await definitionsOf(`${HEADER}
      prompt "p" { content "Hi {{name}}." variables { name string required } }
      agent "a" { uses prompt "p" model "mock/echo" eval { case c input "x" expect "Echo: x" scoring exact } }`);
    const selected = selectEvalCases(definitions, {});
    if (!selected.ok) throw new Error(selected.problem);
    const [result] = await runEvalCases(selected.cases, offline(definitions));
    expect(result).toMatchObject({ score: 0, passed: false, error: expect.stringMatching(/^Missing required prompt variable: "name"/) });
  });
});

describe('eval against an OpenAI-compatible server', () => {
  let fake: FakeOpenAIServer | undefined;
  afterEach(async () => {
    await fake?.close();
    fake = undefined;
  });

  it('calls the provider configured by OPENAI_BASE_URL and OPENAI_API_KEY', async () => {
    fake = await new FakeOpenAIServer().start();
    fake.enqueue(
      { type: 'text', text: 'We offer a 30-Day Money-Back Guarantee.', usage: { input: 20, output: 9 } },
      { type: 'text', text: 'Goodbye!' },
    );
    let out = '';
    const code = await runDefinitionsCli(['eval', 'openai.ias'], {
      out: (t) => (out += t),
      err: () => {},
      cwd: EVAL_DIR,
      variables: { OPENAI_BASE_URL: fake.baseUrl, OPENAI_API_KEY: 'sk-test' },
    });
    expect(code).toBe(1);
    expect(out).toMatch(/^refund +support +contains +1\.000 +1 +yes +\d+ +29\n/m);
    expect(out).toMatch(/^tone +support +regex +0\.000 +1 +no +\d+ +15 +expected "\(\?i\)\^hello\\\\b", got "Goodbye!"$/m);
    expect(out.endsWith('FAILED: 1 of 2 eval cases passed, 1 failed\n')).toBe(true);
    expect(fake.requests).toHaveLength(2);
    expect(fake.requests[0].headers.authorization).toBe('Bearer sk-test');
    expect(fake.requests[0].body).toMatchObject({
      model: 'gpt-4o-mini',
      messages: [
        { role: 'system', content: 'You answer Acme customers.' },
        { role: 'user', content: 'Can I get a refund?' },
      ],
    });
  });
});
