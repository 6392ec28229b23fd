import { USER_ROLES } from './model.js';
import { DEPLOY_TARGETS, MCP_TRANSPORTS, ON_ERROR_VALUES } from './validator.js';

/**
 * The JSON Schema of the definitions model, for JSON and YAML input. It checks shape and
 * value types; references, ranges, durations and cycles are checked afterwards by the same
 * validator as `.ias` files, so both routes give the same messages for them. The committed
 * copy, schema/agentspec-definitions.schema.json, is printed from this object
 * (`npm run definitions -- schema`) and a test fails when the two drift apart.
 */
type Schema = Record<string, unknown>;

export const SCHEMA_ID = 'urn:agentspec-runtime:definitions-schema:1';

const str = (description?: string): Schema => (description ? { type: 'string', description } : { type: 'string' });
const int: Schema = { type: 'integer' };
const num: Schema = { type: 'number' };
const bool: Schema = { type: 'boolean' };
const strList: Schema = { type: 'array', items: { type: 'string' } };
const strMap: Schema = { type: 'object', additionalProperties: { type: 'string' } };
const duration = (what: string): Schema => str(`${what}: a number and a unit, e.g. "500ms", "30s", "5m", "2h", "1d"`);
const ref = (name: string): Schema => ({ $ref: `#/$defs/${name}` });
const list = (name: string): Schema => ({ type: 'array', items: ref(name) });
const enumOf = (values: readonly string[]): Schema => ({ type: 'string', enum: [...values] });

function obj(properties: Record<string, Schema>, required: string[] = ['name'], description?: string): Schema {
  const schema: Schema = { type: 'object' };
  if (description) schema.description = description;
  schema.properties = properties;
  if (required.length > 0) schema.required = required;
  schema.additionalProperties = false;
  return schema;
}

const genericValue: Schema = {
  anyOf: [
    { type: 'string' },
    { type: 'number' },
    { type: 'boolean' },
    { type: 'array', items: { $ref: '#/$defs/generic_value' } },
    { type: 'object', additionalProperties: { $ref: '#/$defs/generic_value' } },
  ],
};

const field = obj({ name: str(), type: str(), required: bool });

const toolVariants: Record<string, Schema> = {
  http: obj(
    {
      type: { const: 'http' },
      method: str('GET by default'),
      url: str('may contain {{field}} placeholders filled from the arguments'),
      headers: strMap,
      body_template: str(),
      timeout: duration('deadline'),
      timeout_ms: int,
    },
    ['type'],
  ),
  command: obj(
    {
      type: { const: 'command' },
      binary: str(),
      args: strList,
      timeout: duration('deadline'),
      timeout_ms: int,
      env: strMap,
      secrets: { ...strMap, description: 'environment variable → name of a secret declaration' },
    },
    ['type'],
  ),
  inline: obj(
    {
      type: { const: 'inline' },
      language: str(),
      code: str(),
      timeout: duration('deadline'),
      timeout_ms: int,
      memory: str('memory limit, e.g. "128MB"'),
      memory_bytes: int,
    },
    ['type'],
  ),
  mcp: obj(
    {
      type: { const: 'mcp' },
      server_tool: str('"server/tool"'),
      server: str(),
      tool: str(),
    },
    ['type', 'server_tool'],
  ),
};

const onInputStatement: Schema = {
  type: 'object',
  discriminator: { propertyName: 'kind' },
  properties: { kind: { type: 'string' } },
  required: ['kind'],
  oneOf: [
    obj({ kind: { const: 'use_skill' }, skill: str(), with: strMap }, ['kind', 'skill']),
    obj({ kind: { const: 'delegate' }, agent: str() }, ['kind', 'agent']),
    obj({ kind: { const: 'respond' }, text: str(), expression: str() }, ['kind']),
    obj(
      {
        kind: { const: 'if' },
        branches: {
          type: 'array',
          items: obj({ condition: str(), body: list('on_input_statement') }, ['condition', 'body']),
        },
        else: list('on_input_statement'),
      },
      ['kind', 'branches'],
    ),
    obj(
      { kind: { const: 'for_each' }, variable: str(), collection: str(), body: list('on_input_statement') },
      ['kind', 'variable', 'collection', 'body'],
    ),
  ],
};

