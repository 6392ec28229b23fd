import { registerDecorator, type ValidationArguments, type ValidationOptions } from 'class-validator';
import { shorten } from './request-values.js';

/** Bounds on a string record; each is optional. */
export interface StringRecordLimits {
  maxKeys?: number;
  maxKeyLength?: number;
  maxValueLength?: number;
}

/** An object whose values are all strings (`{ "name": "Ada" }`), within `limits`. */
export function IsStringRecord(limits: StringRecordLimits = {}, options?: ValidationOptions): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'isStringRecord',
      target: target.constructor,
      propertyName: propertyName as string,
      options,
      validator: {
        validate: (value: unknown) => problemOf(String(propertyName), value, limits) === undefined,
        defaultMessage: (args?: ValidationArguments) => problemOf(String(propertyName), args?.value, limits) ?? '',
      },
    });
}

/** What is wrong with `value`, in words, or undefined. */
function problemOf(name: string, value: unknown, { maxKeys, maxKeyLength, maxValueLength }: StringRecordLimits): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return `${name} must be an object of string values`;
  const entries = Object.entries(value);
  if (maxKeys !== undefined && entries.length > maxKeys) return `${name} must have at most ${maxKeys} keys`;
  for (const [key, entry] of entries) {
    const field = `${name}.${shorten(key)}`;
    if (typeof entry !== 'string') return `${name} must be an object of string values`;
    if (maxKeyLength !== undefined && key.length > maxKeyLength) return `${field}: keys of ${name} must be at most ${maxKeyLength} characters long`;
    if (maxValueLength !== undefined && entry.length > maxValueLength) return `${field} must be at most ${maxValueLength} characters long`;
  }
  return undefined;
}
