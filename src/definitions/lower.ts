import type { AgentDraft, DefinitionsDraft, DeployDraft, SkillDraft, ToolDraft } from './draft.js';
import { emptyDraft } from './draft.js';
import type {
  Agent,
  Definitions,
  Deploy,
  DeployTargetKind,
  OnErrorPolicy,
  Pipeline,
  Skill,
  Tool,
  User,
  UserRole,
} from './model.js';
import { COLLECTIONS } from './model.js';
import type { ParsedFile } from './parser.js';
import { parseDuration, parseSize } from './units.js';

/**
 * Joins the drafts of all loaded files, in load order. The package header of the first file
 * (the entry file, or the first file of a folder) names the whole set.
 */
export function mergeDrafts(files: readonly ParsedFile[]): DefinitionsDraft {
  const merged = emptyDraft();
  const withHeader = files.find((f) => f.header !== undefined);
  merged.package = withHeader?.header ?? {};
  for (const f of files) {
    for (const kind of COLLECTIONS) {
      const target = merged[kind] as unknown[];
      for (const item of f.draft[kind] as unknown[]) target.push(item);
    }
  }
  return merged;
}

/**
 * Copies an object without its undefined values, so the model only shows what is set.
 * (Building a copy keeps the objects in V8's fast mode; `delete` would not.)
 */
function compact<T extends object>(value: T): T {
  const out: Record<string, unknown> = {};
  for (const key in value) {
    const v = value[key];
    if (v !== undefined) out[key] = v;
  }
  return out as T;
}

function ms(text: string | undefined): number | undefined {
  return text === undefined ? undefined : parseDuration(text);
}

/**
 * Turns a validated draft into the model: fills the derived fields (milliseconds, the model
 * chain, the split MCP reference) and fixes the key order of each object. Call only when
 * validation found no errors: it relies on the required parts being present.
 */
export function finalizeDraft(d: DefinitionsDraft): Definitions {
  return {
    package: { name: d.package.name ?? '', version: d.package.version ?? '', lang: d.package.lang ?? '' },
    ...(d.environment === undefined ? {} : { environment: d.environment }),
    prompts: d.prompts.map((p) =>
      compact({
        name: p.name,
        content: p.content,
        version: p.version,
        description: p.description,
        variables: p.variables.map((v) =>
          compact({ name: v.name, type: v.type, required: v.required, default: v.default }),
        ),
        metadata: p.metadata,
      }),
    ),
    skills: d.skills.map(finalizeSkill),
    agents: d.agents.map(finalizeAgent),
    pipelines: d.pipelines.map(
      (p): Pipeline =>
        compact({
          name: p.name,
          description: p.description,
          steps: p.steps.map((s) =>
            compact({
              name: s.name,
              agent: s.agent ?? '',
              input: s.input,
              output: s.output,
              depends_on: s.depends_on,
              parallel: s.parallel,
              when: s.when,
            }),
          ),
        }),
    ),
    deploy: d.deploy.map(finalizeDeploy),
    secrets: d.secrets,
    mcp_servers: d.mcp_servers.map((s) =>
      compact({
        name: s.name,
        transport: s.transport,
        command: s.command,
        args: s.args,
        url: s.url,
        env: s.env,
        auth: s.auth,
        exposes: s.exposes,
        metadata: s.metadata,
      }),
    ),
    mcp_clients: d.mcp_clients,
    environments: d.environments,
    policies: d.policies,
    types: d.types,
    users: d.users.map((u): User =>
      compact({ name: u.name, key_env: u.key_env, agents: u.agents, role: u.role === undefined || u.role === 'invoke' ? 'user' : (u.role as UserRole) }),
    ),
    guardrails: d.guardrails.map((g) =>
      compact({ name: g.name, mode: g.mode, keywords: g.keywords, patterns: g.patterns, fallback: g.fallback }),
    ),
    states: d.states,
    plugins: d.plugins,
    bindings: d.bindings.map((b) => compact({ name: b.name, adapter: b.adapter, default: b.default, config: b.config })),
  };
}

