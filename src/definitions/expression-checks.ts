import { DiagnosticBag, SourcePos, didYouMean } from './diagnostics.js';
import type { AgentDraft, DefinitionsDraft } from './draft.js';
import { compileExpression, ExpressionSyntaxError, RESERVED_NAMES, type CompiledExpression, type ExpressionPlace } from './expressions.js';
import type { OnInputStatement } from './model.js';
import type { Locator, ModelPath } from './positions.js';

/**
 * Compiles every expression of the agents at load, with the compiler the runtime uses
 * (expressions.ts): `validate` rules and the conditions and values of `on input`, each for
 * its place and with the loop variables in scope. A problem is reported where it is in the
 * expression when the parser recorded its tokens, else at the expression with its column.
 */
export function checkAgentExpressions(
  draft: DefinitionsDraft,
  loc: Locator,
  diags: DiagnosticBag,
  written: (target: object, key: string) => boolean,
): void {
  draft.agents.forEach((agent, i) => new AgentExpressions(agent, ['agents', i], loc, diags, written).run());
}

/**
 * Where column `column` of the expression at `path`/`key` was written: a token the `.ias`
 * parser recorded as `key.@.<offset>`, or a column into a string whose text it recorded at
 * `key.@` (a pipeline `when`, written without escapes); `exact` is false when only the
 * expression's own position is known.
 */
export function expressionPosition(loc: Locator, path: ModelPath, key: string, column: number): { pos: SourcePos; exact: boolean } {
  const whole = loc.at([...path, key]);
  const text = loc.at([...path, key, '@']);
  if (!samePos(text, whole)) return { pos: { ...text, column: text.column + column - 1 }, exact: true };
  const token = loc.at([...path, key, '@', column - 1]);
  // Column 1 is where the expression itself starts, which every locator knows.
  return { pos: token, exact: column === 1 || !samePos(token, whole) };
}

function samePos(a: SourcePos, b: SourcePos): boolean {
  return a.file === b.file && a.line === b.line && a.column === b.column;
}

class AgentExpressions {
  private readonly ctx: string;
  private readonly configNames: string[];

  constructor(
    private readonly agent: AgentDraft,
    private readonly base: ModelPath,
    private readonly loc: Locator,
    private readonly diags: DiagnosticBag,
    private readonly written: (target: object, key: string) => boolean,
  ) {
    this.ctx = `agent "${agent.name}"`;
    this.configNames = (agent.config ?? []).map((p) => p.name);
  }

  run(): void {
    (this.agent.validate ?? []).forEach((rule, j) => {
      if (rule.when === undefined) return;
      this.check(
        rule.when,
        'validate',
        [],
        [...this.base, 'validate', j],
        'when',
        `when condition of validate rule "${rule.name}" of ${this.ctx}`,
      );
    });
    if (this.agent.on_input !== undefined) this.statements(this.agent.on_input, [...this.base, 'on_input'], []);
  }

  private statements(list: OnInputStatement[], base: ModelPath, vars: readonly string[]): void {
    list.forEach((s, j) => {
      const path = [...base, j];
      switch (s.kind) {
        case 'use_skill':
          for (const [key, value] of Object.entries(s.with)) {
            this.check(
              value,
              'value',
              vars,
              path,
              `with.${key}`,
              `value of "${key}" for skill "${s.skill}" in the on input block of ${this.ctx}`,
            );
          }
          return;
        case 'respond':
          if (s.expression !== undefined)
            this.check(s.expression, 'value', vars, path, 'expression', `respond expression in the on input block of ${this.ctx}`);
          return;
        case 'if':
          s.branches.forEach((b, k) => {
            const at = [...path, 'branches', k];
            if (b.condition !== '' || !this.written(b, 'condition')) {
              this.check(
                b.condition,
                'condition',
                vars,
                at,
                'condition',
                `${k === 0 ? 'if' : 'else if'} condition in the on input block of ${this.ctx}`,
              );
            }
            this.statements(b.body, [...at, 'body'], vars);
          });
          if (s.else !== undefined) this.statements(s.else, [...path, 'else'], vars);
          return;
        case 'for_each': {
          if (s.collection !== '' || !this.written(s, 'collection')) {
            this.check(s.collection, 'value', vars, path, 'collection', `for each list in the on input block of ${this.ctx}`);
          }
          if (RESERVED_NAMES.has(s.variable)) {
            this.diags.error(
              this.loc.at([...path, 'variable']),
              `the loop variable cannot be named "${s.variable}": it is a name of the expression language`,
              'choose another name, e.g. item',
            );
          }
          this.statements(s.body, [...path, 'body'], [...vars, s.variable]);
          return;
        }
        case 'delegate':
          return;
      }
    });
  }

  private check(source: string, where: ExpressionPlace, vars: readonly string[], path: ModelPath, key: string, what: string): void {
    let compiled: CompiledExpression;
    try {
      compiled = compileExpression(source, where, { variables: vars });
    } catch (error) {
      if (!(error instanceof ExpressionSyntaxError)) throw error;
      this.report(path, key, error.column, `invalid ${what}: ${error.reason}`, error.hint);
      return;
    }
    for (const name of compiled.config) {
      if (this.configNames.includes(name)) continue;
      const column = source.indexOf(`config.${name}`) + 1;
      this.report(
        path,
        key,
        Math.max(column, 1),
        `the ${what} reads config.${name}, which is not a config parameter of ${this.ctx}`,
        didYouMean(name, this.configNames) ?? `declare it: config { ${name} string }`,
      );
    }
  }

  private report(path: ModelPath, key: string, column: number, message: string, hint?: string): void {
    const { pos, exact } = expressionPosition(this.loc, path, key, column);
    this.diags.error(pos, exact ? message : `${message} (column ${column} of the expression)`, hint);
  }
}
