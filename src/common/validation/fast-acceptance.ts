/**
 * A DTO class may carry, under FAST_ACCEPT, a check that recognises the common valid bodies
 * without class-transformer and class-validator, and builds the same instance they would. It
 * answers only "certainly valid" (the instance) or "don't know" (undefined): every other body,
 * so every refusal and its message, still goes through class-validator. The validation pipe
 * uses it only on the class that declares it, never on a subclass, which may add rules.
 */
export const FAST_ACCEPT = Symbol('fastAccept');

export type FastAcceptor = (body: Record<string, unknown>) => object | undefined;

export function fastAcceptorOf(metatype: unknown): FastAcceptor | undefined {
  if (typeof metatype !== 'function' || !Object.hasOwn(metatype, FAST_ACCEPT)) return undefined;
  return (metatype as unknown as Record<typeof FAST_ACCEPT, FastAcceptor>)[FAST_ACCEPT];
}

/** Keys class-transformer would not copy as plain data. */
const SPECIAL_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** `@IsStringRecord()` without limits, holding only plain keys: an object of string values. */
export function isPlainStringRecord(value: unknown): value is Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || Object.getPrototypeOf(value) !== Object.prototype) return false;
  for (const key in value) {
    if (SPECIAL_KEYS.has(key) || typeof (value as Record<string, unknown>)[key] !== 'string') return false;
  }
  return true;
}

/** `@IsString() @IsNotEmpty() @MaxLength(max)`: a string of 1 to `max` UTF-16 units is certainly valid. */
export function isShortNonEmptyString(value: unknown, max: number): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= max;
}

/** A parsed JSON object: own keys only, plain prototype. */
export function isPlainJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.getPrototypeOf(value) === Object.prototype;
}
