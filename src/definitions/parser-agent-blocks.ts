import { didYouMean } from './diagnostics.js';
import { Token, TokenKind } from './lexer.js';
import type { ConfigParam, EvalCase, OnInputStatement, ValidationRule } from './model.js';
import { ParserCore, TOP_LEVEL } from './parser-core.js';

const EVAL_CASE_ATTRS = ['input', 'expect', 'scoring', 'threshold', 'tags'];
const ON_INPUT_STATEMENTS = ['use', 'delegate', 'respond', 'if', 'for'];
const RULE_ATTRS = ['rule'];
const CASE_ATTRS = ['case'];

/**
 * The blocks of IntentLang 3.0 inside an agent: `config` (typed in config-params.ts, resolved
 * at start), `validate`, `eval` and the `on input` control flow, which are kept in the model.
 */
export abstract class AgentBlocksParser extends ParserCore {
  /**
   * `config { name type [required] [secret] [default v] ["description"] ⏎ … }`, one parameter
   * per line. The description may also stand alone on the next line, as the published
   * examples write it.
   */
  protected configParams(context: string): ConfigParam[] {
    const params: ConfigParam[] = [];
    this.block(context, null, (nameTok) => {
      const p: ConfigParam = { name: nameTok.text, type: '', required: false, secret: false };
      this.mark(p, '', nameTok);
      params.push(p);
      this.configParamLine(p, nameTok);
      const d = this.peek();
      if (d.kind !== TokenKind.String || !d.newline || this.onSameLine(this.peek(1))) return;
      this.next();
      if (p.description !== undefined) {
        this.error(d, `config parameter "${p.name}" already has a description`, 'write one description, on the line or alone on the next one');
        return;
      }
      p.description = d.text;
      this.mark(p, 'description', d);
    });
    return params;
  }

  private configParamLine(p: ConfigParam, nameTok: Token): void {
    const typeTok = this.peek();
    if (typeTok.kind !== TokenKind.Ident || !this.onSameLine(typeTok)) {
      this.error(nameTok, `config parameter "${p.name}" needs a type`, `write: ${p.name} string`);
      return;
    }
    this.next();
    p.type = typeTok.text;
    this.mark(p, 'type', typeTok);
    while (this.onSameLine(this.peek())) {
      const m = this.next();
      if (this.isWord(m, 'required')) p.required = true;
      else if (this.isWord(m, 'secret')) p.secret = true;
      else if (m.kind === TokenKind.String) {
        p.description = m.text;
        this.mark(p, 'description', m);
      } else if (this.isWord(m, 'default')) {
        const v = this.peek();
        if (v.kind === TokenKind.String || v.kind === TokenKind.Number || this.isWord(v, 'true') || this.isWord(v, 'false')) {
          this.next();
          p.default = v.kind === TokenKind.Number ? Number(v.text) : v.kind === TokenKind.String ? v.text : v.text === 'true';
          this.mark(p, 'default', v);
        } else {
          this.missingOrWrong(m, 'a string, number or boolean');
        }
      } else {
        this.error(
          m,
          `unexpected ${this.describe(m)} in config parameter "${p.name}"`,
          'one parameter per line: name type [required] [secret] [default value] ["description"]',
        );
        this.skipRestOfClause();
      }
    }
  }

  /** `validate { rule name severity [max_retries n] ["message"] [when <condition>] … }` */
  protected validationRules(context: string): ValidationRule[] {
    const rules: ValidationRule[] = [];
    this.block(context, RULE_ATTRS, (ruleTok) => {
      const nameTok = this.peek();
      if (nameTok.kind !== TokenKind.Ident && nameTok.kind !== TokenKind.String) {
        this.missingOrWrong(ruleTok, 'a rule name');
        return;
      }
      this.next();
      const rule: ValidationRule = { name: nameTok.text, severity: '' };
      this.mark(rule, '', ruleTok);
      rules.push(rule);
      const sev = this.peek();
      if (sev.kind !== TokenKind.Ident && sev.kind !== TokenKind.String) {
        this.missingOrWrong(nameTok, 'a severity (error or warning)');
        return;
      }
      this.next();
      rule.severity = sev.text;
      for (;;) {
        const t = this.peek();
        if (this.isWord(t, 'max_retries')) {
          this.next();
          this.put(rule, 'max_retries', this.integer(t));
        } else if (t.kind === TokenKind.String) {
          this.next();
          rule.message = t.text;
        } else if (this.isWord(t, 'when')) {
          this.next();
          rule.when = this.expression();
          if (rule.when !== undefined) this.markExpression(rule, 'when');
        } else {
          return;
        }
      }
    }, new Set(['rule']));
    return rules;
  }

