import { DiagnosticBag, SourcePos, didYouMean } from './diagnostics.js';
import type { AgentDraft, DefinitionsDraft, PipelineDraft, SkillDraft, StepDraft, ToolDraft } from './draft.js';
import { emptyDraft } from './draft.js';
import { Lexer, Token, TokenKind } from './lexer.js';
import { AgentBlocksParser } from './parser-agent-blocks.js';
import { TOP_LEVEL_STATEMENTS } from './parser-core.js';
import type { Field, GenericValue, PackageInfo, Prompt, PromptVariable, TypeField } from './model.js';
import { PositionIndex } from './positions.js';

export interface ImportRequest {
  path: string;
  pos: SourcePos;
}

export interface ParsedFile {
  file: string;
  /** Absent when the file has no usable header. */
  header?: Partial<PackageInfo>;
  imports: ImportRequest[];
  draft: DefinitionsDraft;
}


const SUPPORTED_LANGS = new Set(['2.0', '3.0']);
const SEMVER = /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;

const PROMPT_ATTRS = ['content', 'version', 'description', 'variables', 'metadata'];
const SKILL_ATTRS = ['description', 'input', 'output', 'tool', 'metadata'];
const HTTP_ATTRS = ['method', 'url', 'headers', 'body_template', 'timeout'];
const COMMAND_ATTRS = ['binary', 'args', 'timeout', 'env', 'secrets'];
const INLINE_ATTRS = ['language', 'code', 'timeout', 'memory'];
const AGENT_ATTRS = [
  'description',
  'uses',
  'prompt',
  'model',
  'models',
  'strategy',
  'loop',
  'max_turns',
  'token_budget',
  'temperature',
  'timeout',
  'stream',
  'on_error',
  'max_retries',
  'fallback',
  'memory',
  'delegate',
  'budget',
  'connects',
  'config',
  'validate',
  'eval',
  'on',
  'metadata',
];
const AGENT_REPEATABLE = new Set(['uses', 'delegate', 'budget']);
const MEMORY_ATTRS = ['strategy', 'max_messages'];
const PIPELINE_ATTRS = ['description', 'step'];
const STEP_ATTRS = ['agent', 'input', 'output', 'depends_on', 'parallel', 'when'];
const DEPLOY_ATTRS = [
  'port',
  'default',
  'replicas',
  'image',
  'namespace',
  'health',
  'resources',
  'autoscale',
  'env',
  'secrets',
];
const HEALTH_ATTRS = ['path', 'interval', 'timeout'];
const RESOURCES_ATTRS = ['cpu', 'memory'];
const AUTOSCALE_ATTRS = ['min', 'max', 'metric', 'target'];
const SECRET_ATTRS = ['env', 'store'];
const SERVER_ATTRS = ['transport', 'command', 'args', 'url', 'env', 'auth', 'exposes', 'metadata'];
const CLIENT_ATTRS = ['connects', 'metadata'];
const USER_ATTRS = ['key', 'agents', 'role'];
const GUARDRAIL_ATTRS = ['mode', 'keywords', 'patterns', 'fallback'];
const POLICY_ACTIONS = ['deny', 'allow', 'require'];
const TOOL_KINDS = ['http', 'command', 'inline', 'mcp'];

/** Parses one `.ias` file into a draft. Never throws on bad input: problems go to `diagnostics`. */
export function parseIas(source: string, file: string, diagnostics: DiagnosticBag, positions: PositionIndex): ParsedFile {
  return new Parser(new Lexer(source, file, diagnostics), file, diagnostics, positions).parseFile();
}

class Parser extends AgentBlocksParser {
  private readonly draft = emptyDraft();
  private readonly imports: ImportRequest[] = [];
  private hasHeader = false;

  parseFile(): ParsedFile {
    const header = this.parseHeader();
    this.hasHeader = header !== undefined;
    while (!this.eof()) {
      this.abandoned = false;
      const t = this.peek();
      if (t.kind !== TokenKind.Ident) {
        this.error(t, `expected a statement, got ${this.describe(t)}`);
        this.skipGroup();
        continue;
      }
      this.statement(t);
    }
    return { file: this.file, header, imports: this.imports, draft: this.draft };
  }

