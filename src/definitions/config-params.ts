import { DiagnosticBag, SourcePos, didYouMean } from './diagnostics.js';
import type { AgentDraft, DefinitionsDraft, ToolDraft } from './draft.js';
import type { Locator, ModelPath } from './positions.js';
import { placeholders } from './template.js';

/**
 * Typed agent configuration (`config { name type [required] [secret] [default v] "…" }`):
 * the types, how values are read and converted, the environment variable each parameter is
 * read from, and the checks made when definitions load. The values themselves are resolved
 * at start by src/runtime/agent-config.ts.
 */

/** The spellings of the four types; the published examples write `string` and `int`. */
export const CONFIG_TYPES = ['string', 'int', 'integer', 'float', 'number', 'bool', 'boolean'] as const;

export type ConfigKind = 'string' | 'int' | 'float' | 'bool';
export type ConfigValue = string | number | boolean;

const KINDS: Record<string, ConfigKind> = {
  string: 'string',
  int: 'int',
  integer: 'int',
  float: 'float',
  number: 'float',
  bool: 'bool',
  boolean: 'bool',
};

const EXPECTED: Record<ConfigKind, string> = {
  string: 'a string',
  int: 'an integer',
  float: 'a number',
  bool: 'true or false',
};

/** How `{{config.name}}` is written in prompts and tool templates. */
export const CONFIG_PREFIX = 'config.';

export const CONFIG_VARIABLE_PREFIX = 'AGENTSPEC_CONFIG_';
/** The suffix of the variable naming a file that holds the value (Docker and Kubernetes secrets). */
export const CONFIG_FILE_SUFFIX = '_FILE';

export function configKind(type: string): ConfigKind | undefined {
  return Object.hasOwn(KINDS, type) ? KINDS[type] : undefined;
}

/** "an integer", "true or false": what a value of this type must look like. */
export function expectedConfigValue(type: string): string {
  const kind = configKind(type);
  return kind === undefined ? `a value of type ${type}` : EXPECTED[kind];
}

/**
 * Converts a value as written (a default, an environment variable, a file's content) to the
 * parameter's type; undefined when it does not fit. Numbers and booleans may be quoted, as the
 * published examples write them (`max_name_length int default "50"`).
 */
export function parseConfigValue(type: string, text: string): ConfigValue | undefined {
  const kind = configKind(type);
  if (kind === 'string') return text;
  const trimmed = text.trim();
  switch (kind) {
    case 'int': {
      if (!/^[+-]?\d+$/.test(trimmed)) return undefined;
      const n = Number(trimmed);
      return Number.isSafeInteger(n) ? n : undefined;
    }
    case 'float': {
      if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(trimmed)) return undefined;
      const n = Number(trimmed);
      return Number.isFinite(n) ? n : undefined;
    }
    case 'bool': {
      const lower = trimmed.toLowerCase();
      if (lower === 'true' || lower === '1') return true;
      if (lower === 'false' || lower === '0') return false;
      return undefined;
    }
    default:
      return undefined;
  }
}

/**
 * `AGENTSPEC_CONFIG_<AGENT>_<PARAM>`: both names upper-cased, each run of characters other
 * than A-Z and 0-9 replaced by one `_` (agent "support-agent", parameter "api_key" →
 * `AGENTSPEC_CONFIG_SUPPORT_AGENT_API_KEY`).
 */
export function configVariableName(agent: string, param: string): string {
  const part = (name: string) => name.toUpperCase().replace(/[^A-Z0-9]+/g, '_');
  return `${CONFIG_VARIABLE_PREFIX}${part(agent)}_${part(param)}`;
}

/** The parameter names a template reads through `{{config.name}}`, in order, with repeats. */
export function configReferences(template: string | undefined): string[] {
  if (!template) return [];
  return placeholders(template)
    .map((placeholder) => placeholder.key)
    .filter((key) => key.startsWith(CONFIG_PREFIX))
    .map((key) => key.slice(CONFIG_PREFIX.length));
}

/** The templates of a tool that `{{config.name}}` is filled in, with their model paths below the tool. */
function toolTemplates(tool: ToolDraft): { template: string | undefined; path: (string | number)[] }[] {
  switch (tool.type) {
    case 'http':
      return [
        { template: tool.url, path: ['url'] },
        ...Object.entries(tool.headers ?? {}).map(([k, v]) => ({ template: v, path: ['headers', k] })),
        { template: tool.body_template, path: ['body_template'] },
      ];
    case 'command':
      return [
        ...(tool.args ?? []).map((v, i) => ({ template: v, path: ['args', i] })),
        ...Object.entries(tool.env ?? {}).map(([k, v]) => ({ template: v, path: ['env', k] })),
      ];
    default:
      return [];
  }
}

/**
 * The load-time checks of agent configuration: types, defaults, duplicate names, variables
 * that two parameters would share, and `{{config.name}}` in the prompts and tools an agent
 * uses (declared by that agent; no secret in a prompt).
 */
