import { checkAgentConfig, CONFIG_PREFIX } from './config-params.js';
import { DiagnosticBag, SourcePos, didYouMean } from './diagnostics.js';
import type { AgentDraft, DefinitionsDraft, PipelineDraft, SkillDraft, ToolDraft } from './draft.js';
import { checkDelegation } from './delegation-checks.js';
import { checkEvalCases } from './eval-rules.js';
import { checkAgentExpressions, expressionPosition } from './expression-checks.js';
import { parseWhen, WhenSyntaxError } from './expressions.js';
import { findCycles } from './graph.js';
import { checkGuardrails } from './guardrail-rules.js';
import { checkModelRef } from './model-ref.js';
import type { CollectionName, OnInputStatement } from './model.js';
import { COLLECTIONS, USER_ROLES } from './model.js';
import type { Locator, ModelPath } from './positions.js';
import { placeholders, stepInputReferences } from './template.js';
import { parseDuration, parseSize } from './units.js';

export const KIND_LABELS: Record<CollectionName, string> = {
  prompts: 'prompt',
  skills: 'skill',
  agents: 'agent',
  pipelines: 'pipeline',
  deploy: 'deploy',
  secrets: 'secret',
  mcp_servers: 'server',
  mcp_clients: 'client',
  environments: 'environment',
  policies: 'policy',
  types: 'type',
  users: 'user',
  guardrails: 'guardrail',
  states: 'state',
  plugins: 'plugin',
  bindings: 'binding',
};

export const ON_ERROR_VALUES = ['retry', 'fail', 'fallback'];
/** `loop` is another name of `react` (src/engine/strategies/index.ts runs them). */
export const AGENT_STRATEGIES = ['react', 'loop', 'plan-and-execute', 'reflexion', 'router', 'map-reduce'];
export const DEPLOY_TARGETS = ['process', 'docker', 'docker-compose', 'kubernetes'];
export const HTTP_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'];
export const MCP_TRANSPORTS = ['stdio', 'sse', 'http', 'streamable-http'];
/** Role spellings a `user` block may use: the roles, and upstream's `invoke` for `user`. */
export const USER_ROLE_SPELLINGS: readonly string[] = [...USER_ROLES, 'invoke'];
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
export const PRIMITIVE_TYPES = [
  'string',
  'int',
  'integer',
  'number',
  'float',
  'bool',
  'boolean',
  'object',
  'array',
  'list',
  'map',
  'any',
  'json',
];

type Seg = string | number;

function join(base: ModelPath, a?: Seg, b?: Seg, c?: Seg): ModelPath {
  const path = [...base];
  if (a !== undefined) path.push(a);
  if (b !== undefined) path.push(b);
  if (c !== undefined) path.push(c);
  return path;
}

const PRIMITIVE_SET = new Set(PRIMITIVE_TYPES);

export interface ValidateOptions {
  /** The `.ias` parser checks the header itself; JSON/YAML documents are checked here. */
  checkPackage: boolean;
  /** Renders a position for "first defined at …" hints. */
  describePos: (pos: SourcePos) => string;
  /**
   * Whether an attribute was written even though no value came out of it (a malformed value,
   * already reported): then it is not reported again as missing.
   */
  written: (target: object, key: string) => boolean;
}

export function oneOfText(values: readonly string[]): string {
  const quoted = values.map((v) => `"${v}"`);
  return quoted.length === 1 ? quoted[0] : `${quoted.slice(0, -1).join(', ')} or ${quoted[quoted.length - 1]}`;
}

/**
 * Checks what the grammar cannot: required parts, references between definitions (with
 * did-you-mean hints), duplicate names, enumerations, ranges, durations, model strings, and
 * pipeline conditions, input templates and cycles. Shared by both routes, so `.ias` and
 * JSON/YAML give the same messages. It covers everything the runtime refuses in a definition,
 * so `npm run definitions -- check` accepts exactly what the server starts with.
 */
export function validateDraft(draft: DefinitionsDraft, loc: Locator, diags: DiagnosticBag, options: ValidateOptions): void {
  new Validator(draft, loc, diags, options).run();
}

class Validator {
  private readonly names = new Map<CollectionName, Set<string>>();

  constructor(
    private readonly d: DefinitionsDraft,
    private readonly loc: Locator,
    private readonly diags: DiagnosticBag,
    private readonly options: ValidateOptions,
  ) {}

