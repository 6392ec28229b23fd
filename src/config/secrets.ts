/**
 * Secret values for tools, as declared by `secret "n" { env(NAME) }`. This is the one place
 * outside the start-up configuration that reads the process environment, and it reads only the
 * variables that definitions name as secrets.
 */
export function readSecretFromEnvironment(variable: string): string | undefined {
  const value = process.env[variable];
  return value === undefined || value === '' ? undefined : value;
}

/**
 * The `AGENTSPEC_CONFIG_…` variables, which hold the values of the agents' config parameters
 * (src/runtime/agent-config.ts). Read when a definitions set is built, at start and on reload.
 */
export function readAgentConfigEnvironment(): Record<string, string> {
  const values: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (name.startsWith('AGENTSPEC_CONFIG_') && value !== undefined) values[name] = value;
  }
  return values;
}
