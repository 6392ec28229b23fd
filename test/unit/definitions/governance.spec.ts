import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runDefinitionsCli } from '../../../scripts/definitions-cli.js';
import { loadConfig } from '../../../src/config/configuration.js';
import { formatDiagnostics, loadDefinitions, memorySourceHost, type Definitions, type LoadResult } from '../../../src/definitions/index.js';

/** Environments, policies, condition calls and no-effect warnings (test/fixtures/definitions/governance). */
const DIR = resolve(import.meta.dirname, '../../fixtures/definitions/governance');

async function load(name: string, environment?: string): Promise<LoadResult> {
  return loadDefinitions(join(DIR, name), { cwd: DIR, environment });
}

function messages(result: LoadResult): string[] {
  return formatDiagnostics(result.ok ? result.warnings : result.diagnostics)
    .split('\n')
    .filter(Boolean);
}

function definitions(result: LoadResult): Definitions {
  if (!result.ok) throw new Error(formatDiagnostics(result.diagnostics));
  return result.definitions;
}

async function cli(args: string[], variables: Record<string, string> = {}): Promise<{ code: number; out: string; err: string }> {
  const r = { code: 0, out: '', err: '' };
  r.code = await runDefinitionsCli(args, { out: (t) => (r.out += t), err: (t) => (r.err += t), cwd: DIR, variables });
  return r;
}

describe('environments', () => {
  it('serves the base values when no environment is chosen', async () => {
    const d = definitions(await load('environments.ias'));
    expect(d.environment).toBeUndefined();
    expect(d.agents.map((a) => [a.name, a.models, a.temperature, a.budget])).toEqual([
      ['helper', ['mock/echo'], 0.2, { daily: 2, monthly: 40 }],
      ['reviewer', ['mock/echo', 'mock/backup'], undefined, undefined],
    ]);
  });

  it('applies the chosen environment over the agents; what it does not name keeps its value', async () => {
    const staging = definitions(await load('environments.ias', 'staging'));
    expect(staging.environment).toBe('staging');
    expect(staging.agents[0]).toMatchObject({
      model: 'openai/gpt-4o-mini',
      models: ['openai/gpt-4o-mini'],
      temperature: 0.7,
      max_turns: 4,
      budget: { daily: 5, monthly: 40 },
    });
    expect(staging.agents[1].models).toEqual(['mock/echo', 'mock/backup']);

    const live = definitions(await load('environments.ias', 'live'));
    expect(live.agents[0]).toMatchObject({
      model: 'anthropic/claude-sonnet-4-5',
      models: ['anthropic/claude-sonnet-4-5', 'openai/gpt-4o'],
      temperature: 0.2,
      token_budget: 30000,
      timeout: '45s',
      timeout_ms: 45000,
      budget: { daily: 2, monthly: 300 },
    });
    expect(live.agents[1].models).toEqual(['anthropic/claude-haiku-4-5']);
  });

  it('keeps the applied environment through the JSON form of the model', async () => {
    const live = definitions(await load('environments.ias', 'live'));
    const host = memorySourceHost({ '/m/model.json': JSON.stringify(live) });
    expect(definitions(await loadDefinitions('/m/model.json', { host }))).toEqual(live);
  });

  it('refuses an environment the definitions do not declare, naming the declared ones', async () => {
    expect(messages(await load('environments.ias', 'stagin'))).toEqual([
      'environments.ias:1:1: error: unknown environment "stagin" (chosen with AGENTSPEC_ENVIRONMENT or --env)',
      '  hint: did you mean "staging"?',
      '  hint: the definitions declare: "staging", "live"',
    ]);
  });

  it('checks every override at every load; what only breaks one environment is a warning until it is chosen', async () => {
    expect(messages(await load('environment-overrides-bad.ias'))).toEqual([
      'environment-overrides-bad.ias:12:9: error: agent "helpr" not found (overridden in environment "staging")',
      '  hint: did you mean "helper"?',
      'environment-overrides-bad.ias:13:3: error: environment "staging" overrides skill "helper": only agents can be overridden in an environment',
      '  hint: write: agent "<name>" { model "…" }',
      'environment-overrides-bad.ias:15:5: error: "temprature" cannot be overridden in the agent "helper" override of environment "staging"',
      '  hint: did you mean "temperature"?',
      'environment-overrides-bad.ias:16:17: error: "temperature" in the agent "helper" override of environment "staging" expects a number, got string "hot"',
      'environment-overrides-bad.ias:17:15: error: "max_turns" in the agent "helper" override of environment "staging" expects an integer, got 2.5',
      'environment-overrides-bad.ias:18:12: error: "stream" in the agent "helper" override of environment "staging" expects true or false, got string "true"',
      '  hint: remove the quotes: true',
      'environment-overrides-bad.ias:18:12: warning: agent attribute "stream" has no effect in this runtime: a call streams when its request asks to',
      'environment-overrides-bad.ias:19:5: error: "uses" cannot be overridden in the agent "helper" override of environment "staging"',
      '  hint: an environment may override: model, models, temperature, max_turns, token_budget, timeout, stream, on_error, max_retries, fallback, budget',
      'environment-overrides-bad.ias:20:12: error: unknown budget period "weekly" in the agent "helper" override of environment "staging"',
      '  hint: periods: daily, monthly',
      'environment-overrides-bad.ias:26:17: warning: starting with AGENTSPEC_ENVIRONMENT=live would be refused: temperature must be between 0 and 2, got 3',
      'environment-overrides-bad.ias:27:11: warning: starting with AGENTSPEC_ENVIRONMENT=live would be refused: invalid model "mystery-model" in agent "helper": no provider can be told from the name',
      '  hint: use "<provider>/<model-id>" with provider openai, anthropic, ollama or mock, or a bare id starting with "claude-", "gpt-", "o1", "o3" or "o4"',
      'environment-overrides-bad.ias:28:14: warning: agent attribute "fallback" has no effect in this runtime: no call is handed to another agent; use models [..] for a fallback chain',
      'environment-overrides-bad.ias:28:14: warning: starting with AGENTSPEC_ENVIRONMENT=live would be refused: agent "nobody" not found',
    ]);
  });

  it("reports the chosen environment's values where the override wrote them, as errors", async () => {
    expect(messages(await load('environment-overrides-bad.ias', 'live'))).toEqual([
      'environment-overrides-bad.ias:12:9: error: agent "helpr" not found (overridden in environment "staging")',
      '  hint: did you mean "helper"?',
      'environment-overrides-bad.ias:13:3: error: environment "staging" overrides skill "helper": only agents can be overridden in an environment',
      '  hint: write: agent "<name>" { model "…" }',
      'environment-overrides-bad.ias:15:5: error: "temprature" cannot be overridden in the agent "helper" override of environment "staging"',
      '  hint: did you mean "temperature"?',
      'environment-overrides-bad.ias:16:17: error: "temperature" in the agent "helper" override of environment "staging" expects a number, got string "hot"',
      'environment-overrides-bad.ias:17:15: error: "max_turns" in the agent "helper" override of environment "staging" expects an integer, got 2.5',
      'environment-overrides-bad.ias:18:12: error: "stream" in the agent "helper" override of environment "staging" expects true or false, got string "true"',
      '  hint: remove the quotes: true',
      'environment-overrides-bad.ias:18:12: warning: agent attribute "stream" has no effect in this runtime: a call streams when its request asks to',
      'environment-overrides-bad.ias:19:5: error: "uses" cannot be overridden in the agent "helper" override of environment "staging"',
      '  hint: an environment may override: model, models, temperature, max_turns, token_budget, timeout, stream, on_error, max_retries, fallback, budget',
      'environment-overrides-bad.ias:20:12: error: unknown budget period "weekly" in the agent "helper" override of environment "staging"',
      '  hint: periods: daily, monthly',
      'environment-overrides-bad.ias:26:17: error: temperature must be between 0 and 2, got 3',
      'environment-overrides-bad.ias:27:11: error: invalid model "mystery-model" in agent "helper": no provider can be told from the name',
      '  hint: use "<provider>/<model-id>" with provider openai, anthropic, ollama or mock, or a bare id starting with "claude-", "gpt-", "o1", "o3" or "o4"',
      'environment-overrides-bad.ias:28:14: error: agent "nobody" not found',
      'environment-overrides-bad.ias:28:14: warning: agent attribute "fallback" has no effect in this runtime: no call is handed to another agent; use models [..] for a fallback chain',
      '  hint: also written in 1 more place',
    ]);
  });
});