  /** `eval { case name input "…" expect "…" scoring s [threshold n] [tags […]] … }` */
  protected evalCases(context: string): EvalCase[] {
    const cases: EvalCase[] = [];
    this.block(context, CASE_ATTRS, (caseTok) => {
      const nameTok = this.peek();
      if (nameTok.kind !== TokenKind.Ident && nameTok.kind !== TokenKind.String) {
        this.missingOrWrong(caseTok, 'a case name');
        return;
      }
      this.next();
      const c: EvalCase = { name: nameTok.text, tags: [] };
      this.mark(c, '', caseTok);
      cases.push(c);
      for (;;) {
        const t = this.peek();
        if (t.kind !== TokenKind.Ident || this.isWord(t, 'case')) return;
        if (!EVAL_CASE_ATTRS.includes(t.text)) {
          this.error(t, `unknown attribute "${t.text}" in eval case "${c.name}"`, didYouMean(t.text, EVAL_CASE_ATTRS));
          this.next();
          this.skipRestOfClause();
          continue;
        }
        this.next();
        switch (t.text) {
          case 'input':
          case 'expect':
            this.put(c, t.text, this.string(t));
            break;
          case 'scoring':
            this.put(c, 'scoring', this.reference(t));
            break;
          case 'threshold':
            this.put(c, 'threshold', this.number(t));
            break;
          case 'tags':
            c.tags = this.stringList(t, c, 'tags') ?? c.tags;
            break;
        }
      }
    }, new Set(['case']));
    return cases;
  }

  protected onInputBlock(context: string): OnInputStatement[] {
    if (!this.enter()) return [];
    try {
      return this.onInputBlockInner(context);
    } finally {
      this.depth--;
    }
  }

  protected onInputBlockInner(context: string): OnInputStatement[] {
    const open = this.peek();
    if (!this.isPunct(open, '{')) {
      this.error(open, `expected "{" to open ${context}, got ${this.describe(open)}`);
      this.skipRestOfClause();
      return [];
    }
    this.next();
    const body = this.onInputStatements();
    this.closeBrace(open, context);
    return body;
  }

  protected closeBrace(open: Token, context: string): void {
    const t = this.peek();
    if (this.isPunct(t, '}')) {
      this.next();
      return;
    }
    if (!this.abandoned) this.error(open, `unclosed "{" of ${context}`, 'add the missing "}"');
    this.abandoned = true;
  }

  protected onInputStatements(): OnInputStatement[] {
    const out: OnInputStatement[] = [];
    for (;;) {
      const t = this.peek();
      if (this.isPunct(t, '}') || t.kind === TokenKind.Eof || this.abandoned) return out;
      if (t.kind === TokenKind.Ident && t.newline && t.column === 1 && TOP_LEVEL.has(t.text)) return out;
      if (t.kind !== TokenKind.Ident || !ON_INPUT_STATEMENTS.includes(t.text)) {
        this.error(
          t,
          `unknown statement ${this.describe(t)} in on input`,
          t.kind === TokenKind.Ident ? (didYouMean(t.text, ON_INPUT_STATEMENTS) ?? 'expected use, delegate, respond, if or for') : undefined,
        );
        this.skipGroup();
        this.skipRestOfClause();
        continue;
      }
      this.next();
      const stmt = this.onInputStatement(t);
      if (stmt !== undefined) out.push(stmt);
    }
  }

  /** A condition and its block, after `if` or `else if` (`ifTok`). */
  private branch(ifTok: Token, context: string): { condition: string; body: OnInputStatement[] } {
    const condition = this.expression();
    const branch = { condition: condition ?? '', body: [] as OnInputStatement[] };
    // A malformed condition (reported) is marked as written, so it is not also called empty.
    if (condition === undefined) this.mark(branch, 'condition', ifTok);
    else this.markExpression(branch, 'condition');
    branch.body = this.onInputBlock(context);
    return branch;
  }

