import { CONFIG_PREFIX, render, type ConfigValue } from '../definitions/index.js';

/** A system prompt with `{{variables}}`, as declared by a `prompt` block. */
export interface PromptTemplate {
  name: string;
  content: string;
  variables: { name: string; required: boolean; default?: string }[];
  /**
   * The agent's non-secret config values, for `{{config.name}}`; a declared parameter without
   * a value renders empty. Absent: `{{config.…}}` is left as written.
   */
  config?: ReadonlyMap<string, ConfigValue>;
}

/** A required variable was neither given nor defaulted. */
export class MissingPromptVariableError extends Error {
  /** The caller's mistake: answered 400 (src/common/errors/error-table.ts). */
  readonly code = 'invalid_request';

  constructor(readonly variables: string[]) {
    super(
      `Missing required prompt variable${variables.length > 1 ? 's' : ''}: ${variables.map((name) => `"${name}"`).join(', ')}. ` +
        'Pass them in options.variables.',
    );
    this.name = 'MissingPromptVariableError';
  }
}

/**
 * Fills `{{name}}` from the given values, then the declared defaults, and `{{config.name}}`
 * from the agent's config (never from the caller's values), in one pass. A declared optional
 * variable without a value renders empty; an undeclared placeholder is left as written.
 */
export function renderPrompt(template: PromptTemplate, values: Record<string, string>): string {
  const declared = new Map(template.variables.map((variable) => [variable.name, variable]));
  const missing = template.variables
    .filter((variable) => variable.required && values[variable.name] === undefined && variable.default === undefined)
    .map((variable) => variable.name);
  if (missing.length > 0) throw new MissingPromptVariableError(missing);
  const config = template.config;
  return render(template.content, (name) => {
    if (config !== undefined && name.startsWith(CONFIG_PREFIX)) {
      const value = config.get(name.slice(CONFIG_PREFIX.length));
      return value === undefined ? '' : String(value);
    }
    if (Object.hasOwn(values, name)) return values[name];
    const variable = declared.get(name);
    if (!variable) return undefined;
    return variable.default ?? '';
  });
}
