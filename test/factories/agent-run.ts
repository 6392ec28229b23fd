import type { Definitions } from '../../src/definitions/index.js';
import { loadDefinitions, memorySourceHost } from '../../src/definitions/index.js';
import type { Agent } from '../../src/definitions/index.js';
import type { AgentProfile, ToolCallRecord } from '../../src/engine/agent-loop.js';
import { GuardrailSet } from '../../src/governance/guardrails.js';
import type { AgentCall } from '../../src/runtime/agent-call.js';
import type { PreparedRun, RunResult } from '../../src/runtime/agent-runner.js';

/** A finished run as the runner returns it (camelCase), with plausible values and no guardrail matched. */
export function agentRunResult(overrides: Partial<RunResult> = {}): RunResult {
  return {
    guardrails: [],
    storedInput: 'hello',
    warnings: [],
    output: 'Echo: hello',
    usage: { inputTokens: 3, outputTokens: 2, totalTokens: 5 },
    toolCalls: [],
    turns: 1,
    finishReason: 'stop',
    durationMs: 12.5,
    ...overrides,
  };
}

export function toolCallRecord(overrides: Partial<ToolCallRecord> = {}): ToolCallRecord {
  return { name: 'lookup', arguments: { query: 'cats' }, output: '3 cats', durationMs: 4, ...overrides };
}

export function agentCall(overrides: Partial<AgentCall> = {}): AgentCall {
  return { input: 'hello', variables: {}, ...overrides };
}

/** A prepared run for an agent of that name; only what controllers and services read is real. */
export function preparedRun(name: string, call: AgentCall = agentCall(), systemPrompt = 'Be brief.'): PreparedRun {
  const agent: Agent = {
    name,
    prompt: 'p',
    skills: [],
    model: 'mock/echo',
    models: ['mock/echo'],
    delegates: [],
    guardrails: [],
    config: [],
    validate: [],
    eval: [],
    metadata: {},
  };
  const profile: AgentProfile = { name, models: ['mock/echo'], tools: [], maxTurns: 10 };
  return { agent, profile, guardrails: new GuardrailSet([]), behaviour: { rules: [] }, config: {}, call, systemPrompt };
}

/** Loads `.ias` text from memory, failing with the diagnostics when it is invalid. */
export async function definitionsFrom(text: string): Promise<Definitions> {
  const path = '/virtual/agents.ias';
  const loaded = await loadDefinitions(path, { host: memorySourceHost({ [path]: text }) });
  if (!loaded.ok) throw new Error(`test definitions are invalid:\n${JSON.stringify(loaded.diagnostics, null, 2)}`);
  return loaded.definitions;
}
