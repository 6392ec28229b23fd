import { render } from '../definitions/index.js';

/** A system prompt with `{{variables}}`, as declared by a `prompt` block. */
export interface PromptTemplate {
  name: string;
  content: string;
  variables: { name: string; required: boolean; default?: string }[];
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
 * Fills `{{name}}` from the given values, then the declared defaults. A declared optional
 * variable without a value renders empty; an undeclared placeholder is left as written.
 */
export function renderPrompt(template: PromptTemplate, values: Record<string, string>): string {
  const declared = new Map(template.variables.map((variable) => [variable.name, variable]));
  const missing = template.variables
    .filter((variable) => variable.required && values[variable.name] === undefined && variable.default === undefined)
    .map((variable) => variable.name);
  if (missing.length > 0) throw new MissingPromptVariableError(missing);
  return render(template.content, (name) => {
    if (Object.hasOwn(values, name)) return values[name];
    const variable = declared.get(name);
    if (!variable) return undefined;
    return variable.default ?? '';
  });
}