  private parseHeader(): Partial<PackageInfo> | undefined {
    const first = this.peek();
    if (!this.isWord(first, 'package')) {
      this.error(
        first,
        'missing package header',
        'start the file with: package "<name>" version "<semver>" lang "2.0"',
      );
      return undefined;
    }
    this.next();
    const header: Partial<PackageInfo> = {};
    this.mark(header, '', first);
    const name = this.peek();
    if (name.kind === TokenKind.String) {
      this.next();
      header.name = name.text;
      this.mark(header, 'name', name);
    } else {
      this.error(name, `expected the package name as a quoted string, got ${this.describe(name)}`);
    }
    for (;;) {
      const t = this.peek();
      if (t.kind === TokenKind.Eof || this.isPunct(t, '}')) break;
      const isHeaderWord = this.isWord(t, 'version') || this.isWord(t, 'lang');
      if (t.newline) {
        if (!isHeaderWord || this.peek(1).kind !== TokenKind.String) break;
        this.error(t, 'the package header must be on one line', 'write: package "<name>" version "<semver>" lang "2.0"');
      }
      if (!isHeaderWord) {
        this.error(t, `unexpected ${this.describe(t)} in the package header`);
        this.skipRestOfClause();
        break;
      }
      this.next();
      const value = this.peek();
      if (value.kind !== TokenKind.String) {
        this.error(value, `"${t.text}" in the package header expects a string, got ${this.describe(value)}`);
        if (this.onSameLine(value)) this.next();
        continue;
      }
      this.next();
      if (t.text === 'version') {
        header.version = value.text;
        this.mark(header, 'version', value);
        if (!SEMVER.test(value.text)) {
          this.error(value, `package version "${value.text}" is not a semantic version`, 'use MAJOR.MINOR.PATCH, e.g. "1.0.0"');
        }
      } else {
        header.lang = value.text;
        this.mark(header, 'lang', value);
        if (value.text === '1.0') {
          this.error(
            value,
            'IntentLang 1.0 is no longer supported',
            'migrate the file to lang "2.0" (agentspec migrate --to-v2): tool blocks replace execution, deploy replaces binding',
          );
        } else if (!SUPPORTED_LANGS.has(value.text)) {
          this.diags.warning(this.pos(value), `unknown IntentLang version "${value.text}"; reading it as 2.0/3.0`);
        }
      }
    }
    if (header.version === undefined) {
      this.error(first, 'the package header is missing its version', 'write: package "<name>" version "1.0.0" lang "2.0"');
    }
    if (header.lang === undefined) {
      this.error(first, 'the package header is missing its lang', 'write: package "<name>" version "1.0.0" lang "2.0"');
    }
    return header;
  }

  private statement(kw: Token): void {
    switch (kw.text) {
      case 'package':
        this.error(kw, this.hasHeader ? 'a file has only one package header' : 'the package header must come first');
        this.next();
        this.skipRestOfClause();
        return;
      case 'import':
        return this.importStatement();
      case 'prompt':
        return this.prompt();
      case 'skill':
        return this.skill();
      case 'agent':
        return this.agent();
      case 'pipeline':
        return this.pipeline();
      case 'deploy':
        return this.deploy();
      case 'secret':
        return this.secret();
      case 'server':
        return this.server();
      case 'client':
        return this.client();
      case 'environment':
        return this.environment();
      case 'policy':
        return this.policy();
      case 'type':
        return this.typeDefinition();
      case 'user':
        return this.user();
      case 'guardrail':
        return this.guardrail();
      case 'state':
        return this.state();
      case 'plugin':
        return this.plugin();
      case 'binding':
        return this.binding();
      default:
        this.error(kw, `unknown statement "${kw.text}"`, didYouMean(kw.text, TOP_LEVEL_STATEMENTS));
        this.next();
        this.skipStatement();
    }
  }

  /** Reads `kind "name"`, recording the statement and name positions on `target`. */
  private declaration(target: { name: string }, kind: string, consumed?: Token): Token {
    const kw = consumed ?? this.next();
    this.mark(target, '', kw);
    const t = this.peek();
    if (t.kind === TokenKind.String) {
      this.next();
      target.name = t.text;
      this.mark(target, 'name', t);
    } else if (t.kind === TokenKind.Ident && !t.newline) {
      this.next();
      target.name = t.text;
      this.mark(target, 'name', t);
      this.error(t, `the name of a ${kind} must be a quoted string`, `write: ${kind} "${t.text}"`);
    } else {
      this.error(t, `expected the ${kind} name as a quoted string, got ${this.describe(t)}`);
    }
    return kw;
  }

  // ---- statements ----

  private importStatement(): void {
    const kw = this.next();
    const t = this.peek();
    if (t.kind !== TokenKind.String) {
      this.error(t, `expected the import path as a quoted string, got ${this.describe(t)}`);
      this.skipRestOfClause();
      return;
    }
    this.next();
    this.imports.push({ path: t.text, pos: this.pos(t) });
    // `version "…"` and `as alias` are accepted for compatibility; local imports ignore them.
    while (this.onSameLine(this.peek())) {
      const w = this.peek();
      if ((this.isWord(w, 'version') || this.isWord(w, 'as')) && this.onSameLine(this.peek(1))) {
        this.next();
        this.next();
        continue;
      }
      this.error(w, `unexpected ${this.describe(w)} after import "${t.text}"`);
      this.skipRestOfClause();
    }
    void kw;
  }

