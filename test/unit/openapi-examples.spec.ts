import { readdirSync, readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { toJsonSchema } from '../support/contract.js';

/**
 * Swagger UI's "Try it out" sends what openapi.json prefills (issue 14): every request body has an
 * explicit example, valid against its schema read strictly (the server refuses unknown fields),
 * using no deprecated compatibility field; agent and pipeline names in path examples are ones the
 * bundled definitions (agents/) serve.
 */

type Schema = Record<string, unknown> & { $ref?: string; properties?: Record<string, Schema>; deprecated?: boolean };

interface Operation {
  parameters?: { name: string; in: string; schema?: { example?: unknown } }[];
  requestBody?: { content: Record<string, { schema: Schema; example?: unknown; examples?: Record<string, { value: unknown }> }> };
}

const document = JSON.parse(readFileSync('openapi.json', 'utf8')) as {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema> };
};
const bundled = readdirSync('agents')
  .filter((file) => file.endsWith('.ias'))
  .map((file) => readFileSync(`agents/${file}`, 'utf8'))
  .join('\n');
const namesOf = (kind: string) => new Set([...bundled.matchAll(new RegExp(`^${kind} "([^"]+)"`, 'gm'))].map((match) => match[1]));

const operations = Object.entries(document.paths).flatMap(([path, byMethod]) =>
  Object.entries(byMethod).map(([method, operation]) => ({ label: `${method.toUpperCase()} ${path}`, path, operation })),
);

function resolve(schema: Schema): Schema {
  return schema.$ref ? resolve(document.components.schemas[schema.$ref.split('/').pop()!]) : schema;
}

/** Dotted paths of the deprecated fields `value` sets. */
function deprecatedFields(value: unknown, schema: Schema, at = ''): string[] {
  const properties = resolve(schema).properties;
  if (!properties || typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([key, entry]) => {
    const property = properties[key];
    if (!property) return [];
    const field = at ? `${at}.${key}` : key;
    return [...(resolve(property).deprecated || property.deprecated ? [field] : []), ...deprecatedFields(entry, property, field)];
  });
}

describe('openapi.json references', () => {
  it('resolves every $ref to a component', () => {
    const refs = [...JSON.stringify(document).matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)].map((match) => match[1]);
    expect(refs.filter((name) => !document.components.schemas[name])).toEqual([]);
  });
});

describe('openapi.json request examples', () => {
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  ajv.addSchema({
    $id: 'openapi-components',
    definitions: Object.fromEntries(Object.entries(document.components.schemas).map(([name, schema]) => [name, toJsonSchema(schema)])),
  });
  const withBody = operations.filter(({ operation }) => operation.requestBody);

  it('covers the routes that take a body', () => {
    expect(withBody.map(({ label }) => label)).toEqual(
      expect.arrayContaining([
        'POST /v1/agents/{name}/invoke',
        'POST /v1/agents/{name}/stream',
        'POST /v1/pipelines/{name}/run',
        'POST /v1/keys',
      ]),
    );
  });

  it.each(withBody)('$label: the prefilled body is valid and uses no deprecated field', ({ operation }) => {
    const media = operation.requestBody!.content['application/json'];
    const values = media.examples ? Object.values(media.examples).map((example) => example.value) : [media.example];
    expect(
      values.filter((value) => value !== undefined),
      'an explicit example, so Swagger UI does not build one',
    ).not.toHaveLength(0);
    const validate = ajv.compile(toJsonSchema(media.schema));
    for (const value of values) {
      expect(validate(value) ? [] : validate.errors, JSON.stringify(value)).toEqual([]);
      expect(deprecatedFields(value, media.schema), JSON.stringify(value)).toEqual([]);
    }
  });

  it.each(operations.filter(({ path }) => path.includes('{name}')))(
    '$label: the {name} example is served by agents/',
    ({ path, operation }) => {
      const example = operation.parameters?.find((parameter) => parameter.in === 'path' && parameter.name === 'name')?.schema?.example;
      const served = namesOf(path.startsWith('/v1/pipelines/') ? 'pipeline' : 'agent');
      expect([...served]).toContain(example);
    },
  );
});
