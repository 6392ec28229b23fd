import { FUNCTIONS } from './expressions.js';

/**
 * The functions a condition in a `.ias` file may call (`if contains(lower(input.message),
 * "billing")`): those of pipeline `when` conditions (expressions.ts), also under the spellings
 * published IntentLang examples use, plus `matches(text, pattern)`. Each spelling maps to one
 * canonical name, the one the model keeps, so `startsWith(a, b)` lowers to `starts_with(a, b)`.
 */
const ALIASES: Readonly<Record<string, keyof typeof FUNCTIONS>> = {
  startsWith: 'starts_with',
  endsWith: 'ends_with',
  len: 'length',
};

const EXTRA: Readonly<Record<string, number>> = { matches: 2 };

export interface ConditionFunction {
  /** The canonical name. */
  name: string;
  arity: number;
}

const TABLE = new Map<string, ConditionFunction>([
  ...Object.entries(FUNCTIONS).map(([name, arity]): [string, ConditionFunction] => [name, { name, arity }]),
  ...Object.entries(ALIASES).map(([alias, name]): [string, ConditionFunction] => [alias, { name, arity: FUNCTIONS[name] }]),
  ...Object.entries(EXTRA).map(([name, arity]): [string, ConditionFunction] => [name, { name, arity }]),
]);

/** Every accepted spelling, for did-you-mean hints. */
export const CONDITION_FUNCTION_NAMES: readonly string[] = [...TABLE.keys()];

export function conditionFunction(spelling: string): ConditionFunction | undefined {
  return TABLE.get(spelling);
}