  private prompt(): void {
    const prompt: Prompt = { name: '', content: '', variables: [], metadata: {} };
    this.declaration(prompt, 'prompt');
    this.draft.prompts.push(prompt);
    const ctx = `prompt "${prompt.name}"`;
    this.block(ctx, PROMPT_ATTRS, (a) => {
      switch (a.text) {
        case 'content':
        case 'version':
        case 'description':
          return this.put(prompt, a.text, this.string(a));
        case 'variables':
          this.mark(prompt, 'variables', a);
          prompt.variables = this.promptVariables(ctx);
          return;
        case 'metadata':
          prompt.metadata = this.keyValues(a, prompt, 'metadata', `the metadata of ${ctx}`);
          return;
      }
    });
  }

  /** `variables { name type [required] [default "v"] ⏎ … }`: one variable per line. */
  private promptVariables(ctx: string): PromptVariable[] {
    const vars: PromptVariable[] = [];
    const context = `the variables of ${ctx}`;
    this.block(context, null, (nameTok) => {
      const v: PromptVariable = { name: nameTok.text, type: '', required: false };
      this.mark(v, '', nameTok);
      this.mark(v, 'name', nameTok);
      vars.push(v);
      const typeTok = this.peek();
      if (typeTok.kind !== TokenKind.Ident || !this.onSameLine(typeTok)) {
        this.error(nameTok, `variable "${nameTok.text}" needs a type`, `write: ${nameTok.text} string`);
        return;
      }
      this.next();
      v.type = typeTok.text;
      this.mark(v, 'type', typeTok);
      while (this.onSameLine(this.peek())) {
        const m = this.next();
        if (this.isWord(m, 'required')) {
          v.required = true;
        } else if (this.isWord(m, 'default')) {
          const d = this.string(m);
          if (d !== undefined) {
            v.default = d;
            this.mark(v, 'default', this.valueTok);
          }
        } else {
          this.error(
            m,
            `unexpected ${this.describe(m)} after variable "${v.name}"`,
            'one variable per line: name type [required] [default "value"]',
          );
          this.skipRestOfClause();
        }
      }
    });
    return vars;
  }

  /** `{ name type [required] … }` for skill input and output, and the fields of a type. */
  private fields(context: string, withDefault: boolean): TypeField[] {
    const fields: (TypeField | Field)[] = [];
    this.block(context, null, (nameTok) => {
      const f: TypeField = { name: nameTok.text, type: '', required: false };
      this.mark(f, '', nameTok);
      fields.push(f);
      const typeTok = this.peek();
      if (typeTok.kind !== TokenKind.Ident || !this.onSameLine(typeTok)) {
        this.error(nameTok, `field "${nameTok.text}" needs a type`, `write: ${nameTok.text} string`);
        return;
      }
      this.next();
      f.type = typeTok.text;
      this.mark(f, 'type', typeTok);
      for (;;) {
        const m = this.peek();
        if (this.isWord(m, 'required') && !m.newline) {
          this.next();
          f.required = true;
        } else if (withDefault && this.isWord(m, 'default') && !m.newline) {
          this.next();
          const d = this.string(m);
          if (d !== undefined) f.default = d;
        } else {
          return;
        }
      }
    });
    return fields;
  }

  private skill(): void {
    const skill: SkillDraft = { name: '', input: [], output: [], metadata: {} };
    this.declaration(skill, 'skill');
    this.draft.skills.push(skill);
    const ctx = `skill "${skill.name}"`;
    this.block(ctx, SKILL_ATTRS, (a) => {
      switch (a.text) {
        case 'description':
          return this.put(skill, 'description', this.string(a));
        case 'input':
        case 'output':
          this.mark(skill, a.text, a);
          skill[a.text] = this.fields(`the ${a.text} of ${ctx}`, false);
          return;
        case 'tool':
          this.mark(skill, 'tool', a);
          skill.tool = this.tool(a, ctx);
          return;
        case 'metadata':
          skill.metadata = this.keyValues(a, skill, 'metadata', `the metadata of ${ctx}`);
          return;
      }
    });
  }

