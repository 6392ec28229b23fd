import type { DiagnosticBag } from './diagnostics.js';
import type { DefinitionsDraft } from './draft.js';
import type { Locator, ModelPath } from './positions.js';

/**
 * What the runtime parses and keeps in the model but does not act on. Each construct found in
 * a load gets one warning, at its first use, so that nothing is silently ignored
 * (docs/definitions.md keeps the same list for readers). The agent attributes the runtime
 * does use are in src/runtime/agent-profiles.ts (prompt, skills, model/models, strategy,
 * max_turns, token_budget, temperature, timeout) or act through their own module (`uses
 * guardrail`, `budget`, `config`); `description` and `metadata` describe and are not expected
 * to act.
 */
export interface NoEffectConstruct {
  /** How the warning names it. */
  construct: string;
  /** Why it has no effect, or what the runtime does instead. */
  note: string;
  /** Where it is written in a draft, in source order within each collection. */
  find: (d: DefinitionsDraft) => ModelPath[];
}

type Agent = DefinitionsDraft['agents'][number];

function blocks(kind: 'types' | 'states' | 'plugins' | 'bindings' | 'mcp_clients'): (d: DefinitionsDraft) => ModelPath[] {
  return (d) => d[kind].map((_, i) => [kind, i]);
}

/** The agents that set `key`, and the environment overrides that set it. */
function agentAttribute(key: keyof Agent, test: (a: Agent) => boolean = (a) => a[key] !== undefined): (d: DefinitionsDraft) => ModelPath[] {
  return (d) => {
    const paths: ModelPath[] = [];
    d.agents.forEach((a, i) => {
      if (test(a)) paths.push(['agents', i, key]);
    });
    d.environments.forEach((env, e) =>
      env.overrides.forEach((o, j) => {
        if (o.resource === 'agent' && Object.hasOwn(o.attributes, key)) paths.push(['environments', e, 'overrides', j, 'attributes', key]);
      }),
    );
    return paths;
  };
}


/** The deploy block whose port the runtime reads: the default one, or the only one. */
function servedDeploy(d: DefinitionsDraft): number {
  const i = d.deploy.findIndex((dp) => dp.default);
  return i >= 0 ? i : d.deploy.length === 1 ? 0 : -1;
}

const DEPLOY_ATTRIBUTES = ['replicas', 'image', 'namespace', 'health', 'resources', 'autoscale', 'env', 'secrets'] as const;

export const NO_EFFECT_CONSTRUCTS: readonly NoEffectConstruct[] = [
  { construct: 'type block', note: 'types are kept in the model; inputs and outputs are not checked against them', find: blocks('types') },
  {
    construct: 'state block',
    note: 'state blocks are kept in the model; agents keep no state beyond their session',
    find: blocks('states'),
  },
  { construct: 'plugin block', note: 'plugins are not loaded', find: blocks('plugins') },
  {
    construct: 'binding block',
    note: 'bindings are kept in the model; the port comes from the default deploy block',
    find: blocks('bindings'),
  },
  {
    construct: 'client block',
    note: 'MCP servers are reached through the skills that name them (tool mcp "server/tool")',
    find: blocks('mcp_clients'),
  },
  {
    construct: 'server attribute "auth"',
    note: 'MCP servers get their secrets through their env',
    find: (d) => d.mcp_servers.flatMap((s, i): ModelPath[] => (s.auth !== undefined ? [['mcp_servers', i, 'auth']] : [])),
  },
  {
    construct: 'server attribute "exposes"',
    note: 'a skill reaches an MCP tool through tool mcp "server/tool"',
    find: (d) => d.mcp_servers.flatMap((s, i): ModelPath[] => (s.exposes.length > 0 ? [['mcp_servers', i, 'exposes', 0]] : [])),
  },
  {
    construct: 'deploy block other than the default',
    note: 'only the port of the default (or only) deploy block is read',
    find: (d) => {
      const served = servedDeploy(d);
      return d.deploy.flatMap((_, i): ModelPath[] => (i === served ? [] : [['deploy', i]]));
    },
  },
  {
    construct: 'deploy target other than "process"',
    note: 'the runtime serves in its own process and reads only the port',
    find: (d) => {
      const served = servedDeploy(d);
      return served >= 0 && d.deploy[served].target !== 'process' ? [['deploy', served, 'target']] : [];
    },
  },
  ...DEPLOY_ATTRIBUTES.map((key): NoEffectConstruct => ({
    construct: `deploy attribute "${key}"`,
    note: 'of a deploy block, the runtime reads only the port',
    find: (d) => {
      const served = servedDeploy(d);
      const v = served >= 0 ? d.deploy[served][key] : undefined;
      const set = v !== undefined && (typeof v !== 'object' || Object.keys(v).length > 0);
      return set ? [['deploy', served, key]] : [];
    },
  })),
  { construct: 'agent attribute "stream"', note: 'a call streams when its request asks to', find: agentAttribute('stream') },
  {
    construct: 'agent attribute "on_error"',
    note: 'a failed model call moves on along the models chain',
    find: agentAttribute('on_error'),
  },
  {
    construct: 'agent attribute "max_retries"',
    note: "retries of model calls are the provider layer's",
    find: agentAttribute('max_retries'),
  },
  {
    construct: 'agent attribute "fallback"',
    note: 'no call is handed to another agent; use models [..] for a fallback chain',
    find: agentAttribute('fallback'),
  },
  {
    construct: 'memory strategy other than "sliding"',
    note: 'a session turn sends the model its last max_messages messages (a sliding window)',
    find: agentAttribute('memory', (a) => a.memory?.strategy !== undefined && a.memory.strategy !== 'sliding'),
  },
  { construct: 'agent attribute "connects to client"', note: 'MCP tools are reached through skills', find: agentAttribute('client') },
];

/** One warning per construct of NO_EFFECT_CONSTRUCTS present in `d`, at its first use. */
export function reportNoEffect(d: DefinitionsDraft, loc: Locator, diags: DiagnosticBag): void {
  for (const c of NO_EFFECT_CONSTRUCTS) {
    const paths = c.find(d);
    if (paths.length === 0) continue;
    const more = paths.length - 1;
    diags.warning(
      loc.at(paths[0]),
      `${c.construct} has no effect in this runtime: ${c.note}`,
      more > 0 ? `also written in ${more} more place${more === 1 ? '' : 's'}` : undefined,
    );
  }
}
