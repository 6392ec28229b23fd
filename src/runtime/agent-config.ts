import { readFileSync } from 'node:fs';
import {
  CONFIG_FILE_SUFFIX,
  configVariableName,
  expectedConfigValue,
  parseConfigValue,
  type ConfigValue,
  type Definitions,
} from '../definitions/index.js';

/** The configuration values of one agent. */
export interface AgentConfigValues {
  /** Parameter name → value; a parameter neither set nor defaulted has no entry. */
  values: ReadonlyMap<string, ConfigValue>;
  /** The names of the secret parameters, which are never put into a prompt. */
  secrets: ReadonlySet<string>;
}

export type AgentConfigResolution = { ok: true; agents: ReadonlyMap<string, AgentConfigValues> } | { ok: false; problems: string[] };

/** Some agent configuration value is missing or invalid; each problem names the variable to fix. */
export class AgentConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid agent configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'AgentConfigError';
  }
}

export type ReadTextFile = (path: string) => string;

const readTextFile: ReadTextFile = (path) => readFileSync(path, 'utf8');

/**
 * The value of every agent's config parameters: from `AGENTSPEC_CONFIG_<AGENT>_<PARAM>`, else
 * from the file named by `…_FILE` (one trailing newline dropped), else the default. An empty
 * value counts as unset. Problems (a required value missing, a value not of its type, both
 * variables set, an unreadable file) name the variable and never show a value.
 */
export function resolveAgentConfig(
  definitions: Pick<Definitions, 'agents'>,
  env: Readonly<Record<string, string | undefined>>,
  readFile: ReadTextFile = readTextFile,
): AgentConfigResolution {
  const problems: string[] = [];
  const agents = new Map<string, AgentConfigValues>();
  for (const agent of definitions.agents) {
    const values = new Map<string, ConfigValue>();
    const secrets = new Set<string>();
    for (const param of agent.config) {
      if (param.secret) secrets.add(param.name);
      const variable = configVariableName(agent.name, param.name);
      const fileVariable = variable + CONFIG_FILE_SUFFIX;
      const what = `config parameter "${param.name}" of agent "${agent.name}"`;
      const direct = nonEmpty(env[variable]);
      const path = nonEmpty(env[fileVariable]);
      if (direct !== undefined && path !== undefined) {
        problems.push(`${variable} and ${fileVariable} are both set (${what}): set only one`);
        continue;
      }
      let raw = direct;
      let source = variable;
      if (path !== undefined) {
        source = fileVariable;
        try {
          raw = nonEmpty(readFile(path).replace(/\r?\n$/, ''));
        } catch (error) {
          const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
          problems.push(`${fileVariable}: cannot read the file ${JSON.stringify(path)} (${code}) for ${what}`);
          continue;
        }
      }
      if (raw === undefined) {
        if (param.default !== undefined) {
          // Checked when the definitions loaded; a JSON default may already be typed.
          const value = parseConfigValue(param.type, String(param.default));
          if (value !== undefined) values.set(param.name, value);
        } else if (param.required) {
          problems.push(`${what} is required: set ${variable} (or ${fileVariable}, a file holding the value)`);
        }
        continue;
      }
      const value = parseConfigValue(param.type, raw);
      if (value === undefined) {
        const rule = source === fileVariable ? 'the file must hold' : 'must be';
        problems.push(`${source}: ${rule} ${expectedConfigValue(param.type)} (${what} is of type ${param.type})`);
        continue;
      }
      values.set(param.name, value);
    }
    agents.set(agent.name, { values, secrets });
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, agents };
}

/** Like `resolveAgentConfig`, but throws `AgentConfigError` listing every problem. */
export function requireAgentConfig(
  definitions: Pick<Definitions, 'agents'>,
  env: Readonly<Record<string, string | undefined>>,
  readFile?: ReadTextFile,
): ReadonlyMap<string, AgentConfigValues> {
  const resolved = resolveAgentConfig(definitions, env, readFile);
  if (!resolved.ok) throw new AgentConfigError(resolved.problems);
  return resolved.agents;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