  private tool(attr: Token, ctx: string): ToolDraft | undefined {
    const kind = this.peek();
    if (kind.kind !== TokenKind.Ident || !TOOL_KINDS.includes(kind.text)) {
      const guess = kind.kind === TokenKind.Ident ? didYouMean(kind.text, TOOL_KINDS) : undefined;
      this.error(
        kind.kind === TokenKind.Ident || kind.kind === TokenKind.String ? kind : attr,
        kind.kind === TokenKind.Ident
          ? `unknown tool type "${kind.text}" in ${ctx}`
          : `expected a tool type (http, command, inline or mcp) in ${ctx}, got ${this.describe(kind)}`,
        guess ?? 'tool types: http, command, inline, mcp',
      );
      if (this.onSameLine(kind)) this.next();
      if (this.isPunct(this.peek(), '{')) this.skipGroup();
      return undefined;
    }
    this.next();
    const toolCtx = `tool ${kind.text} of ${ctx}`;
    switch (kind.text) {
      case 'mcp': {
        const tool: ToolDraft = { type: 'mcp' };
        this.mark(tool, '', kind);
        const ref = this.peek();
        if (ref.kind !== TokenKind.String) {
          this.missingOrWrong(kind, 'a "server/tool" string');
          return tool;
        }
        this.next();
        tool.server_tool = ref.text;
        this.mark(tool, 'server_tool', ref);
        return tool;
      }
      case 'http': {
        const tool: ToolDraft = { type: 'http', headers: {} };
        this.mark(tool, '', kind);
        this.block(toolCtx, HTTP_ATTRS, (a) => {
          switch (a.text) {
            case 'method':
            case 'url':
            case 'body_template':
            case 'timeout':
              return this.put(tool, a.text, this.string(a));
            case 'headers':
              tool.headers = this.keyValues(a, tool, 'headers', `the headers of ${toolCtx}`);
              return;
          }
        });
        return tool;
      }
      case 'command': {
        const tool: ToolDraft = { type: 'command', args: [], env: {}, secrets: {} };
        this.mark(tool, '', kind);
        this.block(toolCtx, COMMAND_ATTRS, (a) => {
          switch (a.text) {
            case 'binary':
            case 'timeout':
              return this.put(tool, a.text, this.string(a));
            case 'args':
              tool.args = this.stringList(a, tool, 'args') ?? tool.args;
              return;
            case 'env':
            case 'secrets':
              tool[a.text] = this.keyValues(a, tool, a.text, `the ${a.text} of ${toolCtx}`);
              return;
          }
        });
        return tool;
      }
      default: {
        const tool: ToolDraft = { type: 'inline' };
        this.mark(tool, '', kind);
        this.block(toolCtx, INLINE_ATTRS, (a) => {
          switch (a.text) {
            case 'language':
            case 'code':
            case 'timeout':
            case 'memory':
              return this.put(tool, a.text, this.string(a));
          }
        });
        return tool;
      }
    }
  }

  private agent(): void {
    const agent: AgentDraft = {
      name: '',
      skills: [],
      delegates: [],
      guardrails: [],
      config: [],
      validate: [],
      eval: [],
      metadata: {},
    };
    this.declaration(agent, 'agent');
    this.draft.agents.push(agent);
    const ctx = `agent "${agent.name}"`;
    this.block(
      ctx,
      AGENT_ATTRS,
      (a) => {
        switch (a.text) {
          case 'description':
          case 'model':
          case 'strategy':
          case 'timeout':
          case 'on_error':
            return this.put(agent, a.text, this.string(a));
          case 'loop':
            return this.put(agent, 'strategy', this.string(a));
          case 'prompt':
          case 'fallback':
            return this.put(agent, a.text, this.reference(a));
          case 'models':
            this.mark(agent, 'models', a);
            agent.models = this.stringList(a, agent, 'models');
            return;
          case 'max_turns':
          case 'token_budget':
          case 'max_retries':
            return this.put(agent, a.text, this.integer(a));
          case 'temperature':
            return this.put(agent, 'temperature', this.number(a));
          case 'stream':
            return this.put(agent, 'stream', this.boolean(a));
          case 'uses':
            return this.agentUses(agent, a, ctx);
          case 'memory': {
            const memory: NonNullable<AgentDraft['memory']> = {};
            this.mark(agent, 'memory', a);
            agent.memory = memory;
            this.block(`the memory block of ${ctx}`, MEMORY_ATTRS, (m) => {
              if (m.text === 'strategy') this.put(memory, 'strategy', this.string(m));
              else this.put(memory, 'max_messages', this.integer(m));
            });
            return;
          }
          case 'delegate':
            return this.agentDelegate(agent, a);
          case 'budget':
            return this.agentBudget(agent, a);
          case 'connects': {
            if (!this.expectWord('to', a, 'write: connects to client "name"')) return;
            if (this.isWord(this.peek(), 'client') && !this.peek().newline) this.next();
            return this.put(agent, 'client', this.reference(a));
          }
          case 'config':
            agent.config = this.configParams(`the config block of ${ctx}`);
            return;
          case 'validate':
            agent.validate = this.validationRules(`the validate block of ${ctx}`);
            return;
          case 'eval':
            agent.eval = this.evalCases(`the eval block of ${ctx}`);
            return;
          case 'on': {
            if (!this.expectWord('input', a, 'write: on input { … }')) return;
            this.mark(agent, 'on_input', a);
            agent.on_input = this.onInputBlock(`the on input block of ${ctx}`);
            return;
          }
          case 'metadata':
            agent.metadata = this.keyValues(a, agent, 'metadata', `the metadata of ${ctx}`);
            return;
        }
      },
      AGENT_REPEATABLE,
    );
  }