export const DEFINITIONS_SCHEMA: Schema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: SCHEMA_ID,
  title: 'AgentSpec definitions',
  description:
    'The definitions model served by AgentSpec Runtime: what IntentLang (.ias) files lower into. ' +
    'Lists may be omitted (empty); names are unique per kind.',
  type: 'object',
  properties: {
    package: obj({ name: str(), version: str('semantic version'), lang: str('"2.0" or "3.0"') }, ['name', 'version', 'lang']),
    environment: str('the environment whose overrides were applied to the agents; absent: the base values'),
    prompts: list('prompt'),
    skills: list('skill'),
    agents: list('agent'),
    pipelines: list('pipeline'),
    deploy: list('deploy'),
    secrets: list('secret'),
    mcp_servers: list('mcp_server'),
    mcp_clients: list('mcp_client'),
    environments: list('environment'),
    policies: list('policy'),
    types: list('type'),
    users: list('user'),
    guardrails: list('guardrail'),
    states: list('state'),
    plugins: list('plugin'),
    bindings: list('binding'),
  },
  required: ['package'],
  additionalProperties: false,
  $defs: {
    generic_value: genericValue,
    field,
    prompt: obj({
      name: str(),
      content: str('the system prompt; {{name}} placeholders are filled at call time'),
      version: str(),
      description: str(),
      variables: { type: 'array', items: obj({ name: str(), type: str(), required: bool, default: str() }) },
      metadata: strMap,
    }),
    tool: {
      type: 'object',
      discriminator: { propertyName: 'type' },
      properties: { type: { type: 'string' } },
      required: ['type'],
      oneOf: Object.values(toolVariants),
    },
    skill: obj({
      name: str(),
      description: str(),
      input: list('field'),
      output: list('field'),
      tool: ref('tool'),
      metadata: strMap,
    }),
    on_input_statement: onInputStatement,
    agent: obj({
      name: str(),
      description: str(),
      prompt: str('name of a prompt'),
      skills: { ...strList, description: 'names of skills' },
      model: str('provider/model-id, e.g. "mock/echo"'),
      models: { ...strList, description: 'fallback chain, first entry first' },
      strategy: str(),
      max_turns: int,
      token_budget: int,
      temperature: num,
      timeout: duration('deadline of one model call'),
      timeout_ms: int,
      stream: bool,
      on_error: enumOf(ON_ERROR_VALUES),
      max_retries: int,
      fallback: str('name of another agent'),
      memory: obj({ strategy: str(), max_messages: int }, []),
      delegates: { type: 'array', items: obj({ agent: str(), when: str() }, ['agent']) },
      budget: obj({ daily: num, monthly: num }, []),
      guardrails: strList,
      client: str(),
      config: {
        type: 'array',
        items: obj({
          name: str(),
          type: str(),
          required: bool,
          secret: bool,
          default: { type: ['string', 'number', 'boolean'] },
          description: str(),
        }),
      },
      validate: {
        type: 'array',
        items: obj({ name: str(), severity: str(), max_retries: int, message: str(), when: str() }),
      },
      eval: {
        type: 'array',
        items: obj({ name: str(), input: str(), expect: str(), scoring: str(), threshold: num, tags: strList }),
      },
      on_input: list('on_input_statement'),
      metadata: strMap,
    }),
    pipeline: obj({
      name: str(),
      description: str(),
      steps: {
        type: 'array',
        items: obj({
          name: str(),
          agent: str('name of an agent'),
          input: str('{{input}} and {{steps.<name>.output}} are rendered'),
          output: str(),
          depends_on: { type: ['string', 'array'], items: { type: 'string' }, description: 'step names' },
          parallel: bool,
          when: str(),
        }),
      },
    }),
    deploy: obj({
      name: str(),
      target: enumOf(DEPLOY_TARGETS),
      default: bool,
      port: int,
      replicas: int,
      image: str(),
      namespace: str(),
      health: obj(
        { path: str(), interval: duration('probe interval'), interval_ms: int, timeout: duration('probe deadline'), timeout_ms: int },
        [],
      ),
      resources: obj({ cpu: str(), memory: str() }, []),
      autoscale: obj({ min: int, max: int, metric: str(), target: int }, []),
      env: strMap,
      secrets: strMap,
    }, ['name', 'target']),
    secret: obj({ name: str(), source: enumOf(['env', 'store']), key: str() }, ['name', 'source', 'key']),
    mcp_server: obj({
      name: str(),
      transport: enumOf(MCP_TRANSPORTS),
      command: str(),
      args: strList,
      url: str(),
      env: strMap,
      auth: str('name of a secret'),
      exposes: strList,
      metadata: strMap,
    }),
    mcp_client: obj({ name: str(), servers: strList, metadata: strMap }),
    environment: obj({
      name: str(),
      overrides: {
        type: 'array',
        items: obj(
          { resource: str(), name: str(), attributes: { type: 'object', additionalProperties: ref('generic_value') } },
          ['resource', 'name', 'attributes'],
        ),
      },
    }),
    policy: obj({
      name: str(),
      rules: {
        type: 'array',
        items: obj({ action: enumOf(['deny', 'allow', 'require']), resource: str(), subject: str() }, ['action', 'resource', 'subject']),
      },
    }),
    type: obj({
      name: str(),
      kind: enumOf(['object', 'enum', 'list']),
      fields: { type: 'array', items: obj({ name: str(), type: str(), required: bool, default: str() }) },
      values: strList,
      of: str(),
    }, ['name', 'kind']),
    user: obj({
      name: str(),
      key_env: str('environment variable holding this principal\'s API key; absent: a role for SSO token holders only'),
      agents: { ...strList, description: 'the agents a role "user" may use' },
      role: { ...enumOf(USER_ROLES), description: '"user" when absent' },
    }),
    guardrail: obj({ name: str(), mode: str(), keywords: strList, patterns: strList, fallback: str() }),
    state: obj({ name: str(), attributes: { type: 'object', additionalProperties: ref('generic_value') } }),
    plugin: obj({ name: str(), version: str() }),
    binding: obj({
      name: str(),
      adapter: str(),
      default: bool,
      config: { type: 'object', additionalProperties: ref('generic_value') },
    }),
  },
};
