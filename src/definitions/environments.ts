import { DiagnosticBag, SourcePos, didYouMean } from './diagnostics.js';
import type { AgentDraft, DefinitionsDraft } from './draft.js';
import type { GenericValue } from './model.js';
import type { Locator, ModelPath } from './positions.js';

/**
 * Environments: `environment "dev" { agent "support" { model "…" } }` overrides attributes of
 * agents for one stage. The chosen environment (AGENTSPEC_ENVIRONMENT, `check --env`) is
 * applied to the draft before any other check, so models, references, ranges and policies are
 * checked on the values that will be served; attributes it does not name keep their values.
 * Every override is checked at every load, whichever environment is chosen: only agents can be
 * overridden, only an existing agent, only the attributes below, each with the type it has in
 * an agent block (ranges, enumerations and references are then checked by the validator on
 * the overlaid agent, with positions pointing into the override).
 */

type ValueKind = 'string' | 'integer' | 'number' | 'boolean' | 'string list' | 'budget';

/** The agent attributes an environment may override, with the type each has in an agent block. */
export const OVERRIDABLE_AGENT_ATTRIBUTES: Readonly<Record<string, ValueKind>> = {
  model: 'string',
  models: 'string list',
  temperature: 'number',
  max_turns: 'integer',
  token_budget: 'integer',
  timeout: 'string',
  stream: 'boolean',
  on_error: 'string',
  max_retries: 'integer',
  fallback: 'string',
  budget: 'budget',
};

const OVERRIDABLE = Object.keys(OVERRIDABLE_AGENT_ATTRIBUTES);
const BUDGET_PERIODS = ['daily', 'monthly'];

/** The typed values of one agent override, keyed by attribute (`budget` holds its periods). */
type AgentValues = Partial<
  Pick<
    AgentDraft,
    | 'model'
    | 'models'
    | 'temperature'
    | 'max_turns'
    | 'token_budget'
    | 'timeout'
    | 'stream'
    | 'on_error'
    | 'max_retries'
    | 'fallback'
    | 'budget'
  >
>;

/** One agent override of an environment, checked: what to apply and where each value was written. */
export interface AgentOverlay {
  agent: number;
  override: number;
  values: AgentValues;
}

/** The checked overlays of every environment, by index in `draft.environments`. */
export type EnvironmentOverlays = AgentOverlay[][];

function overridePath(env: number, override: number, ...rest: (string | number)[]): ModelPath {
  return ['environments', env, 'overrides', override, ...rest];
}

function describeValue(v: GenericValue): string {
  if (typeof v === 'string') return `string ${JSON.stringify(v.length > 24 ? `${v.slice(0, 24)}…` : v)}`;
  if (typeof v === 'number' || typeof v === 'boolean') return `${typeof v} ${v}`;
  return Array.isArray(v) ? 'a list' : 'a block';
}

const EXPECTED: Record<ValueKind, string> = {
  string: 'a string',
  integer: 'an integer',
  number: 'a number',
  boolean: 'true or false',
  'string list': 'a list of strings',
  budget: 'daily <amount> or monthly <amount>',
};

/**
 * Checks every override of every environment and returns what each would apply. Problems are
 * errors whatever environment is chosen: an override that names a missing agent is wrong in
 * every stage.
 */
export function checkOverrides(draft: DefinitionsDraft, loc: Locator, diags: DiagnosticBag): EnvironmentOverlays {
  const agents = new Map<string, number>();
  draft.agents.forEach((a, i) => {
    if (!agents.has(a.name)) agents.set(a.name, i);
  });
  return draft.environments.map((env, e) => {
    const ctx = `environment "${env.name}"`;
    const seen = new Map<string, number>();
    const overlays: AgentOverlay[] = [];
    env.overrides.forEach((o, j) => {
      if (o.resource !== 'agent') {
        diags.error(
          loc.at(overridePath(e, j, 'resource')),
          `${ctx} overrides ${o.resource} "${o.name}": only agents can be overridden in an environment`,
          didYouMean(o.resource, ['agent']) ?? 'write: agent "<name>" { model "…" }',
        );
        return;
      }
      const agent = agents.get(o.name);
      if (agent === undefined) {
        diags.error(
          loc.at(overridePath(e, j, 'name')),
          `agent "${o.name}" not found (overridden in ${ctx})`,
          didYouMean(o.name, agents.keys()),
        );
        return;
      }
      const first = seen.get(o.name);
      if (first !== undefined) {
        diags.error(loc.at(overridePath(e, j, 'name')), `agent "${o.name}" is overridden twice in ${ctx}`, 'merge the two blocks into one');
        return;
      }
      seen.set(o.name, j);
      const values = agentValues(o.attributes, e, j, `the agent "${o.name}" override of ${ctx}`, loc, diags);
      overlays.push({ agent, override: j, values });
    });
    return overlays;
  });
}

