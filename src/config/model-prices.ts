import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigValueError } from './parsers.js';

/** US dollars per million tokens. */
export interface ModelPrice {
  input: number;
  output: number;
}

/** AGENTSPEC_MODEL_PRICES: `provider/model` or bare `model` (an id prefix) → its price. */
export type ModelPriceOverrides = Record<string, ModelPrice>;

/** The providers of docs/definitions.md (src/definitions/model-ref.ts; config imports no core code). */
const PROVIDER_NAMES = ['openai', 'anthropic', 'ollama', 'mock'];

/**
 * A JSON object `{"openai/gpt-4o": {"input": 2.5, "output": 10}, "llama3.1": {...}}`, or
 * `@/path/to/file.json` holding one (a relative path is taken from the working directory).
 */
export function parseModelPrices(raw: string): ModelPriceOverrides {
  const text = raw.trim();
  let json = text;
  if (text.startsWith('@')) {
    const path = resolve(text.slice(1).trim());
    try {
      json = readFileSync(path, 'utf8');
    } catch (error) {
      throw new ConfigValueError(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (error) {
    throw new ConfigValueError(`is not valid JSON (${(error as Error).message})`);
  }
  if (!isPlainObject(parsed)) {
    throw new ConfigValueError('must be a JSON object like {"openai/gpt-4o": {"input": 2.5, "output": 10}}');
  }
  const prices: ModelPriceOverrides = {};
  for (const [key, value] of Object.entries(parsed)) {
    prices[checkKey(key)] = checkPrice(key, value);
  }
  return prices;
}

function checkKey(key: string): string {
  if (key.trim() === '' || /\s/.test(key)) throw new ConfigValueError(`"${key}" is not a model id`);
  const slash = key.indexOf('/');
  if (slash >= 0) {
    const provider = key.slice(0, slash);
    if (!PROVIDER_NAMES.includes(provider)) {
      throw new ConfigValueError(`"${key}": unknown provider "${provider}" (use ${PROVIDER_NAMES.join(', ')}, or a bare model id)`);
    }
    if (slash === key.length - 1) throw new ConfigValueError(`"${key}": the model id after "${provider}/" is empty`);
  }
  return key;
}

function checkPrice(key: string, value: unknown): ModelPrice {
  const shape = `"${key}" must be {"input": <USD per 1M tokens>, "output": <USD per 1M tokens>}`;
  if (!isPlainObject(value)) throw new ConfigValueError(shape);
  const extra = Object.keys(value).filter((name) => name !== 'input' && name !== 'output');
  if (extra.length > 0) throw new ConfigValueError(`${shape}; unexpected ${extra.map((name) => `"${name}"`).join(', ')}`);
  for (const side of ['input', 'output'] as const) {
    const price = value[side];
    if (typeof price !== 'number' || !Number.isFinite(price) || price < 0) {
      throw new ConfigValueError(`"${key}".${side} must be a number ≥ 0 (USD per 1M tokens)`);
    }
  }
  return { input: value.input as number, output: value.output as number };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
