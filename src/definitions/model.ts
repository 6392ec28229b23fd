/**
 * The definitions model: what `.ias` files lower into and what JSON/YAML files contain.
 * Field names are snake_case because this is also the published JSON shape
 * (schema/agentspec-definitions.schema.json). Lists are always present (possibly empty);
 * optional scalars are absent when not written. Durations keep their text (`timeout`) and are
 * also given in milliseconds (`timeout_ms`).
 */

export type GenericValue = string | number | boolean | GenericValue[] | { [key: string]: GenericValue };

export interface PackageInfo {
  name: string;
  version: string;
  lang: string;
}

export interface PromptVariable {
  name: string;
  type: string;
  required: boolean;
  default?: string;
}

export interface Prompt {
  name: string;
  content: string;
  version?: string;
  description?: string;
  variables: PromptVariable[];
  metadata: Record<string, string>;
}

export interface Field {
  name: string;
  type: string;
  required: boolean;
}

export interface HttpTool {
  type: 'http';
  method: string;
  url: string;
  headers: Record<string, string>;
  body_template?: string;
  timeout?: string;
  timeout_ms?: number;
}

export interface CommandTool {
  type: 'command';
  binary: string;
  args: string[];
  timeout?: string;
  timeout_ms?: number;
  env: Record<string, string>;
  /** Environment variable name → name of a `secret` declaration. */
  secrets: Record<string, string>;
}

export interface InlineTool {
  type: 'inline';
  language: string;
  code: string;
  timeout?: string;
  timeout_ms?: number;
  /** Memory limit as written (`"128MB"`), and in bytes. */
  memory?: string;
  memory_bytes?: number;
}

export interface McpTool {
  type: 'mcp';
  /** `"server/tool"` as written. */
  server_tool: string;
  server: string;
  tool: string;
}

export type Tool = HttpTool | CommandTool | InlineTool | McpTool;

export interface Skill {
  name: string;
  description?: string;
  input: Field[];
  output: Field[];
  tool: Tool;
  metadata: Record<string, string>;
}

export interface MemoryConfig {
  strategy?: string;
  max_messages?: number;
}

export interface Delegation {
  agent: string;
  when?: string;
}

export interface Budget {
  daily?: number;
  monthly?: number;
}

export interface ConfigParam {
  name: string;
  type: string;
  required: boolean;
  secret: boolean;
  default?: string | number | boolean;
  description?: string;
}

export interface ValidationRule {
  name: string;
  severity: string;
  max_retries?: number;
  message?: string;
  /** The condition as canonical expression text. */
  when?: string;
}

export interface EvalCase {
  name: string;
  input?: string;
  expect?: string;
  scoring?: string;
  threshold?: number;
  tags: string[];
}

export type OnInputStatement =
  | { kind: 'use_skill'; skill: string; with: Record<string, string> }
  | { kind: 'delegate'; agent: string }
  | { kind: 'respond'; text?: string; expression?: string }
  | { kind: 'if'; branches: { condition: string; body: OnInputStatement[] }[]; else?: OnInputStatement[] }
  | { kind: 'for_each'; variable: string; collection: string; body: OnInputStatement[] };

export type OnErrorPolicy = 'retry' | 'fail' | 'fallback';

export interface Agent {
  name: string;
  description?: string;
  prompt: string;
  skills: string[];
  /** The first model of the chain. */
  model: string;
  /** The fallback chain, `model` first; one entry when a single `model` was written. */
  models: string[];
  strategy?: string;
  max_turns?: number;
  token_budget?: number;
  temperature?: number;
  timeout?: string;
  timeout_ms?: number;
  stream?: boolean;
  on_error?: OnErrorPolicy;
  max_retries?: number;
  fallback?: string;
  memory?: MemoryConfig;
  delegates: Delegation[];
  budget?: Budget;
  guardrails: string[];
  client?: string;
  config: ConfigParam[];
  validate: ValidationRule[];
  eval: EvalCase[];
  on_input?: OnInputStatement[];
  metadata: Record<string, string>;
}

export interface PipelineStep {
  name: string;
  agent: string;
  input?: string;
  output?: string;
  depends_on: string[];
  parallel: boolean;
  when?: string;
}

export interface Pipeline {
  name: string;
  description?: string;
  steps: PipelineStep[];
}

export type DeployTargetKind = 'process' | 'docker' | 'docker-compose' | 'kubernetes';