  private error(path: ModelPath, message: string, ...hints: (string | undefined)[]): void {
    this.diags.error(this.loc.at(path), message, ...hints);
  }

  /**
   * For checks of what a value says (a model string, a condition): a value the parser already
   * refused at that position (an unterminated string, say) is not reported a second time.
   */
  private valueError(path: ModelPath, message: string, ...hints: (string | undefined)[]): void {
    const pos = this.loc.at(path);
    const known = this.diags.items.some(
      (d) => d.severity === 'error' && d.file === pos.file && d.line === pos.line && d.column === pos.column,
    );
    if (!known) this.diags.error(pos, message, ...hints);
  }

  run(): void {
    if (this.options.checkPackage) this.packageInfo();
    for (const kind of COLLECTIONS) this.collectNames(kind);
    this.d.prompts.forEach((_, i) => this.prompt(i));
    this.d.skills.forEach((s, i) => this.skill(s, i));
    this.d.agents.forEach((a, i) => this.agent(a, i));
    this.d.pipelines.forEach((p, i) => this.pipeline(p, i));
    this.deploys();
    this.d.mcp_servers.forEach((_, i) => this.server(i));
    this.d.mcp_clients.forEach((c, i) =>
      c.servers.forEach((s, j) => this.reference('mcp_servers', s, ['mcp_clients'], i, 'servers', j)),
    );
    this.users();
    checkAgentConfig(this.d, this.loc, this.diags, this.options.describePos);
    checkGuardrails(this.d, this.loc, this.diags, this.options);
    checkAgentExpressions(this.d, this.loc, this.diags, this.options.written);
    checkEvalCases(this.d, this.loc, this.diags, this.options);
    checkDelegation(this.d, this.loc, this.diags);
  }

  private packageInfo(): void {
    const p = this.d.package;
    if (!p.name) this.error(['package'], 'the package has no name');
    if (!p.version) this.error(['package'], 'the package has no version');
    else if (!/^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/.test(p.version)) {
      this.error(['package', 'version'], `package version "${p.version}" is not a semantic version`, 'use MAJOR.MINOR.PATCH, e.g. "1.0.0"');
    }
    if (!p.lang) this.error(['package'], 'the package has no lang');
    else if (p.lang === '1.0') {
      this.error(['package', 'lang'], 'IntentLang 1.0 is no longer supported', 'migrate the definitions to lang "2.0"');
    } else if (p.lang !== '2.0' && p.lang !== '3.0') {
      this.diags.warning(this.loc.at(['package', 'lang']), `unknown IntentLang version "${p.lang}"; reading it as 2.0/3.0`);
    }
  }

  private collectNames(kind: CollectionName): void {
    const seen = new Map<string, number>();
    const items = this.d[kind] as { name: string }[];
    items.forEach((item, i) => {
      const first = seen.get(item.name);
      if (first !== undefined) {
        const where = this.options.describePos(this.loc.at([kind, first, 'name']));
        this.error([kind, i, 'name'], `duplicate ${KIND_LABELS[kind]} "${item.name}"`, `the first one is at ${where}`);
      } else {
        seen.set(item.name, i);
      }
    });
    this.names.set(kind, new Set(seen.keys()));
  }

  // Paths are passed as a base and up to three more segments, joined only when reporting:
  // building them eagerly was a measurable share of validating a large set.

  private reference(kind: CollectionName, name: string, base: ModelPath, a: Seg, b?: Seg, c?: Seg): boolean {
    const known = this.names.get(kind);
    if (known?.has(name)) return true;
    this.error(join(base, a, b, c), `${KIND_LABELS[kind]} "${name}" not found`, didYouMean(name, known ?? []));
    return false;
  }

  private duration(value: string | undefined, base: ModelPath, key: Seg, what: string): void {
    if (value === undefined || parseDuration(value) !== undefined) return;
    this.error(join(base, key), `invalid duration "${value}" for ${what}`, 'use a number and a unit: "500ms", "30s", "5m", "2h", "1d"');
  }

  private minimum(value: number | undefined, min: number, base: ModelPath, key: Seg, what: string, key2?: Seg): void {
    if (value !== undefined && value < min) this.error(join(base, key, key2), `${what} must be at least ${min}, got ${value}`);
  }

