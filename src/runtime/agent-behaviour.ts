import {
  compileExpression,
  valueToText,
  type Agent,
  type CompiledExpression,
  type ExprContext,
  type ExprValue,
  type OnInputStatement,
} from '../definitions/index.js';

/** How many times a failed `error` rule makes the model answer again, unless the rule says. */
export const DEFAULT_VALIDATION_RETRIES = 3;
/** Items a `for each` visits at most; the rest are left out (docs/agents.md "On input"). */
export const MAX_FOR_EACH_ITEMS = 100;
/** Statements one `on input` block may execute per call, loops included. */
export const MAX_ON_INPUT_STEPS = 1_000;

export type Step =
  | { kind: 'use_skill'; skill: string; with?: [string, CompiledExpression][] }
  | { kind: 'delegate'; agent: string }
  | { kind: 'respond'; text?: string; expression?: CompiledExpression }
  | { kind: 'if'; branches: { condition: CompiledExpression; body: Step[] }[]; else?: Step[] }
  | { kind: 'for_each'; variable: string; collection: CompiledExpression; body: Step[] };

export interface CompiledRule {
  name: string;
  severity: 'error' | 'warning';
  message: string;
  maxRetries: number;
  when: CompiledExpression;
}

/** What an agent does besides its strategy, compiled once per definitions load. */
export interface AgentBehaviour {
  onInput?: Step[];
  rules: CompiledRule[];
}

/** The loader checked every expression, so compiling loaded definitions does not throw. */
export function compileBehaviour(agent: Agent): AgentBehaviour {
  return {
    ...(agent.on_input && agent.on_input.length > 0 ? { onInput: compileSteps(agent.on_input, []) } : {}),
    rules: agent.validate
      .filter((rule) => rule.when !== undefined)
      .map((rule) => ({
        name: rule.name,
        severity: rule.severity === 'warning' ? 'warning' : 'error',
        message: rule.message ?? `the answer breaks rule "${rule.name}"`,
        maxRetries: rule.max_retries ?? DEFAULT_VALIDATION_RETRIES,
        when: compileExpression(rule.when!, 'validate'),
      })),
  };
}

function compileSteps(statements: readonly OnInputStatement[], variables: readonly string[]): Step[] {
  return statements.map((statement): Step => {
    switch (statement.kind) {
      case 'use_skill': {
        const entries = Object.entries(statement.with);
        return {
          kind: 'use_skill',
          skill: statement.skill,
          ...(entries.length > 0 ? { with: entries.map(([key, source]) => [key, compileExpression(source, 'value', { variables })]) } : {}),
        };
      }
      case 'delegate':
        return { kind: 'delegate', agent: statement.agent };
      case 'respond':
        return statement.expression !== undefined
          ? { kind: 'respond', expression: compileExpression(statement.expression, 'value', { variables }) }
          : { kind: 'respond', text: statement.text ?? '' };
      case 'if':
        return {
          kind: 'if',
          branches: statement.branches.map((branch) => ({
            condition: compileExpression(branch.condition, 'condition', { variables }),
            body: compileSteps(branch.body, variables),
          })),
          ...(statement.else ? { else: compileSteps(statement.else, variables) } : {}),
        };
      case 'for_each':
        return {
          kind: 'for_each',
          variable: statement.variable,
          collection: compileExpression(statement.collection, 'value', { variables }),
          body: compileSteps(statement.body, [...variables, statement.variable]),
        };
    }
  });
}

/** What the `on input` block decided. */
export type OnInputOutcome =
  /** `respond`: this is the answer; no model is called. */
  | { kind: 'respond'; text: string }
  /** `delegate to`: the named agent answers the input. */
  | { kind: 'delegate'; agent: string }
  /** Neither: the agent's strategy runs, given the results of the skills that ran. */
  | { kind: 'model' };

export interface OnInputHost {
  /** Runs one of the agent's skills with these arguments (its events go out as usual). */
  useSkill(skill: string, args: Record<string, unknown> | undefined, vars: Readonly<Record<string, ExprValue>>): Promise<void>;
}

/**
 * Runs an `on input` block: statements in order; `if` takes its first true branch; `for each`
 * visits at most MAX_FOR_EACH_ITEMS items; the first `respond` or `delegate` ends the block.
 */
export async function runOnInput(steps: readonly Step[], context: ExprContext, host: OnInputHost): Promise<OnInputOutcome> {
  const budget = { left: MAX_ON_INPUT_STEPS };
  const outcome = await runSteps(steps, context, host, budget);
  return outcome ?? { kind: 'model' };
}

async function runSteps(
  steps: readonly Step[],
  context: ExprContext,
  host: OnInputHost,
  budget: { left: number },
): Promise<OnInputOutcome | undefined> {
  for (const step of steps) {
    if (--budget.left < 0) return undefined;
    switch (step.kind) {
      case 'use_skill': {
        const args = step.with && Object.fromEntries(step.with.map(([key, expression]) => [key, expression.evaluate(context)]));
        await host.useSkill(step.skill, args, context.vars ?? {});
        break;
      }
      case 'delegate':
        return { kind: 'delegate', agent: step.agent };
      case 'respond':
        return { kind: 'respond', text: step.expression ? valueToText(step.expression.evaluate(context)) : (step.text ?? '') };
      case 'if': {
        const branch = step.branches.find((candidate) => candidate.condition.test(context));
        const body = branch?.body ?? step.else;
        if (body) {
          const outcome = await runSteps(body, context, host, budget);
          if (outcome) return outcome;
        }
        break;
      }
      case 'for_each': {
        const value = step.collection.evaluate(context);
        const items = (Array.isArray(value) ? value : value === null ? [] : [value]).slice(0, MAX_FOR_EACH_ITEMS);
        for (const item of items) {
          const outcome = await runSteps(step.body, { ...context, vars: { ...context.vars, [step.variable]: item } }, host, budget);
          if (outcome) return outcome;
        }
        break;
      }
    }
  }
  return undefined;
}

/** The rules an answer breaks, by severity. */
export function checkRules(rules: readonly CompiledRule[], context: ExprContext): { errors: CompiledRule[]; warnings: CompiledRule[] } {
  const broken = rules.filter((rule) => !rule.when.test(context));
  return { errors: broken.filter((rule) => rule.severity === 'error'), warnings: broken.filter((rule) => rule.severity === 'warning') };
}

/** The message that makes the model answer again after breaking `error` rules. */
export function repromptFor(broken: readonly CompiledRule[]): string {
  return [
    'Your previous answer does not meet these requirements:',
    ...broken.map((rule) => `- ${rule.message}`),
    'Answer the original request again, meeting all of them.',
  ].join('\n');
}