export function checkAgentConfig(
  draft: DefinitionsDraft,
  loc: Locator,
  diags: DiagnosticBag,
  describePos: (pos: SourcePos) => string,
): void {
  const variables = new Map<string, { agent: string; param: string }>();
  // Name → first position, built once: a lookup per agent must not scan every prompt and skill
  // (that made loading quadratic in the size of the definitions; issue 16).
  const indexes = { prompts: firstIndexByName(draft.prompts), skills: firstIndexByName(draft.skills) };
  draft.agents.forEach((agent, i) => {
    checkParams(agent, ['agents', i, 'config'], loc, diags, describePos, variables);
    checkReferences(agent, draft, indexes, loc, diags);
  });
}

function firstIndexByName(items: readonly { name: string }[]): Map<string, number> {
  const indexes = new Map<string, number>();
  items.forEach((item, i) => {
    if (!indexes.has(item.name)) indexes.set(item.name, i);
  });
  return indexes;
}

function checkParams(
  agent: AgentDraft,
  base: ModelPath,
  loc: Locator,
  diags: DiagnosticBag,
  describePos: (pos: SourcePos) => string,
  variables: Map<string, { agent: string; param: string }>,
): void {
  const ctx = `agent "${agent.name}"`;
  const seen = new Map<string, number>();
  agent.config.forEach((p, j) => {
    const at = (key?: string) => loc.at(key === undefined ? [...base, j] : [...base, j, key]);
    const what = `config parameter "${p.name}" of ${ctx}`;
    if (p.name === '') {
      diags.error(at(), `a config parameter of ${ctx} has no name`);
      return;
    }
    const first = seen.get(p.name);
    if (first !== undefined) {
      diags.error(at(), `duplicate config parameter "${p.name}" in ${ctx}`, `the first one is at ${describePos(loc.at([...base, first]))}`);
      return;
    }
    seen.set(p.name, j);
    const variable = configVariableName(agent.name, p.name);
    const other = variables.get(variable) ?? variables.get(variable + CONFIG_FILE_SUFFIX);
    if (other !== undefined) {
      diags.error(
        at(),
        `${what} is read from ${variable}, which config parameter "${other.param}" of agent "${other.agent}" also uses`,
        'rename one of them: names differing only in case or punctuation share a variable',
      );
    } else {
      variables.set(variable, { agent: agent.name, param: p.name });
      variables.set(variable + CONFIG_FILE_SUFFIX, { agent: agent.name, param: p.name });
    }

    const kind = configKind(p.type);
    if (p.type !== '' && kind === undefined) {
      diags.error(
        at('type'),
        `unknown type "${p.type}" for ${what}`,
        didYouMean(p.type, CONFIG_TYPES) ?? 'types: string, int, float, bool',
      );
    }
    if (p.default === undefined) return;
    if (p.secret) {
      // The default is not shown: it would be the secret.
      diags.error(
        at('default'),
        `secret ${what} has a default: a secret's value does not belong in a definitions file`,
        `remove the default and set ${variable} (or ${variable}${CONFIG_FILE_SUFFIX}, a file holding the value)`,
      );
      return;
    }
    if (kind !== undefined && parseConfigValue(p.type, String(p.default)) === undefined) {
      diags.error(at('default'), `the default ${JSON.stringify(p.default)} of ${what} is not ${EXPECTED[kind]}`);
    }
    if (p.required) {
      diags.warning(at('default'), `${what} is required but has a default, so it is never missing`, 'remove "required" or the default');
    }
  });
}

function checkReferences(
  agent: AgentDraft,
  draft: DefinitionsDraft,
  indexes: { prompts: Map<string, number>; skills: Map<string, number> },
  loc: Locator,
  diags: DiagnosticBag,
): void {
  const params = new Map(agent.config.map((p) => [p.name, p]));
  const ctx = `agent "${agent.name}"`;
  const check = (template: string | undefined, path: ModelPath, owner: string, inPrompt: boolean) => {
    const reported = new Set<string>();
    for (const name of configReferences(template)) {
      if (reported.has(name)) continue;
      reported.add(name);
      const param = params.get(name);
      if (param === undefined) {
        diags.error(
          loc.at(path),
          `${owner} uses {{config.${name}}}, but ${ctx}, which uses it, has no config parameter "${name}"`,
          didYouMean(name, params.keys()) ?? `declare it in the config block of ${ctx}: ${name} string`,
        );
      } else if (inPrompt && param.secret) {
        diags.error(
          loc.at(path),
          `${owner} uses the secret config parameter "${name}" of ${ctx}: prompts are sent to the model provider and kept in transcripts`,
          'use a secret only in a tool template (http url, headers or body_template; command args or env)',
        );
      }
    }
  };
  if (agent.prompt !== undefined) {
    const k = indexes.prompts.get(agent.prompt);
    if (k !== undefined) check(draft.prompts[k].content, ['prompts', k, 'content'], `prompt "${agent.prompt}"`, true);
  }
  for (const skillName of new Set(agent.skills)) {
    const k = indexes.skills.get(skillName);
    const tool = k !== undefined ? draft.skills[k].tool : undefined;
    if (k === undefined || tool === undefined) continue;
    for (const { template, path } of toolTemplates(tool)) {
      check(template, ['skills', k, 'tool', ...path], `skill "${skillName}"`, false);
    }
  }
}