  private typeName(type: string, base: ModelPath, index: number, what: string): void {
    if (type === '' || PRIMITIVE_SET.has(type) || this.names.get('types')?.has(type)) return;
    const known = [...PRIMITIVE_TYPES, ...(this.names.get('types') ?? [])];
    this.error(join(base, index, 'type'), `unknown type "${type}" for ${what}`, didYouMean(type, known));
  }

  private fieldList(fields: { name: string; type: string }[], base: ModelPath, owner: string, kind: string): void {
    if (fields.length === 0) return;
    const seen = new Set<string>();
    for (let i = 0; i < fields.length; i++) {
      const f = fields[i];
      if (seen.has(f.name)) this.error(join(base, i), `duplicate ${kind} "${f.name}" in ${owner}`);
      seen.add(f.name);
      this.typeName(f.type, base, i, `${kind} "${f.name}"`);
    }
  }

  private prompt(i: number): void {
    const p = this.d.prompts[i];
    const ctx = `prompt "${p.name}"`;
    if (p.content === '' && !this.options.written(p, 'content')) this.error(['prompts', i], `${ctx} has no content`, 'add: content "…"');
    this.fieldList(p.variables, ['prompts', i, 'variables'], ctx, 'variable');
    if (p.variables.length === 0) return;
    const declared = new Set(p.variables.map((v) => v.name));
    const reported = new Set<string>();
    for (const { key: name } of placeholders(p.content)) {
      if (declared.has(name) || reported.has(name) || name.startsWith(CONFIG_PREFIX)) continue;
      reported.add(name);
      this.diags.warning(
        this.loc.at(['prompts', i, 'content']),
        `${ctx} uses {{${name}}}, which is not among its variables`,
        didYouMean(name, declared),
      );
    }
  }

  private skill(s: SkillDraft, i: number): void {
    const ctx = `skill "${s.name}"`;
    this.fieldList(s.input, ['skills', i, 'input'], ctx, 'input field');
    this.fieldList(s.output, ['skills', i, 'output'], ctx, 'output field');
    if (s.tool === undefined) {
      if (this.options.written(s, 'tool')) return;
      this.error(
        ['skills', i],
        `${ctx} has no tool`,
        'add one of: tool http { … }, tool command { … }, tool inline { … }, tool mcp "server/tool"',
      );
      return;
    }
    this.tool(s.tool, ['skills', i, 'tool'], `tool ${s.tool.type} of ${ctx}`);
  }

  private tool(t: ToolDraft, base: ModelPath, ctx: string): void {
    switch (t.type) {
      case 'http':
        if (!t.url && !this.options.written(t, 'url')) this.error(base, `${ctx} has no url`);
        if (t.method !== undefined && !HTTP_METHODS.includes(t.method.toUpperCase())) {
          this.error([...base, 'method'], `unknown HTTP method "${t.method}" in ${ctx}`, didYouMean(t.method.toUpperCase(), HTTP_METHODS));
        }
        this.duration(t.timeout, base, 'timeout', ctx);
        return;
      case 'command':
        if (!t.binary && !this.options.written(t, 'binary')) this.error(base, `${ctx} has no binary`);
        this.duration(t.timeout, base, 'timeout', ctx);
        for (const [env, secret] of Object.entries(t.secrets ?? {})) {
          this.reference('secrets', secret, base, 'secrets', env);
        }
        return;
      case 'inline':
        if (!t.language && !this.options.written(t, 'language')) this.error(base, `${ctx} has no language`);
        if (!t.code && !this.options.written(t, 'code')) this.error(base, `${ctx} has no code`);
        this.duration(t.timeout, base, 'timeout', ctx);
        if (t.memory !== undefined && parseSize(t.memory) === undefined) {
          this.error([...base, 'memory'], `invalid memory size "${t.memory}" for ${ctx}`, 'use a number and a unit: "128MB", "1GB"');
        }
        return;
      case 'mcp': {
        const ref = t.server_tool ?? '';
        const slash = ref.indexOf('/');
        if (slash <= 0 || slash === ref.length - 1) {
          this.error([...base, 'server_tool'], `${ctx} expects "server/tool", got "${ref}"`);
          return;
        }
        this.reference('mcp_servers', ref.slice(0, slash), base, 'server_tool');
      }
    }
  }