describe('policies', () => {
  it('applies deny (with wildcards), allow, require secret, and refuses what it cannot verify', async () => {
    expect(messages(await load('policies.ias'))).toEqual([
      'policies.ias:7:25: error: command "/usr/bin/rm" of skill "purge" is denied by policy "tools" (deny command rm)',
      '  hint: the rule is at policies.ias:31:3',
      'policies.ias:14:8: error: secret "vault-token" is denied by policy "tools" (deny secret vault-*)',
      '  hint: the rule is at policies.ias:32:3',
      'policies.ias:18:14: error: skill "purge" used by agent "operator" is denied by policy "tools" (deny skill purge)',
      '  hint: the rule is at policies.ias:30:3',
      'policies.ias:20:28: error: model "gpt-4o-mini" of agent "operator" is denied by policy "models-allowlist" (deny model *)',
      '  hint: the rule is at policies.ias:24:3',
      'policies.ias:33:18: error: policy "tools" requires secret "db-password", which is not declared',
      '  hint: declare it: secret "db-password" { env(NAME) }',
      'policies.ias:34:3: error: policy "tools" requires "pinned imports", which this runtime cannot verify',
      '  hint: remove the rule: only "require secret <name>" is checked here, and an unchecked rule is refused rather than passed',
      'policies.ias:35:8: error: unknown resource type "models" in policy "tools"',
      '  hint: did you mean "model"?',
    ]);
  });

  it('warns about a violation that only an environment brings, and refuses it once chosen', async () => {
    expect(messages(await load('policy-environment.ias'))).toEqual([
      'policy-environment.ias:19:28: warning: starting with AGENTSPEC_ENVIRONMENT=cheap would be refused: model "claude-haiku-4-5" of agent "operator" is denied by policy "no-small-models" (deny model claude-haiku-*)',
      '  hint: the rule is at policy-environment.ias:14:3',
    ]);
    expect(messages(await load('policy-environment.ias', 'cheap'))).toEqual([
      'policy-environment.ias:19:28: error: model "claude-haiku-4-5" of agent "operator" is denied by policy "no-small-models" (deny model claude-haiku-*)',
      '  hint: the rule is at policy-environment.ias:14:3',
    ]);
    expect(definitions(await load('policy-environment.ias', 'regular')).agents[0].temperature).toBe(0.4);
  });
});