  private agentUses(agent: AgentDraft, a: Token, ctx: string): void {
    const what = this.peek();
    if (!this.onSameLine(what) || what.kind !== TokenKind.Ident || !['prompt', 'skill', 'guardrail'].includes(what.text)) {
      this.error(
        this.onSameLine(what) ? what : a,
        `expected prompt, skill or guardrail after "uses" in ${ctx}, got ${this.describe(what)}`,
        what.kind === TokenKind.Ident ? didYouMean(what.text, ['prompt', 'skill', 'guardrail']) : undefined,
      );
      this.skipRestOfClause();
      return;
    }
    this.next();
    const name = this.reference(what);
    if (name === undefined) return;
    if (what.text === 'prompt') {
      if (agent.prompt !== undefined) this.error(what, `${ctx} already uses prompt "${agent.prompt}"`);
      agent.prompt = name;
      this.mark(agent, 'prompt', this.valueTok);
    } else if (what.text === 'skill') {
      this.mark(agent, `skills.${agent.skills.length}`, this.valueTok);
      agent.skills.push(name);
    } else {
      this.mark(agent, `guardrails.${agent.guardrails.length}`, this.valueTok);
      agent.guardrails.push(name);
    }
  }

  private agentDelegate(agent: AgentDraft, a: Token): void {
    if (!this.expectWord('to', a, 'write: delegate to agent "name" when "condition"')) return;
    if (this.isWord(this.peek(), 'agent') && !this.peek().newline) this.next();
    const target = this.reference(a);
    if (target === undefined) return;
    const delegation: AgentDraft['delegates'][number] = { agent: target };
    this.mark(delegation, '', a);
    this.mark(delegation, 'agent', this.valueTok);
    agent.delegates.push(delegation);
    const w = this.peek();
    if (this.isWord(w, 'when') && !w.newline) {
      this.next();
      this.put(delegation, 'when', this.string(w));
    }
  }

  private agentBudget(agent: AgentDraft, a: Token): void {
    const period = this.peek();
    if (!(this.isWord(period, 'daily') || this.isWord(period, 'monthly')) || period.newline) {
      this.error(this.onSameLine(period) ? period : a, `expected daily or monthly after "budget", got ${this.describe(period)}`);
      this.skipRestOfClause();
      return;
    }
    this.next();
    const budget = (agent.budget ??= {});
    this.mark(agent, 'budget', a);
    if (period.text === 'daily') this.put(budget, 'daily', this.number(period));
    else this.put(budget, 'monthly', this.number(period));
  }