  private agent(a: AgentDraft, i: number): void {
    const ctx = `agent "${a.name}"`;
    const base: ModelPath = ['agents', i];
    if (a.prompt !== undefined) this.reference('prompts', a.prompt, base, 'prompt');
    else if (!this.options.written(a, 'prompt')) this.error(base, `${ctx} has no prompt`, 'add: uses prompt "<name>"');
    for (let j = 0; j < a.skills.length; j++) this.reference('skills', a.skills[j], base, 'skills', j);
    if (a.model === undefined && a.models === undefined) {
      if (!this.options.written(a, 'model') && !this.options.written(a, 'models')) {
        this.error(base, `${ctx} has no model`, 'add: model "mock/echo", or models ["a", "b"] for a fallback chain');
      }
    } else if (a.models !== undefined && a.models.length === 0) {
      this.error([...base, 'models'], `the models list of ${ctx} is empty`);
    } else if (a.model !== undefined && a.models !== undefined && a.model !== a.models[0]) {
      this.error([...base, 'model'], `${ctx} sets both model and models`, 'keep one: the first entry of models is the model');
    }
    if (a.model === '' || a.models?.includes('')) this.error([...base, 'model'], `${ctx} has an empty model name`);
    if (a.models !== undefined) a.models.forEach((m, j) => this.modelRef(m, ctx, base, 'models', j));
    else if (a.model !== undefined) this.modelRef(a.model, ctx, base, 'model');
    if (a.temperature !== undefined && !(a.temperature >= 0 && a.temperature <= 2)) {
      this.error([...base, 'temperature'], `temperature must be between 0 and 2, got ${a.temperature}`);
    }
    this.minimum(a.max_turns, 1, base, 'max_turns', 'max_turns');
    this.minimum(a.token_budget, 1, base, 'token_budget', 'token_budget');
    this.minimum(a.max_retries, 0, base, 'max_retries', 'max_retries');
    this.minimum(a.memory?.max_messages, 1, base, 'memory', 'max_messages', 'max_messages');
    this.minimum(a.budget?.daily, 0, base, 'budget', 'the daily budget', 'daily');
    this.minimum(a.budget?.monthly, 0, base, 'budget', 'the monthly budget', 'monthly');
    this.duration(a.timeout, base, 'timeout', ctx);
    if (a.strategy !== undefined && !AGENT_STRATEGIES.includes(a.strategy)) {
      this.error(
        [...base, 'strategy'],
        `unknown strategy "${a.strategy}" for ${ctx}`,
        didYouMean(a.strategy, AGENT_STRATEGIES) ?? `strategies: ${AGENT_STRATEGIES.join(', ')}`,
      );
    }
    if (a.on_error !== undefined && !ON_ERROR_VALUES.includes(a.on_error)) {
      this.error(
        [...base, 'on_error'],
        `on_error must be ${oneOfText(ON_ERROR_VALUES)}, got "${a.on_error}"`,
        didYouMean(a.on_error, ON_ERROR_VALUES),
      );
    }
    if (a.fallback !== undefined) {
      if (a.fallback === a.name) this.error([...base, 'fallback'], `${ctx} cannot fall back to itself`);
      else this.reference('agents', a.fallback, base, 'fallback');
    } else if (a.on_error === 'fallback') {
      this.error([...base, 'on_error'], `on_error "fallback" needs a fallback agent in ${ctx}`, 'add: fallback "<agent>"');
    }
    a.delegates.forEach((dg, j) => this.reference('agents', dg.agent, base, 'delegates', j, 'agent'));
    a.guardrails.forEach((g, j) => this.reference('guardrails', g, base, 'guardrails', j));
    if (a.client !== undefined) this.reference('mcp_clients', a.client, base, 'client');
    if (a.on_input !== undefined) this.onInput(a.on_input, [...base, 'on_input']);
  }

  private modelRef(value: string, ctx: string, base: ModelPath, a: Seg, b?: Seg): void {
    if (value === '') return;
    const problem = checkModelRef(value);
    if (problem === undefined) return;
    this.valueError(join(base, a, b), `invalid model ${JSON.stringify(value)} in ${ctx}: ${problem.reason}`, problem.hint);
  }