export interface Deploy {
  name: string;
  target: DeployTargetKind;
  default: boolean;
  port?: number;
  replicas?: number;
  image?: string;
  namespace?: string;
  health?: { path?: string; interval?: string; interval_ms?: number; timeout?: string; timeout_ms?: number };
  resources?: { cpu?: string; memory?: string };
  autoscale?: { min?: number; max?: number; metric?: string; target?: number };
  env: Record<string, string>;
  secrets: Record<string, string>;
}

export interface Secret {
  name: string;
  source: 'env' | 'store';
  /** The environment variable name, or the path in the secret store. */
  key: string;
}

export interface McpServer {
  name: string;
  transport?: string;
  command?: string;
  args: string[];
  url?: string;
  env: Record<string, string>;
  /** Name of a `secret` declaration. */
  auth?: string;
  exposes: string[];
  metadata: Record<string, string>;
}

export interface McpClient {
  name: string;
  servers: string[];
  metadata: Record<string, string>;
}

export interface Environment {
  name: string;
  overrides: { resource: string; name: string; attributes: Record<string, GenericValue> }[];
}

export interface PolicyRule {
  action: 'deny' | 'allow' | 'require';
  resource: string;
  subject: string;
}

export interface Policy {
  name: string;
  rules: PolicyRule[];
}

export interface TypeField {
  name: string;
  type: string;
  required: boolean;
  default?: string;
}

export interface TypeDefinition {
  name: string;
  kind: 'object' | 'enum' | 'list';
  fields: TypeField[];
  values: string[];
  of?: string;
}

/**
 * What a `user` block's principal may do (docs/security.md). The `.ias` spelling `invoke`
 * (upstream AgentSpec's name for the same role) lowers to `user`.
 */
export const USER_ROLES = ['admin', 'auditor', 'user'] as const;
export type UserRole = (typeof USER_ROLES)[number];

/** A principal: `user "n" { key secret("ENV_NAME") agents ["a"] role "user" }`. */
export interface User {
  name: string;
  /**
   * The environment variable holding this principal's API key. Absent: the block only names
   * a role that SSO token holders may carry.
   */
  key_env?: string;
  /** The agents a `user` may use; ignored for `admin` and `auditor`. */
  agents: string[];
  role: UserRole;
}

export interface Guardrail {
  name: string;
  mode?: string;
  keywords: string[];
  patterns: string[];
  fallback?: string;
}

export interface StateBlock {
  name: string;
  attributes: Record<string, GenericValue>;
}

export interface Plugin {
  name: string;
  version?: string;
}

export interface Binding {
  name: string;
  adapter?: string;
  default: boolean;
  config: Record<string, GenericValue>;
}

export interface Definitions {
  package: PackageInfo;
  /**
   * The environment whose overrides were applied to the agents (AGENTSPEC_ENVIRONMENT, or
   * `check --env`); absent when the base values are served.
   */
  environment?: string;
  prompts: Prompt[];
  skills: Skill[];
  agents: Agent[];
  pipelines: Pipeline[];
  deploy: Deploy[];
  secrets: Secret[];
  mcp_servers: McpServer[];
  mcp_clients: McpClient[];
  environments: Environment[];
  policies: Policy[];
  types: TypeDefinition[];
  users: User[];
  guardrails: Guardrail[];
  states: StateBlock[];
  plugins: Plugin[];
  bindings: Binding[];
}

/** The model's collections, in the order they appear in the document. */
export const COLLECTIONS = [
  'prompts',
  'skills',
  'agents',
  'pipelines',
  'deploy',
  'secrets',
  'mcp_servers',
  'mcp_clients',
  'environments',
  'policies',
  'types',
  'users',
  'guardrails',
  'states',
  'plugins',
  'bindings',
] as const satisfies readonly (keyof Definitions)[];

export type CollectionName = (typeof COLLECTIONS)[number];

/** Every collection of the model, empty. */
export function emptyCollections(): Record<CollectionName, never[]> {
  return Object.fromEntries(COLLECTIONS.map((name) => [name, []])) as unknown as Record<CollectionName, never[]>;
}

export function emptyDefinitions(pkg: PackageInfo): Definitions {
  return { package: pkg, ...emptyCollections() };
}

/** The port of the default deploy block (or of the only one), if it sets one. */
export function defaultDeployPort(definitions: Definitions): number | undefined {
  const chosen =
    definitions.deploy.find((d) => d.default) ?? (definitions.deploy.length === 1 ? definitions.deploy[0] : undefined);
  return chosen?.port;
}
