import type { ToolSpec } from '../providers/model-provider.js';

export interface SkillField {
  name: string;
  type: string;
  required: boolean;
}

const JSON_TYPES: Record<string, string> = {
  string: 'string',
  text: 'string',
  int: 'integer',
  integer: 'integer',
  number: 'number',
  float: 'number',
  bool: 'boolean',
  boolean: 'boolean',
  list: 'array',
  array: 'array',
  object: 'object',
  map: 'object',
};

/** The JSON schema a model sees for a skill: one property per input field. */
export function toolSpecFor(skill: { name: string; description?: string; input: SkillField[] }): ToolSpec {
  const properties: Record<string, unknown> = {};
  for (const field of skill.input) {
    const base = field.type.toLowerCase().replace(/\[\]$/, '');
    const isList = field.type.endsWith('[]') || base.startsWith('list');
    const type = JSON_TYPES[base] ?? 'string';
    properties[field.name] = isList && type !== 'array' ? { type: 'array', items: { type } } : { type };
  }
  return {
    name: skill.name,
    description: skill.description ?? `The ${skill.name} skill.`,
    parameters: {
      type: 'object',
      properties,
      required: skill.input.filter((field) => field.required).map((field) => field.name),
      additionalProperties: false,
    },
  };
}