  private onInput(statements: OnInputStatement[], base: ModelPath): void {
    statements.forEach((s, j) => {
      const path = [...base, j];
      switch (s.kind) {
        case 'use_skill':
          this.reference('skills', s.skill, path, 'skill');
          return;
        case 'delegate':
          this.reference('agents', s.agent, path, 'agent');
          return;
        case 'if':
          s.branches.forEach((b, k) => this.onInput(b.body, [...path, 'branches', k, 'body']));
          if (s.else !== undefined) this.onInput(s.else, [...path, 'else']);
          return;
        case 'for_each':
          this.onInput(s.body, [...path, 'body']);
          return;
        case 'respond':
          return;
      }
    });
  }

  /**
   * Everything the pipeline engine refuses when it builds a run's graph (src/pipelines/pipeline-graph.ts),
   * here with positions: steps, dependencies, `when` conditions, input templates and cycles.
   */
  private pipeline(p: PipelineDraft, i: number): void {
    const ctx = `pipeline "${p.name}"`;
    const base: ModelPath = ['pipelines', i];
    if (p.steps.length === 0) {
      this.error(base, `${ctx} has no steps`, 'add: step "name" { agent "<agent>" }');
      return;
    }
    const index = new Map<string, number>();
    p.steps.forEach((s, j) => {
      if (s.name === '') this.error([...base, 'steps', j, 'name'], `a step of ${ctx} has an empty name`);
      else if (index.has(s.name)) this.error([...base, 'steps', j, 'name'], `duplicate step "${s.name}" in ${ctx}`);
      else index.set(s.name, j);
    });
    const stepNames = [...index.keys()];
    // The steps each step waits for, as the engine orders them: depends_on, then what its
    // condition reads, then what its input reads. Each edge keeps the attribute it was
    // written in (and its index in depends_on), for reporting a cycle it closes.
    const edges = p.steps.map((s, j) => {
      const stepCtx = `step "${s.name}" of ${ctx}`;
      if (s.agent === undefined) {
        if (!this.options.written(s, 'agent')) this.error(join(base, 'steps', j), `${stepCtx} has no agent`, 'add: agent "<agent>"');
      } else {
        this.reference('agents', s.agent, base, 'steps', j, 'agent');
      }
      const out = new Map<string, { target: number; key: 'depends_on' | 'when' | 'input'; k?: number }>();
      s.depends_on.forEach((dep, k) => {
        const target = index.get(dep);
        if (target === undefined) {
          this.error(join(base, 'steps', j, 'depends_on').concat(k), `step "${dep}" not found in ${ctx}`, didYouMean(dep, stepNames));
        } else if (out.has(dep)) {
          this.error(join(base, 'steps', j, 'depends_on').concat(k), `${stepCtx} lists "${dep}" twice in depends_on`);
        } else {
          out.set(dep, { target, key: 'depends_on', k });
        }
      });
      const read = (names: readonly string[], key: 'when' | 'input', what: string): void => {
        for (const name of names) {
          const target = index.get(name);
          if (target === undefined) {
            const message = `${what} of ${stepCtx} reads step "${name}", which is not in the pipeline`;
            this.error(join(base, 'steps', j, key), message, didYouMean(name, stepNames));
          } else if (!out.has(name)) {
            out.set(name, { target, key });
          }
        }
      };
      if (s.when !== undefined) read(this.whenReferences(s.when, join(base, 'steps', j, 'when'), stepCtx), 'when', 'the when condition');
      if (s.input !== undefined) read(stepInputReferences(s.input), 'input', 'the input');
      return [...out.values()];
    });
    for (const cycle of findCycles(edges.map((out) => out.map((e) => e.target)))) {
      const names = cycle.path.map((j) => p.steps[j].name);
      const { key, k } = edges[cycle.from][cycle.edge];
      this.error(join(base, 'steps', cycle.from, key).concat(k ?? []), `dependency cycle in ${ctx}: ${names.join(' -> ')}`);
    }
  }

  /** The steps a condition reads; none when it does not parse, which is reported. */
  private whenReferences(condition: string, path: ModelPath, ctx: string): readonly string[] {
    try {
      return parseWhen(condition).references;
    } catch (error) {
      if (!(error instanceof WhenSyntaxError)) throw error;
      const { pos, exact } = expressionPosition(this.loc, path.slice(0, -1), 'when', error.column);
      const message = `invalid when condition of ${ctx}: ${error.reason}${exact ? '' : ` (column ${error.column} of the condition)`}`;
      const at = this.loc.at(path);
      const known = this.diags.items.some((d) => d.severity === 'error' && d.file === at.file && d.line === at.line && d.column === at.column);
      if (!known) this.diags.error(pos, message, error.hint);
      return [];
    }
  }