function finalizeSkill(s: SkillDraft): Skill {
  return compact({
    name: s.name,
    description: s.description,
    input: s.input.map((f) => ({ name: f.name, type: f.type, required: f.required })),
    output: s.output.map((f) => ({ name: f.name, type: f.type, required: f.required })),
    tool: finalizeTool(s.tool as ToolDraft),
    metadata: s.metadata,
  });
}

function finalizeTool(t: ToolDraft): Tool {
  switch (t.type) {
    case 'http':
      return compact({
        type: 'http',
        method: (t.method ?? 'GET').toUpperCase(),
        url: t.url ?? '',
        headers: t.headers ?? {},
        body_template: t.body_template,
        timeout: t.timeout,
        timeout_ms: ms(t.timeout) ?? t.timeout_ms,
      });
    case 'command':
      return compact({
        type: 'command',
        binary: t.binary ?? '',
        args: t.args ?? [],
        timeout: t.timeout,
        timeout_ms: ms(t.timeout) ?? t.timeout_ms,
        env: t.env ?? {},
        secrets: t.secrets ?? {},
      });
    case 'inline':
      return compact({
        type: 'inline',
        language: t.language ?? '',
        code: t.code ?? '',
        timeout: t.timeout,
        timeout_ms: ms(t.timeout) ?? t.timeout_ms,
        memory: t.memory,
        memory_bytes: (t.memory === undefined ? undefined : parseSize(t.memory)) ?? t.memory_bytes,
      });
    case 'mcp': {
      const ref = t.server_tool ?? '';
      const slash = ref.indexOf('/');
      return { type: 'mcp', server_tool: ref, server: ref.slice(0, slash), tool: ref.slice(slash + 1) };
    }
  }
}

function finalizeAgent(a: AgentDraft): Agent {
  const models = a.models ?? (a.model === undefined ? [] : [a.model]);
  return compact({
    name: a.name,
    description: a.description,
    prompt: a.prompt ?? '',
    skills: a.skills,
    model: models[0] ?? '',
    models,
    strategy: a.strategy,
    max_turns: a.max_turns,
    token_budget: a.token_budget,
    temperature: a.temperature,
    timeout: a.timeout,
    timeout_ms: ms(a.timeout) ?? a.timeout_ms,
    stream: a.stream,
    on_error: a.on_error as OnErrorPolicy | undefined,
    max_retries: a.max_retries,
    fallback: a.fallback,
    memory: a.memory === undefined ? undefined : compact({ strategy: a.memory.strategy, max_messages: a.memory.max_messages }),
    delegates: a.delegates.map((dg) => compact({ agent: dg.agent, when: dg.when })),
    budget: a.budget === undefined ? undefined : compact({ daily: a.budget.daily, monthly: a.budget.monthly }),
    guardrails: a.guardrails,
    client: a.client,
    config: a.config,
    validate: a.validate,
    eval: a.eval.map((c) =>
      compact({ name: c.name, input: c.input, expect: c.expect, scoring: c.scoring, threshold: c.threshold, tags: c.tags }),
    ),
    on_input: a.on_input,
    metadata: a.metadata,
  });
}

function finalizeDeploy(dp: DeployDraft): Deploy {
  const health = dp.health;
  return compact({
    name: dp.name,
    target: dp.target as DeployTargetKind,
    default: dp.default,
    port: dp.port,
    replicas: dp.replicas,
    image: dp.image,
    namespace: dp.namespace,
    health:
      health === undefined
        ? undefined
        : compact({
            path: health.path,
            interval: health.interval,
            interval_ms: ms(health.interval) ?? health.interval_ms,
            timeout: health.timeout,
            timeout_ms: ms(health.timeout) ?? health.timeout_ms,
          }),
    resources: dp.resources,
    autoscale: dp.autoscale,
    env: dp.env,
    secrets: dp.secrets,
  });
}