function agentValues(
  attributes: Record<string, GenericValue>,
  e: number,
  j: number,
  ctx: string,
  loc: Locator,
  diags: DiagnosticBag,
): AgentValues {
  const values: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(attributes)) {
    const kind = Object.hasOwn(OVERRIDABLE_AGENT_ATTRIBUTES, key) ? OVERRIDABLE_AGENT_ATTRIBUTES[key] : undefined;
    const at = loc.at(overridePath(e, j, 'attributes', key));
    if (kind === undefined) {
      // `keys.<name>` is where the .ias parser records the attribute's name.
      diags.error(
        loc.at(overridePath(e, j, 'keys', key)),
        `"${key}" cannot be overridden in ${ctx}`,
        didYouMean(key, OVERRIDABLE) ?? `an environment may override: ${OVERRIDABLE.join(', ')}`,
      );
      continue;
    }
    if (kind === 'budget') {
      const budget = budgetValue(value, e, j, ctx, loc, diags);
      if (budget !== undefined) values.budget = budget;
      continue;
    }
    if (typeMatches(kind, value)) {
      values[key] = value;
      continue;
    }
    const quoted = typeof value === 'string' && kind !== 'string' && kind !== 'string list' && /^(-?\d+(\.\d+)?|true|false)$/.test(value);
    diags.error(
      at,
      `"${key}" in ${ctx} expects ${EXPECTED[kind]}, got ${kind === 'integer' && typeof value === 'number' ? value : describeValue(value)}`,
      quoted ? `remove the quotes: ${value}` : undefined,
    );
  }
  return values;
}

function typeMatches(kind: ValueKind, value: GenericValue): boolean {
  switch (kind) {
    case 'string':
      return typeof value === 'string';
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value);
    case 'number':
      return typeof value === 'number';
    case 'boolean':
      return typeof value === 'boolean';
    case 'string list':
      return Array.isArray(value) && value.every((v) => typeof v === 'string');
    case 'budget':
      return false;
  }
}

function budgetValue(value: GenericValue, e: number, j: number, ctx: string, loc: Locator, diags: DiagnosticBag): AgentDraft['budget'] {
  if (typeof value !== 'object' || Array.isArray(value)) {
    diags.error(
      loc.at(overridePath(e, j, 'attributes', 'budget')),
      `"budget" in ${ctx} expects ${EXPECTED.budget}, got ${describeValue(value)}`,
    );
    return undefined;
  }
  const budget: NonNullable<AgentDraft['budget']> = {};
  for (const [period, amount] of Object.entries(value)) {
    const at = loc.at(overridePath(e, j, 'attributes', 'budget', period));
    if (period !== 'daily' && period !== 'monthly') {
      diags.error(
        loc.at(overridePath(e, j, 'keys', 'budget', period)),
        `unknown budget period "${period}" in ${ctx}`,
        didYouMean(period, BUDGET_PERIODS) ?? 'periods: daily, monthly',
      );
    } else if (typeof amount !== 'number') {
      diags.error(at, `"budget ${period}" in ${ctx} expects a number, got ${describeValue(amount)}`);
    } else {
      budget[period] = amount;
    }
  }
  return budget;
}

/**
 * Applies one environment's overlays to the agents of `draft` (in place) and returns the
 * locator to check the result with: an overridden value is reported where the override
 * wrote it.
 */
export function applyOverlays(draft: DefinitionsDraft, env: number, overlays: readonly AgentOverlay[], loc: Locator): Locator {
  const redirects = new Map<string, ModelPath>();
  for (const { agent, override, values } of overlays) {
    const a = draft.agents[agent];
    for (const [key, value] of Object.entries(values) as [keyof AgentValues, unknown][]) {
      const target = overridePath(env, override, 'attributes', key);
      if (key === 'budget') {
        const budget = value as NonNullable<AgentDraft['budget']>;
        a.budget = { ...a.budget, ...budget };
        for (const period of Object.keys(budget)) redirects.set(`${agent}.budget.${period}`, [...target, period]);
        continue;
      }
      (a as unknown as Record<string, unknown>)[key] = value;
      redirects.set(`${agent}.${key}`, target);
      // One model or a chain: the override replaces whichever the agent had.
      if (key === 'model' && values.models === undefined) a.models = undefined;
      if (key === 'models' && values.model === undefined) a.model = undefined;
      if (key === 'timeout') a.timeout_ms = undefined;
    }
  }
  return {
    at(path: ModelPath): SourcePos {
      if (path[0] === 'agents' && typeof path[1] === 'number' && path.length >= 3) {
        const deep = path.length >= 4 ? redirects.get(`${path[1]}.${path[2]}.${path[3]}`) : undefined;
        if (deep !== undefined) return loc.at([...deep, ...path.slice(4)]);
        const shallow = redirects.get(`${path[1]}.${path[2]}`);
        if (shallow !== undefined) return loc.at([...shallow, ...path.slice(3)]);
      }
      return loc.at(path);
    },
  };
}

/**
 * A copy of `draft` with one environment applied: the agents it overrides are copied, the
 * rest is shared (and must not be changed by the caller).
 */
export function overlaidCopy(
  draft: DefinitionsDraft,
  env: number,
  overlays: readonly AgentOverlay[],
  loc: Locator,
): { draft: DefinitionsDraft; loc: Locator } {
  const touched = new Set(overlays.map((o) => o.agent));
  const copy: DefinitionsDraft = {
    ...draft,
    agents: draft.agents.map((a, i) => (touched.has(i) ? { ...a, budget: a.budget && { ...a.budget } } : a)),
  };
  return { draft: copy, loc: applyOverlays(copy, env, overlays, loc) };
}

/** The error for an environment name (AGENTSPEC_ENVIRONMENT, `--env`) that no block declares. */
export function reportUnknownEnvironment(draft: DefinitionsDraft, name: string, at: SourcePos, diags: DiagnosticBag): void {
  const known = draft.environments.map((e) => e.name);
  diags.error(
    at,
    `unknown environment "${name}" (chosen with AGENTSPEC_ENVIRONMENT or --env)`,
    didYouMean(name, known),
    known.length > 0
      ? `the definitions declare: ${known.map((k) => `"${k}"`).join(', ')}`
      : 'the definitions declare no environment: unset AGENTSPEC_ENVIRONMENT',
  );
}
