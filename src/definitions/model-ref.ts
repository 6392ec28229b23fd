/**
 * The grammar of model strings (`provider/model-id`, or a bare id a provider can be told
 * from), shared by the definitions validator and the provider registry so that a model the
 * loader accepts is one the runtime can serve.
 */

export type ProviderName = 'openai' | 'anthropic' | 'ollama' | 'mock';

export const PROVIDER_NAMES: readonly ProviderName[] = ['openai', 'anthropic', 'ollama', 'mock'];

/** A model string taken apart: `anthropic/claude-haiku-4-5` or bare `claude-haiku-4-5`. */
export interface ModelRef {
  provider: ProviderName;
  /** The id sent to the provider, without prefix. */
  model: string;
  /** Canonical `provider/model`, as used in errors and logs. */
  ref: string;
}

export const MODEL_USAGE =
  'use "<provider>/<model-id>" with provider openai, anthropic, ollama or mock, ' +
  'or a bare id starting with "claude-", "gpt-", "o1", "o3" or "o4"';

export class InvalidModelError extends Error {
  constructor(
    readonly value: string,
    /** What is wrong, without advice. */
    readonly reason: string,
    /** How to write it instead, when the reason alone does not say. */
    readonly hint?: string,
  ) {
    super(`invalid model "${value}": ${reason}${hint ? `; ${hint}` : ''}`);
    this.name = 'InvalidModelError';
  }
}

const BARE_OPENAI = /^(gpt-|o1|o3|o4)/;

/**
 * Resolves a model string as docs/definitions.md describes; throws `InvalidModelError` naming
 * what is wrong. Mock ids are checked against their own grammar (`parseMockModel`).
 */
export function parseModelRef(value: string): ModelRef {
  const text = value.trim();
  const slash = text.indexOf('/');
  let provider: ProviderName;
  let model: string;
  if (slash >= 0) {
    const prefix = text.slice(0, slash);
    if (!(PROVIDER_NAMES as readonly string[]).includes(prefix)) {
      throw new InvalidModelError(value, `unknown provider "${prefix}"`, MODEL_USAGE);
    }
    provider = prefix as ProviderName;
    model = text.slice(slash + 1);
  } else if (text.startsWith('claude-')) {
    provider = 'anthropic';
    model = text;
  } else if (BARE_OPENAI.test(text)) {
    provider = 'openai';
    model = text;
  } else {
    throw new InvalidModelError(value, text ? 'no provider can be told from the name' : 'empty', MODEL_USAGE);
  }
  if (!model) throw new InvalidModelError(value, `the model id after "${provider}/" is empty`);
  if (/\s/.test(model)) throw new InvalidModelError(value, 'the model id contains whitespace');
  if (provider === 'mock') {
    try {
      parseMockModel(model);
    } catch (err) {
      throw new InvalidModelError(value, (err as Error).message);
    }
  }
  return { provider, model, ref: `${provider}/${model}` };
}

/** The problem with a model string, or undefined when it is fine. */
export function checkModelRef(value: string): InvalidModelError | undefined {
  try {
    parseModelRef(value);
    return undefined;
  } catch (err) {
    if (err instanceof InvalidModelError) return err;
    throw err;
  }
}

/** `checkModelRef` as a message, for callers that collect problems as text. */
export function modelRefProblem(value: string): string | undefined {
  return checkModelRef(value)?.message;
}

export interface MockFailure {
  status: number;
  retryAfterMs?: number;
  afterTokens?: number;
}

export interface MockModelSpec {
  name: string;
  latencyMs: number;
  tokenDelayMs: number;
  failure?: MockFailure;
}

const MOCK_NAME = /^[A-Za-z0-9][A-Za-z0-9._:-]*$/;
const MOCK_OPTIONS = new Set(['latency', 'token_delay', 'fail', 'retry_after', 'fail_after']);
const MAX_MOCK_DURATION_MS = 10 * 60_000;

/** Parses a mock model id (without `mock/`, see docs/mock-model.md); throws an `Error` saying what is wrong. */
export function parseMockModel(id: string): MockModelSpec {
  const [name = '', query, ...extra] = id.split('?');
  if (!MOCK_NAME.test(name)) {
    throw new Error(`invalid mock model name "${name}" (letters, digits, ".", "_", "-", ":")`);
  }
  if (extra.length) throw new Error('a mock model id has at most one "?"');
  const values = new Map<string, string>();
  if (query !== undefined) {
    for (const pair of query.split('&')) {
      const [key = '', value, ...rest] = pair.split('=');
      if (!MOCK_OPTIONS.has(key)) throw new Error(`unknown mock option "${key}" (${[...MOCK_OPTIONS].join(', ')})`);
      if (value === undefined || value === '' || rest.length) throw new Error(`mock option "${key}" needs one value`);
      if (values.has(key)) throw new Error(`mock option "${key}" is given twice`);
      values.set(key, value);
    }
  }
  const spec: MockModelSpec = {
    name,
    latencyMs: mockDuration(values, 'latency'),
    tokenDelayMs: mockDuration(values, 'token_delay'),
  };
  const failStatus = values.get('fail');
  if (failStatus !== undefined && !/^[45]\d\d$/.test(failStatus)) {
    throw new Error(`mock option "fail" must be an HTTP status from 400 to 599, not "${failStatus}"`);
  }
  const afterTokens = values.get('fail_after');
  if (afterTokens !== undefined && !/^\d{1,6}$/.test(afterTokens)) {
    throw new Error(`mock option "fail_after" must be a whole number of tokens, not "${afterTokens}"`);
  }
  const failing = name === 'fail' || failStatus !== undefined || afterTokens !== undefined;
  if (values.has('retry_after') && !failing) {
    throw new Error('mock option "retry_after" needs a failure ("fail" or "fail_after")');
  }
  if (failing) {
    spec.failure = { status: failStatus ? Number(failStatus) : 500 };
    if (values.has('retry_after')) spec.failure.retryAfterMs = mockDuration(values, 'retry_after');
    if (afterTokens !== undefined) spec.failure.afterTokens = Number(afterTokens);
  }
  return spec;
}

function mockDuration(values: Map<string, string>, key: string): number {
  const raw = values.get(key);
  if (raw === undefined) return 0;
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(raw);
  const scale = match?.[2] === 's' ? 1000 : match?.[2] === 'm' ? 60_000 : 1;
  const ms = match ? Math.round(Number(match[1]) * scale) : Number.NaN;
  if (!(ms <= MAX_MOCK_DURATION_MS)) {
    throw new Error(`mock option "${key}" must be a duration up to 10m such as 200ms, 1.5s or 2m, not "${raw}"`);
  }
  return ms;
}