  private deploys(): void {
    let firstDefault: string | undefined;
    this.d.deploy.forEach((dp, i) => {
      const base: ModelPath = ['deploy', i];
      const ctx = `deploy "${dp.name}"`;
      if (dp.target !== '' && !DEPLOY_TARGETS.includes(dp.target)) {
        this.error(
          [...base, 'target'],
          `unknown deploy target "${dp.target}"`,
          didYouMean(dp.target, DEPLOY_TARGETS) ?? `targets: ${DEPLOY_TARGETS.join(', ')}`,
        );
      }
      if (dp.default) {
        if (firstDefault !== undefined) {
          this.error([...base, 'default'], `more than one deploy block is the default`, `deploy "${firstDefault}" is already the default`);
        } else {
          firstDefault = dp.name;
        }
      }
      if (dp.port !== undefined && !(dp.port >= 1 && dp.port <= 65535)) {
        this.error([...base, 'port'], `port must be between 1 and 65535, got ${dp.port}`);
      }
      this.minimum(dp.replicas, 1, base, 'replicas', 'replicas');
      if (dp.health !== undefined) {
        this.duration(dp.health.interval, [...base, 'health'], 'interval', `the health block of ${ctx}`);
        this.duration(dp.health.timeout, [...base, 'health'], 'timeout', `the health block of ${ctx}`);
      }
    });
  }

  /** Principals (docs/security.md): agents, role, the key's variable, one variable per user. */
  private users(): void {
    const byVariable = new Map<string, string>();
    this.d.users.forEach((u, i) => {
      const base: ModelPath = ['users', i];
      const ctx = `user "${u.name}"`;
      u.agents.forEach((a, j) => this.reference('agents', a, base, 'agents', j));
      if (u.role !== undefined && !USER_ROLE_SPELLINGS.includes(u.role)) {
        this.error([...base, 'role'], `unknown role "${u.role}" for ${ctx}`, didYouMean(u.role, USER_ROLES) ?? `roles: ${USER_ROLES.join(', ')}`);
      } else {
        const role = u.role === undefined || u.role === 'invoke' ? 'user' : u.role;
        if (role !== 'user' && u.agents.length > 0) {
          this.diags.warning(this.loc.at([...base, 'agents']), `the agents of ${ctx} have no effect: role "${role}" is not limited to agents`);
        }
        if ((u.name === 'admin' || u.name === 'auditor') && role !== u.name) {
          this.diags.warning(
            this.loc.at([...base, 'name']),
            `${ctx} has role "${role}", but SSO tokens with the role "${u.name}" get ${u.name} access, not this block's`,
          );
        }
      }
      if (u.key_env === undefined) return;
      if (!ENV_NAME.test(u.key_env)) {
        this.error(
          [...base, 'key_env'],
          `the key of ${ctx} must name an environment variable, got "${u.key_env}"`,
          'letters, digits and _, not starting with a digit: key secret("SUPPORT_API_KEY")',
        );
        return;
      }
      const first = byVariable.get(u.key_env);
      if (first !== undefined) {
        this.error([...base, 'key_env'], `${ctx} has the same key as user "${first}" (secret("${u.key_env}"))`, 'give each user a key of its own');
      } else {
        byVariable.set(u.key_env, u.name);
      }
    });
  }

  private server(i: number): void {
    const s = this.d.mcp_servers[i];
    const base: ModelPath = ['mcp_servers', i];
    const ctx = `server "${s.name}"`;
    if (s.transport !== undefined && !MCP_TRANSPORTS.includes(s.transport)) {
      this.error(
        [...base, 'transport'],
        `unknown transport "${s.transport}" in ${ctx}`,
        didYouMean(s.transport, MCP_TRANSPORTS) ?? `transports: ${MCP_TRANSPORTS.join(', ')}`,
      );
    } else if ((s.transport ?? 'stdio') === 'stdio') {
      if (s.command === undefined && s.url === undefined) {
        this.error(base, `${ctx} has no command`, 'add: command "…" (or a url with transport "sse")');
      }
    } else if (s.url === undefined) {
      this.error(base, `${ctx} has no url`);
    }
    if (s.auth !== undefined) this.reference('secrets', s.auth, base, 'auth');
    s.exposes.forEach((sk, j) => this.reference('skills', sk, base, 'exposes', j));
  }
}
