import 'reflect-metadata';
import { Global, Module } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { pino } from 'pino';
import { register, type Counter } from 'prom-client';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { ClientClosedError, NotFoundError } from '../common/errors/domain-errors.js';
import { toErrorResponse } from '../common/errors/error-table.js';
import { LoggingModule } from '../common/logging/logging.module.js';
import { ConfigModule } from '../config/config.module.js';
import { loadConfig } from '../config/configuration.js';
import { loadDefinitions, memorySourceHost } from '../definitions/index.js';
import { GovernanceModule } from '../governance/governance.module.js';
import { DataSource } from 'typeorm';
import type { ModelCaller } from '../engine/agent-loop.js';
import type { CallOrigin } from '../governance/governance-events.repository.js';
import { METRIC } from '../metrics/metric-names.js';
import { MetricsModule } from '../metrics/metrics.module.js';
import type { ResilientCall } from '../providers/resilient-model.js';
import type { AgentCall } from './agent-call.js';
import { AgentRunner } from './agent-runner.js';
import { ModelGateway } from './model-gateway.js';
import { RuntimeModule } from './runtime.module.js';

const DEFINITIONS = `
package "runner-spec" version "1.0.0" lang "2.0"

prompt "greeter-system" {
  content "You greet {{customer}} from {{company}}.{{extra}}"
  variables {
    customer string required
    company string default "Acme"
    extra string
  }
}

prompt "plain" {
  content "Be brief."
}

skill "lookup" {
  description "Looks things up"
  input { query string required }
  tool command { binary "cat" timeout "5s" }
}

agent "greeter" {
  uses prompt "greeter-system"
  model "mock/echo"
}

agent "researcher" {
  uses prompt "plain"
  uses skill "lookup"
  model "mock/echo"
  max_turns 3
}

agent "slow" {
  uses prompt "plain"
  model "mock/echo?latency=5s"
}

agent "refused" {
  uses prompt "plain"
  model "mock/echo?fail=401"
}
`;

/**
 * These agents have no budget and no guardrail, so governance never reads or writes the database
 * here (test/e2e/governance.spec.ts runs it on PostgreSQL); any use of it fails the test.
 */
@Global()
@Module({
  providers: [
    {
      provide: DataSource,
      useValue: {
        query: () => Promise.reject(new Error('the runner touched the database for an agent without budget or guardrails')),
      },
    },
  ],
  exports: [DataSource],
})
class NoDatabaseModule {}

const call = (input: string, extra: Partial<AgentCall> = {}): AgentCall => ({ input, variables: {}, ...extra });
/** Who called: every run names its request. */
const ORIGIN = { endpoint: 'invoke', principal: 'key:spec', correlationId: 'runner-spec' } as const;

/** Tokens counted so far for an agent and type (the registry is process-wide: compare deltas). */
async function tokensCounted(agent: string, type: 'input' | 'output'): Promise<number> {
  const counter = register.getSingleMetric(METRIC.tokens) as Counter<string> | undefined;
  const values = (await counter?.get())?.values ?? [];
  return values.find((value) => value.labels.agent === agent && value.labels.type === type)?.value ?? 0;
}