  protected onInputStatement(t: Token): OnInputStatement | undefined {
    switch (t.text) {
      case 'use': {
        if (this.isWord(this.peek(), 'skill') && !this.peek().newline) this.next();
        const name = this.reference(t);
        if (name === undefined) return undefined;
        const stmt: OnInputStatement = { kind: 'use_skill', skill: name, with: {} };
        this.mark(stmt, '', t);
        this.mark(stmt, 'skill', this.valueTok);
        if (this.isWord(this.peek(), 'with') && !this.peek().newline) {
          this.next();
          this.block('the with block of use skill', null, (k) => {
            const colon = this.peek();
            if (!this.isPunct(colon, ':')) {
              this.error(colon, `expected ":" after "${k.text}", got ${this.describe(colon)}`, `write: ${k.text}: <value>`);
              this.skipRestOfClause();
              return;
            }
            this.next();
            const e = this.expression();
            if (e !== undefined) {
              stmt.with[k.text] = e;
              this.markExpression(stmt, `with.${k.text}`);
            }
            if (this.isPunct(this.peek(), ',')) this.next();
          });
        }
        return stmt;
      }
      case 'delegate': {
        if (!this.expectWord('to', t, 'write: delegate to agent_name')) return undefined;
        if (this.isWord(this.peek(), 'agent') && this.peek(1).kind !== TokenKind.Punct && !this.peek(1).newline) this.next();
        const name = this.reference(t);
        if (name === undefined) return undefined;
        const stmt: OnInputStatement = { kind: 'delegate', agent: name };
        this.mark(stmt, '', t);
        this.mark(stmt, 'agent', this.valueTok);
        return stmt;
      }
      case 'respond': {
        const v = this.peek();
        let stmt: OnInputStatement;
        if (v.kind === TokenKind.String && !v.newline && !this.onSameLine(this.peek(1))) {
          this.next();
          stmt = { kind: 'respond', text: v.text };
        } else {
          if (!this.onSameLine(v)) {
            this.error(t, 'missing value for "respond"', 'write: respond "text" or respond <expression>');
            return undefined;
          }
          const e = this.expression();
          if (e === undefined) return undefined;
          stmt = { kind: 'respond', expression: e };
          this.markExpression(stmt, 'expression');
        }
        this.mark(stmt, '', t);
        const after = this.peek();
        if (this.onSameLine(after)) {
          this.error(after, `unexpected ${this.describe(after)} after respond`, 'respond takes the rest of its line');
          this.skipRestOfClause();
        }
        return stmt;
      }
      case 'if': {
        const stmt: Extract<OnInputStatement, { kind: 'if' }> = { kind: 'if', branches: [] };
        this.mark(stmt, '', t);
        stmt.branches.push(this.branch(t, 'the if block'));
        while (this.isWord(this.peek(), 'else')) {
          this.next();
          if (this.isWord(this.peek(), 'if')) {
            stmt.branches.push(this.branch(this.next(), 'the else if block'));
            continue;
          }
          stmt.else = this.onInputBlock('the else block');
          break;
        }
        return stmt;
      }
      default: {
        if (!this.expectWord('each', t, 'write: for each item in <list> { … }')) return undefined;
        const v = this.peek();
        if (v.kind !== TokenKind.Ident || v.newline) {
          this.error(v, `expected a loop variable after "for each", got ${this.describe(v)}`);
          this.skipRestOfClause();
          return undefined;
        }
        this.next();
        if (!this.expectWord('in', v, `write: for each ${v.text} in <list> { … }`)) return undefined;
        const collection = this.expression();
        const stmt: OnInputStatement = { kind: 'for_each', variable: v.text, collection: collection ?? '', body: [] };
        this.mark(stmt, '', t);
        this.mark(stmt, 'variable', v);
        if (collection === undefined) this.mark(stmt, 'collection', t);
        else this.markExpression(stmt, 'collection');
        stmt.body = this.onInputBlock('the for each block');
        return stmt;
      }
    }
  }
}
