import type { AppConfig } from '../config/configuration.js';
import { readSecretFromEnvironment } from '../config/secrets.js';
import type { Agent, Definitions, Skill } from '../definitions/index.js';
import type { AgentProfile } from '../engine/agent-loop.js';
import { agentStrategy } from '../engine/strategies/index.js';
import { toolSpecFor } from '../engine/tool-schema.js';
import { ToolFactory, type ToolConfig } from '../engine/tools/index.js';
import type { AgentConfigValues } from './agent-config.js';

export const DEFAULT_MAX_TURNS = 10;

/** The runnable side of a definitions set: one profile per agent, sharing one tool factory. */
export interface BuiltAgents {
  profiles: Map<string, AgentProfile>;
  tools: ToolFactory;
}

const NO_CONFIG: AgentConfigValues = { values: new Map(), secrets: new Set() };

/** `agentConfig`: each agent's config values (src/runtime/agent-config.ts). */
export function buildAgents(definitions: Definitions, config: AppConfig, agentConfig: ReadonlyMap<string, AgentConfigValues>): BuiltAgents {
  const secrets = new Map(definitions.secrets.map((secret) => [secret.name, secret]));
  const tools = new ToolFactory({
    httpAllowHosts: config.httpToolAllowHosts,
    commandAllowlist: config.commandAllowlist,
    inlineEnabled: config.inlineToolsEnabled,
    mcpServers: definitions.mcp_servers.map((server) => ({
      name: server.name,
      transport: server.transport,
      command: server.command,
      args: server.args,
      env: server.env,
      url: server.url,
    })),
    resolveSecret: (name) => {
      const secret = secrets.get(name);
      // Vault-style `store(...)` secrets have no resolver yet: the tool reports it missing.
      return secret?.source === 'env' ? readSecretFromEnvironment(secret.key) : undefined;
    },
  });
  const prompts = new Map(definitions.prompts.map((prompt) => [prompt.name, prompt]));
  const skills = new Map(definitions.skills.map((skill) => [skill.name, skill]));
  const profiles = new Map<string, AgentProfile>();
  for (const agent of definitions.agents) {
    profiles.set(agent.name, profileFor(agent, prompts, skills, tools, agentConfig.get(agent.name) ?? NO_CONFIG));
  }
  return { profiles, tools };
}

function profileFor(
  agent: Agent,
  prompts: Map<string, Definitions['prompts'][number]>,
  skills: Map<string, Skill>,
  tools: ToolFactory,
  config: AgentConfigValues,
): AgentProfile {
  const prompt = prompts.get(agent.prompt);
  // Secrets never reach a prompt (refused when the definitions load; left out here as well).
  const promptConfig = new Map([...config.values].filter(([name]) => !config.secrets.has(name)));
  const hiddenValues = [...config.secrets].flatMap((name) => {
    const value = config.values.get(name);
    return value === undefined ? [] : [String(value)];
  });
  return {
    name: agent.name,
    models: agent.models,
    prompt: prompt && { name: prompt.name, content: prompt.content, variables: prompt.variables, config: promptConfig },
    tools: agent.skills
      .map((name) => skills.get(name))
      .filter((skill): skill is Skill => skill !== undefined)
      .map((skill) => ({
        spec: toolSpecFor(skill),
        tool: tools.create(toolConfigFor(skill, { configValues: config.values, hiddenValues })),
      })),
    strategy: agentStrategy(agent.strategy),
    maxTurns: agent.max_turns ?? DEFAULT_MAX_TURNS,
    tokenBudget: agent.token_budget,
    temperature: agent.temperature,
    timeoutMs: agent.timeout_ms,
  };
}

function toolConfigFor(
  skill: Skill,
  agentConfig: { configValues: AgentConfigValues['values']; hiddenValues: readonly string[] },
): ToolConfig {
  const tool = skill.tool;
  switch (tool.type) {
    case 'http':
      return {
        kind: 'http',
        name: skill.name,
        method: tool.method,
        url: tool.url,
        headers: tool.headers,
        bodyTemplate: tool.body_template,
        timeoutMs: tool.timeout_ms,
        ...agentConfig,
      };
    case 'command':
      return {
        kind: 'command',
        name: skill.name,
        binary: tool.binary,
        args: tool.args,
        timeoutMs: tool.timeout_ms,
        env: tool.env,
        secrets: tool.secrets,
        ...agentConfig,
      };
    case 'inline':
      return {
        kind: 'inline',
        name: skill.name,
        language: tool.language,
        code: tool.code,
        timeoutMs: tool.timeout_ms,
        memoryBytes: tool.memory_bytes,
      };
    case 'mcp':
      return { kind: 'mcp', name: skill.name, server: tool.server, tool: tool.tool };
  }
}