describe('AgentRunner', () => {
  let module: TestingModule;
  let runner: AgentRunner;
  let modelCalls: { agent: string; call: ResilientCall }[];

  beforeAll(async () => {
    const path = '/virtual/runner-spec.ias';
    const loaded = await loadDefinitions(path, { host: memorySourceHost({ [path]: DEFINITIONS }) });
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.diagnostics));
    const config = loadConfig({ AGENTSPEC_COMMAND_ALLOWLIST: 'cat', LOG_LEVEL: 'silent' });
    module = await Test.createTestingModule({
      imports: [
        ConfigModule.forRoot(config),
        LoggingModule.forRoot(pino({ level: 'silent' })),
        MetricsModule.forRoot(),
        NoDatabaseModule,
        RuntimeModule.forRoot(loaded.definitions),
        GovernanceModule,
      ],
    }).compile();
    await module.init();
    runner = module.get(AgentRunner);

    // The real gateway and mock provider answer; this only records what the model was sent.
    const gateway = module.get(ModelGateway);
    const forAgent = gateway.forAgent.bind(gateway);
    vi.spyOn(gateway, 'forAgent').mockImplementation((agent: string, origin: CallOrigin): ModelCaller => {
      const real = forAgent(agent, origin);
      return {
        chat: (request) => (modelCalls.push({ agent, call: request }), real.chat(request)),
        stream: (request) => (modelCalls.push({ agent, call: request }), real.stream(request)),
      };
    });
  });
  afterAll(() => module?.close());
  beforeEach(() => {
    modelCalls = [];
  });

  describe('prepare', () => {
    it('refuses an unknown agent with NotFoundError (404)', () => {
      const attempt = () => runner.prepare('ghost', call('hi'));

      expect(attempt).toThrow(NotFoundError);
      expect(attempt).toThrow("Agent 'ghost' does not exist.");
      expect(modelCalls).toEqual([]);
    });

    it('refuses a missing required prompt variable with code invalid_request (400)', () => {
      let thrown: unknown;
      try {
        runner.prepare('greeter', call('hi'));
      } catch (error) {
        thrown = error;
      }

      expect(thrown).toMatchObject({ code: 'invalid_request', message: expect.stringContaining('"customer"') });
      expect(toErrorResponse(thrown).status).toBe(400);
    });

    it('renders the system prompt once, with given values, defaults and empty optionals', () => {
      const prepared = runner.prepare('greeter', call('hi', { variables: { customer: 'Ada' } }));

      expect(prepared.systemPrompt).toBe('You greet Ada from Acme.');
      expect(prepared.agent.name).toBe('greeter');
      expect(prepared.profile.models).toEqual(['mock/echo']);
      expect(prepared.call).toEqual(call('hi', { variables: { customer: 'Ada' } }));
    });

    it('lets a given value replace a default', () => {
      const prepared = runner.prepare('greeter', call('hi', { variables: { customer: 'Ada', company: 'Initech', extra: ' Be kind.' } }));

      expect(prepared.systemPrompt).toBe('You greet Ada from Initech. Be kind.');
    });
  });

  describe('run', () => {
    it('sends the rendered prompt and the input, and answers in camelCase', async () => {
      const prepared = runner.prepare(
        'greeter',
        call('Hello big world', { variables: { customer: 'Ada' }, temperature: 0.3, maxTokens: 50 }),
      );

      const result = await runner.run(prepared, { origin: ORIGIN });

      expect(modelCalls).toHaveLength(1);
      expect(modelCalls[0].agent).toBe('greeter');
      expect(modelCalls[0].call).toMatchObject({
        models: ['mock/echo'],
        messages: [
          { role: 'system', content: 'You greet Ada from Acme.' },
          { role: 'user', content: 'Hello big world' },
        ],
        temperature: 0.3,
        maxTokens: 50,
      });
      // The mock counts words: 5 of system prompt + 3 of input in, "Echo: Hello big world" out.
      expect(result).toEqual({
        output: 'Echo: Hello big world',
        usage: { inputTokens: 8, outputTokens: 4, totalTokens: 12 },
        toolCalls: [],
        turns: 1,
        finishReason: 'stop',
        durationMs: expect.any(Number),
        guardrails: [],
        storedInput: 'Hello big world',
        warnings: [],
      });
      expect(result.durationMs).toBeGreaterThanOrEqual(0);
    });

    it('uses the prompt rendered in prepare rather than rendering it again', async () => {
      const prepared = runner.prepare('greeter', call('hi', { variables: { customer: 'Ada' } }));

      await runner.run(
        { ...prepared, systemPrompt: 'Rendered elsewhere.', call: { ...prepared.call, variables: { customer: 'Bo' } } },
        { origin: ORIGIN },
      );

      expect(modelCalls[0].call.messages[0]).toEqual({ role: 'system', content: 'Rendered elsewhere.' });
    });

    it('puts the history between the system prompt and the input', async () => {
      const prepared = runner.prepare('greeter', call('third', { variables: { customer: 'Ada' } }));

      await runner.run(prepared, {
        origin: ORIGIN,
        history: [
          { role: 'user', content: 'first' },
          { role: 'assistant', content: 'Echo: first' },
        ],
      });

      expect(modelCalls[0].call.messages.map((message) => [message.role, message.content])).toEqual([
        ['system', 'You greet Ada from Acme.'],
        ['user', 'first'],
        ['assistant', 'Echo: first'],
        ['user', 'third'],
      ]);
    });

    it('records tool calls with camelCase fields', async () => {
      const result = await runner.run(runner.prepare('researcher', call('please lookup cats')), { origin: ORIGIN });

      expect(result.toolCalls).toEqual([
        {
          name: 'lookup',
          arguments: { query: 'please lookup cats' },
          output: '{"query":"please lookup cats"}',
          durationMs: expect.any(Number),
        },
      ]);
      expect(result).toMatchObject({ output: 'Tool lookup returned: {"query":"please lookup cats"}', turns: 2, finishReason: 'stop' });
      expect(result).not.toHaveProperty('tool_calls');
      expect(result).not.toHaveProperty('finish_reason');
    });

    it('counts the tokens of a run in the metrics, under the agent', async () => {
      const before = { input: await tokensCounted('greeter', 'input'), output: await tokensCounted('greeter', 'output') };

      await runner.run(runner.prepare('greeter', call('Hello big world', { variables: { customer: 'Ada' } })), { origin: ORIGIN });

      expect(await tokensCounted('greeter', 'input')).toBe(before.input + 8);
      expect(await tokensCounted('greeter', 'output')).toBe(before.output + 4);
    });

    it('ends a run whose caller went away in ClientClosedError, counting no tokens', async () => {
      const before = await tokensCounted('slow', 'input');
      const controller = new AbortController();
      const started = performance.now();

      const run = runner.run(runner.prepare('slow', call('hi')), { origin: ORIGIN, signal: controller.signal });
      setTimeout(() => controller.abort(new Error('client disconnected')), 20);

      await expect(run).rejects.toBeInstanceOf(ClientClosedError);
      expect(performance.now() - started).toBeLessThan(4_000);
      expect(await tokensCounted('slow', 'input')).toBe(before);
    });

    it('ends a run given an already aborted signal in ClientClosedError', async () => {
      const controller = new AbortController();
      controller.abort(new Error('client disconnected'));

      await expect(runner.run(runner.prepare('slow', call('hi')), { origin: ORIGIN, signal: controller.signal })).rejects.toBeInstanceOf(
        ClientClosedError,
      );
    });

    it('lets a provider failure out with its own code when nobody aborted', async () => {
      const failure = runner.run(runner.prepare('refused', call('hi')), { origin: ORIGIN });

      await expect(failure).rejects.not.toBeInstanceOf(ClientClosedError);
      await expect(failure).rejects.toMatchObject({ code: 'provider_error', message: expect.stringContaining('mock/echo?fail=401') });
    });

    it('replaces NUL characters in what it returns', async () => {
      const result = await runner.run(runner.prepare('greeter', call('a\u0000b', { variables: { customer: 'Ada' } })), { origin: ORIGIN });

      expect(result.output).toBe('Echo: a\uFFFDb');
    });
  });
});