describe('conditions', () => {
  it('reads function calls and the && || ! spellings, under canonical names', async () => {
    const [agent] = definitions(await load('conditions.ias')).agents;
    const branches = agent.on_input?.[0].kind === 'if' ? agent.on_input[0].branches.map((b) => b.condition) : [];
    expect(branches).toEqual([
      'contains(lower(input.message), "invoice") and not starts_with(input.message, "re:")',
      'ends_with(trim(input.message), "?") or length(input.message) > 200',
      'matches(upper(input.message), "^URGENT")',
    ]);
  });

  it('refuses an unknown function and a wrong number of arguments', async () => {
    expect(messages(await load('conditions-bad.ias'))).toEqual([
      'conditions-bad.ias:9:8: error: invalid if condition in the on input block of agent "router": unknown function \'containz\'',
      '  hint: did you mean "contains"?',
      'conditions-bad.ias:11:15: error: invalid else if condition in the on input block of agent "router": lower() takes 1 argument, got 2',
    ]);
  });
});

describe('constructs without effect', () => {
  it('warns once per construct, at its first use', async () => {
    expect(messages(await load('no-effect.ias'))).toEqual([
      'no-effect.ias:6:1: warning: type block has no effect in this runtime: types are kept in the model; inputs and outputs are not checked against them',
      '  hint: also written in 1 more place',
      'no-effect.ias:8:1: warning: state block has no effect in this runtime: state blocks are kept in the model; agents keep no state beyond their session',
      'no-effect.ias:9:1: warning: plugin block has no effect in this runtime: plugins are not loaded',
      'no-effect.ias:10:1: warning: binding block has no effect in this runtime: bindings are kept in the model; the port comes from the default deploy block',
      'no-effect.ias:16:10: warning: agent attribute "stream" has no effect in this runtime: a call streams when its request asks to',
      'no-effect.ias:17:12: warning: agent attribute "on_error" has no effect in this runtime: a failed model call moves on along the models chain',
      '  hint: also written in 1 more place',
      'no-effect.ias:18:15: warning: agent attribute "max_retries" has no effect in this runtime: retries of model calls are the provider layer\'s',
      'no-effect.ias:19:3: warning: memory strategy other than "sliding" has no effect in this runtime: a session turn sends the model its last max_messages messages (a sliding window)',
      'no-effect.ias:30:22: warning: deploy target other than "process" has no effect in this runtime: the runtime serves in its own process and reads only the port',
      'no-effect.ias:33:12: warning: deploy attribute "replicas" has no effect in this runtime: of a deploy block, the runtime reads only the port',
      'no-effect.ias:34:9: warning: deploy attribute "image" has no effect in this runtime: of a deploy block, the runtime reads only the port',
      'no-effect.ias:37:1: warning: deploy block other than the default has no effect in this runtime: only the port of the default (or only) deploy block is read',
    ]);
  });
});

describe('choosing the environment', () => {
  it('reads AGENTSPEC_ENVIRONMENT into the configuration, blank meaning none', () => {
    expect(loadConfig({ AGENTSPEC_ENVIRONMENT: ' live ' }).environment).toBe('live');
    expect(loadConfig({ AGENTSPEC_ENVIRONMENT: '  ' }).environment).toBeUndefined();
  });

  it('check takes --env, defaulting to AGENTSPEC_ENVIRONMENT', async () => {
    expect(await cli(['check', 'policy-environment.ias'])).toMatchObject({ code: 0 });
    const chosen = await cli(['check', '--env', 'cheap', 'policy-environment.ias']);
    expect(chosen.code).toBe(1);
    expect(chosen.err).toMatch(/^policy-environment\.ias:19:28: error: model "claude-haiku-4-5" of agent "operator" is denied/);
    expect((await cli(['check', 'policy-environment.ias'], { AGENTSPEC_ENVIRONMENT: 'cheap' })).code).toBe(1);
    expect((await cli(['check', '--env=', 'policy-environment.ias'], { AGENTSPEC_ENVIRONMENT: 'cheap' })).code).toBe(0);
    const printed = await cli(['print', 'environments.ias', '--env', 'staging']);
    expect(JSON.parse(printed.out)).toMatchObject({ environment: 'staging', agents: [{ model: 'openai/gpt-4o-mini' }, {}] });
    expect((await cli(['check', '--env', 'environments.ias'])).code).toBe(2);
  });
});