  private pipeline(): void {
    const pipeline: PipelineDraft = { name: '', steps: [] };
    this.declaration(pipeline, 'pipeline');
    this.draft.pipelines.push(pipeline);
    const ctx = `pipeline "${pipeline.name}"`;
    this.block(
      ctx,
      PIPELINE_ATTRS,
      (a) => {
        if (a.text === 'description') return this.put(pipeline, 'description', this.string(a));
        const step: StepDraft = { name: '', depends_on: [], parallel: false };
        this.declaration(step, 'step', a);
        this.mark(pipeline, `steps.${pipeline.steps.length}`, a);
        pipeline.steps.push(step);
        const stepCtx = `step "${step.name}" of ${ctx}`;
        this.block(stepCtx, STEP_ATTRS, (s) => {
          switch (s.text) {
            case 'agent':
              return this.put(step, 'agent', this.reference(s));
            case 'input':
            case 'output':
              return this.put(step, s.text, this.string(s));
            case 'when':
              this.put(step, 'when', this.string(s));
              // Written without escapes or line breaks, the text reads as it is written: then
              // a problem in the condition can be shown at its column in the file.
              if (step.when !== undefined && !/[\\"\n\t]/.test(step.when)) {
                this.mark(step, 'when.@', { ...this.valueTok, column: this.valueTok.column + 1 });
              }
              return;
            case 'depends_on':
              step.depends_on = this.stringList(s, step, 'depends_on', true) ?? step.depends_on;
              return;
            case 'parallel':
              return this.put(step, 'parallel', this.boolean(s));
          }
        });
      },
      new Set(['step']),
    );
  }

  private deploy(): void {
    const deploy: DefinitionsDraft['deploy'][number] = { name: '', target: '', default: false, env: {}, secrets: {} };
    this.declaration(deploy, 'deploy');
    this.draft.deploy.push(deploy);
    const ctx = `deploy "${deploy.name}"`;
    const t = this.peek();
    if (this.isWord(t, 'target') && !t.newline) {
      this.next();
      const value = this.reference(t);
      if (value !== undefined) {
        deploy.target = value;
        this.mark(deploy, 'target', this.valueTok);
      }
    } else {
      this.error(t, `expected "target" after the name of ${ctx}, got ${this.describe(t)}`, `write: deploy "${deploy.name}" target "process" { … }`);
    }
    this.block(ctx, DEPLOY_ATTRS, (a) => {
      switch (a.text) {
        case 'port':
        case 'replicas':
          return this.put(deploy, a.text, this.integer(a));
        case 'default':
          return this.put(deploy, 'default', this.boolean(a));
        case 'image':
        case 'namespace':
          return this.put(deploy, a.text, this.string(a));
        case 'env':
        case 'secrets':
          deploy[a.text] = this.keyValues(a, deploy, a.text, `the ${a.text} of ${ctx}`);
          return;
        case 'health': {
          const health: NonNullable<typeof deploy.health> = {};
          deploy.health = health;
          this.mark(deploy, 'health', a);
          this.block(`the health block of ${ctx}`, HEALTH_ATTRS, (h) => {
            this.put(health, h.text, this.string(h));
          });
          return;
        }
        case 'resources': {
          const resources: NonNullable<typeof deploy.resources> = {};
          deploy.resources = resources;
          this.mark(deploy, 'resources', a);
          this.block(`the resources block of ${ctx}`, RESOURCES_ATTRS, (r) => {
            this.put(resources, r.text, this.string(r));
          });
          return;
        }
        case 'autoscale': {
          const autoscale: NonNullable<typeof deploy.autoscale> = {};
          deploy.autoscale = autoscale;
          this.mark(deploy, 'autoscale', a);
          this.block(`the autoscale block of ${ctx}`, AUTOSCALE_ATTRS, (s) => {
            if (s.text === 'metric') this.put(autoscale, 'metric', this.string(s));
            else this.put(autoscale, s.text, this.integer(s));
          });
          return;
        }
      }
    });
  }

  private secret(): void {
    const secret: DefinitionsDraft['secrets'][number] = { name: '', source: 'env', key: '' };
    this.declaration(secret, 'secret');
    this.draft.secrets.push(secret);
    const ctx = `secret "${secret.name}"`;
    let sources = 0;
    this.block(ctx, SECRET_ATTRS, (a) => {
      sources++;
      if (sources === 2) this.error(a, `${ctx} has more than one source`);
      secret.source = a.text as 'env' | 'store';
      this.mark(secret, 'source', a);
      const parens = this.isPunct(this.peek(), '(');
      if (parens) this.next();
      const key = this.peek();
      if ((key.kind === TokenKind.String || key.kind === TokenKind.Ident) && !key.newline) {
        this.next();
        secret.key = key.text;
        this.mark(secret, 'key', key);
      } else {
        const env = a.text === 'env';
        this.error(
          key,
          `expected ${env ? 'a variable name' : 'a store path'} in ${ctx}, got ${this.describe(key)}`,
          env ? 'write: env(API_KEY)' : 'write: store("path/in/vault")',
        );
        return;
      }
      if (parens) {
        if (this.isPunct(this.peek(), ')')) this.next();
        else this.error(this.peek(), `expected ")", got ${this.describe(this.peek())}`);
      }
    }, new Set(SECRET_ATTRS));
    if (sources === 0) {
      const at = this.positions.get(secret, '') ?? { file: this.file, line: 1, column: 1 };
      this.diags.error(at, `${ctx} has no source`, 'write: env(NAME) or store("path")');
    }
  }

  private server(): void {
    const server: DefinitionsDraft['mcp_servers'][number] = { name: '', args: [], env: {}, exposes: [], metadata: {} };
    this.declaration(server, 'server');
    this.draft.mcp_servers.push(server);
    const ctx = `server "${server.name}"`;
    this.block(ctx, SERVER_ATTRS, (a) => {
      switch (a.text) {
        case 'transport':
        case 'auth':
          return this.put(server, a.text, this.reference(a));
        case 'command':
        case 'url':
          return this.put(server, a.text, this.string(a));
        case 'args':
          server.args = this.stringList(a, server, 'args') ?? server.args;
          return;
        case 'env':
        case 'metadata':
          server[a.text] = this.keyValues(a, server, a.text, `the ${a.text} of ${ctx}`);
          return;
        case 'exposes': {
          if (this.isWord(this.peek(), 'skill') && !this.peek().newline) this.next();
          const name = this.reference(a);
          if (name === undefined) return;
          this.mark(server, `exposes.${server.exposes.length}`, this.valueTok);
          server.exposes.push(name);
          return;
        }
      }
    }, new Set(['exposes']));
  }

  private client(): void {
    const client: DefinitionsDraft['mcp_clients'][number] = { name: '', servers: [], metadata: {} };
    this.declaration(client, 'client');
    this.draft.mcp_clients.push(client);
    const ctx = `client "${client.name}"`;
    this.block(ctx, CLIENT_ATTRS, (a) => {
      if (a.text === 'metadata') {
        client.metadata = this.keyValues(a, client, 'metadata', `the metadata of ${ctx}`);
        return;
      }
      if (!this.expectWord('to', a, 'write: connects to server "name"')) return;
      if (this.isWord(this.peek(), 'server') && !this.peek().newline) this.next();
      const name = this.reference(a);
      if (name === undefined) return;
      this.mark(client, `servers.${client.servers.length}`, this.valueTok);
      client.servers.push(name);
    }, new Set(['connects']));
  }

  private environment(): void {
    const env: DefinitionsDraft['environments'][number] = { name: '', overrides: [] };
    this.declaration(env, 'environment');
    this.draft.environments.push(env);
    const ctx = `environment "${env.name}"`;
    this.block(ctx, null, (kind) => {
      const nameTok = this.peek();
      if (nameTok.kind !== TokenKind.String) {
        this.missingOrWrong(kind, `the quoted name of the ${kind.text} to override`);
        return;
      }
      this.next();
      const override: DefinitionsDraft['environments'][number]['overrides'][number] = { resource: kind.text, name: nameTok.text, attributes: {} };
      this.mark(override, '', kind);
      this.mark(override, 'resource', kind);
      this.mark(override, 'name', nameTok);
      this.mark(override, 'attributes', this.peek());
      env.overrides.push(override);
      override.attributes = this.overrideAttributes(override, `the ${kind.text} "${nameTok.text}" override of ${ctx}`);
    });
  }

  /**
   * The attributes of an environment override, as generic values with their positions. An
   * agent's `budget daily 5` may be written as in the agent (repeatable) or as a block
   * `budget { daily 5 }`; both give `budget: { daily: 5 }`. environments.ts checks the rest
   * (including the period's name).
   */
  private overrideAttributes(override: object, context: string): Record<string, GenericValue> {
    const result: Record<string, GenericValue> = {};
    this.block(context, null, (k) => {
      this.mark(override, `keys.${k.text}`, k);
      const period = this.peek();
      const amount = period.kind === TokenKind.Ident && !period.newline ? this.peek(1) : undefined;
      if (k.text === 'budget' && amount?.kind === TokenKind.Number && !amount.newline) {
        this.next();
        const budget = result.budget !== undefined && typeof result.budget === 'object' && !Array.isArray(result.budget) ? result.budget : {};
        result.budget = budget;
        if (Object.hasOwn(budget, period.text)) this.error(period, `"budget ${period.text}" is set twice in ${context}`);
        this.mark(override, `keys.budget.${period.text}`, period);
        this.mark(override, `attributes.budget.${period.text}`, amount);
        this.next();
        budget[period.text] = Number(amount.text);
        return;
      }
      if (Object.hasOwn(result, k.text)) this.error(k, `"${k.text}" is set twice in ${context}`);
      const v = this.genericValue(k, { target: override, key: `attributes.${k.text}` });
      if (v !== undefined) result[k.text] = v;
    });
    return result;
  }

  /** `policy "n" { deny|allow|require <rest of the line> ⏎ … }` */
  private policy(): void {
    const policy: DefinitionsDraft['policies'][number] = { name: '', rules: [] };
    this.declaration(policy, 'policy');
    this.draft.policies.push(policy);
    const ctx = `policy "${policy.name}"`;
    this.block(ctx, POLICY_ACTIONS, (action) => {
      // Words are joined by a space; tokens written without space between them (`gpt-4.1`,
      // `gpt-*`) are joined as written.
      const parts: { text: string; tok: Token; end: number }[] = [];
      while (this.onSameLine(this.peek())) {
        const t = this.next();
        if (t.kind === TokenKind.Punct && t.text !== '.' && t.text !== '*') {
          this.error(t, `unexpected ${this.describe(t)} in a rule of ${ctx}`);
          this.skipRestOfClause();
          break;
        }
        const last = parts[parts.length - 1];
        const glued = last !== undefined && parts.length > 1 && t.kind !== TokenKind.String && last.end === t.column && last.tok.line === t.line;
        if (glued) {
          last.text += t.text;
          last.end = t.column + t.text.length;
        } else {
          parts.push({ text: t.text, tok: t, end: t.kind === TokenKind.String ? -1 : t.column + t.text.length });
        }
      }
      if (parts.length === 0) {
        this.error(action, `the ${action.text} rule of ${ctx} names nothing`, `write: ${action.text} model "name"`);
        return;
      }
      const rule: DefinitionsDraft['policies'][number]['rules'][number] = {
        action: action.text as 'deny' | 'allow' | 'require',
        resource: parts[0].text,
        subject: parts
          .slice(1)
          .map((p) => p.text)
          .join(' '),
      };
      this.mark(rule, '', action);
      this.mark(rule, 'resource', parts[0].tok);
      this.mark(rule, 'subject', parts.length > 1 ? parts[1].tok : parts[0].tok);
      policy.rules.push(rule);
    }, new Set(POLICY_ACTIONS));
  }

  private typeDefinition(): void {
    const def: DefinitionsDraft['types'][number] = { name: '', kind: 'object', fields: [], values: [] };
    this.declaration(def, 'type');
    this.draft.types.push(def);
    const ctx = `type "${def.name}"`;
    const t = this.peek();
    if (this.isWord(t, 'enum') && !t.newline) {
      this.next();
      def.kind = 'enum';
      def.values = this.stringList(t, def, 'values') ?? [];
    } else if (this.isWord(t, 'list') && !t.newline) {
      this.next();
      def.kind = 'list';
      const of = this.peek();
      if ((of.kind === TokenKind.Ident || of.kind === TokenKind.String) && !of.newline) {
        this.next();
        def.of = of.text;
        this.mark(def, 'of', of);
      } else {
        this.missingOrWrong(t, 'the type of the list items');
      }
    } else if (this.isPunct(t, '{')) {
      def.fields = this.fields(ctx, true);
    } else {
      this.error(t, `expected "{", enum or list after the name of ${ctx}, got ${this.describe(t)}`);
      this.skipStatement();
    }
  }

  private user(): void {
    const user: DefinitionsDraft['users'][number] = { name: '', agents: [] };
    this.declaration(user, 'user');
    this.draft.users.push(user);
    const ctx = `user "${user.name}"`;
    this.block(ctx, USER_ATTRS, (a) => {
      switch (a.text) {
        case 'key':
          return this.put(user, 'key_env', this.userKey(a, ctx));
        case 'agents':
          user.agents = this.stringList(a, user, 'agents') ?? user.agents;
          return;
        case 'role':
          return this.put(user, 'role', this.string(a));
      }
    });
  }

  /**
   * `key secret("ENV_NAME")`: the variable that holds the key. A quoted key (upstream reads it
   * as a reference too) is refused, so that a key pasted into a file is neither used nor echoed.
   */
  private userKey(attr: Token, ctx: string): string | undefined {
    const t = this.peek();
    if (!this.isWord(t, 'secret') || !this.isPunct(this.peek(1), '(')) {
      if (t.kind !== TokenKind.String || !this.onSameLine(t)) return this.missingOrWrong(attr, 'secret("ENV_NAME")');
      this.next();
      this.error(t, `the key of ${ctx} must name the environment variable that holds it`, 'write: key secret("ENV_NAME")');
      return undefined;
    }
    this.next();
    this.next();
    if (this.isPunct(this.peek(), ')')) {
      this.error(this.next(), `the key of ${ctx} names no environment variable`, 'write: key secret("ENV_NAME")');
      return undefined;
    }
    const name = this.reference(t);
    const nameTok = this.valueTok;
    if (this.isPunct(this.peek(), ')')) this.next();
    else this.error(this.peek(), `expected ")", got ${this.describe(this.peek())}`);
    this.valueTok = nameTok;
    return name;
  }

  private guardrail(): void {
    const g: DefinitionsDraft['guardrails'][number] = { name: '', keywords: [], patterns: [] };
    this.declaration(g, 'guardrail');
    this.draft.guardrails.push(g);
    const ctx = `guardrail "${g.name}"`;
    this.block(ctx, GUARDRAIL_ATTRS, (a) => {
      switch (a.text) {
        case 'mode':
        case 'fallback':
          return this.put(g, a.text, this.string(a));
        case 'keywords':
        case 'patterns':
          g[a.text] = this.stringList(a, g, a.text) ?? g[a.text];
          return;
      }
    });
  }

  private state(): void {
    const s: DefinitionsDraft['states'][number] = { name: '', attributes: {} };
    this.declaration(s, 'state');
    this.draft.states.push(s);
    s.attributes = this.genericBlock(`state "${s.name}"`);
  }

  private plugin(): void {
    const p: DefinitionsDraft['plugins'][number] = { name: '' };
    this.declaration(p, 'plugin');
    this.draft.plugins.push(p);
    const t = this.peek();
    if (this.isWord(t, 'version') && !t.newline) {
      this.next();
      this.put(p, 'version', this.string(t));
    }
    if (this.onSameLine(this.peek())) {
      this.error(this.peek(), `unexpected ${this.describe(this.peek())} after plugin "${p.name}"`, 'write: plugin "name" version "1.0.0"');
      this.skipRestOfClause();
    }
  }

  private binding(): void {
    const b: DefinitionsDraft['bindings'][number] = { name: '', default: false, config: {} };
    this.declaration(b, 'binding');
    this.draft.bindings.push(b);
    const ctx = `binding "${b.name}"`;
    const t = this.peek();
    if (this.isWord(t, 'adapter') && !t.newline) {
      this.next();
      this.put(b, 'adapter', this.string(t));
    }
    this.block(ctx, null, (a) => {
      if (a.text === 'default') return this.put(b, 'default', this.boolean(a));
      if (a.text === 'adapter') return this.put(b, 'adapter', this.string(a));
      const v = this.genericValue(a);
      if (v !== undefined) b.config[a.text] = v;
    });
  }
}
