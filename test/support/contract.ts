import { readFileSync } from 'node:fs';
import { Ajv, type ValidateFunction } from 'ajv';

/**
 * The contract test (issue 14): every answer the e2e suite receives from an app under test must
 * be one that openapi.json documents. An answer violates the contract when its status is not
 * documented for the operation, its content type is not the documented one, or its JSON body
 * does not validate against the documented schema, read strictly: an object schema with
 * `properties` admits no other field.
 *
 * Answers that no operation describes are held to the generic refusals of docs/api.md §1.7: an
 * unknown path is 404, a known path with another method 405, and either may first be refused for
 * its body (400, 413, 415); all with the error envelope.
 */

type Schema = Record<string, unknown>;

interface MediaType {
  schema?: Schema;
}

interface ResponseObject {
  content?: Record<string, MediaType>;
}

interface Operation {
  responses: Record<string, ResponseObject>;
}

interface OpenApiDocument {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema> };
}

/** One answer as the client saw it. */
export interface Exchange {
  method: string;
  url: string;
  status: number;
  contentType: string | null;
  /** The body as text; absent for streams and bodies that could not be read. */
  body?: string;
}

const SCHEMAS_ID = 'openapi-components';
const COMPONENT_REF = '#/components/schemas/';
/** Before route matching (§1.7): media type, size and syntax of the body. */
const BODY_REFUSALS = ['400', '413', '415'];
/**
 * Paths outside the API description: the Swagger UI and the document itself (docs/api.md §10), and
 * the web console's static files (docs/console.md). A documented operation under them
 * (`GET /console/config.json`) is checked like any other.
 */
const UNDESCRIBED = /^\/(?:docs(?:[-/]|$)|console(?:\/|$))/;

/** Where apps under test register their URL; a global, as setup files and tests may load this module apart. */
export const APPS = Symbol.for('agentspec.contract.apps');

/** Puts the answers of the app at `url` (`http://127.0.0.1:<port>`) under the contract test. */
export function underContract(url: string): void {
  const registry = globalThis as typeof globalThis & { [APPS]?: Set<string> };
  (registry[APPS] ??= new Set()).add(new URL(url).origin);
}

/** Compiled once per worker. */
let contract: Contract | undefined;

export function checkAgainstContract(exchange: Exchange): string[] {
  contract ??= new Contract(JSON.parse(readFileSync('openapi.json', 'utf8')) as OpenApiDocument);
  return contract.check(exchange);
}

class Contract {
  private readonly ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  private readonly routes: { pattern: RegExp; literals: number; path: string; operations: Record<string, Operation> }[];
  private readonly validators = new Map<Schema, ValidateFunction>();
  private readonly errorEnvelope: ValidateFunction;

  constructor(document: OpenApiDocument) {
    const definitions = Object.fromEntries(
      Object.entries(document.components.schemas).map(([name, schema]) => [name, toJsonSchema(schema)]),
    );
    this.ajv.addSchema({ $id: SCHEMAS_ID, definitions });
    this.errorEnvelope = this.ajv.compile(toJsonSchema({ $ref: `${COMPONENT_REF}ErrorResponseDto` }));
    this.routes = Object.entries(document.paths)
      .map(([path, operations]) => ({
        path,
        operations,
        pattern: new RegExp(`^${path.replace(/\{[^}]+\}/g, '[^/]+')}/?$`),
        literals: path.split('/').filter((segment) => segment && !segment.startsWith('{')).length,
      }))
      .sort((a, b) => b.literals - a.literals);
  }

  check(exchange: Exchange): string[] {
    const { pathname } = new URL(exchange.url);
    const method = exchange.method.toLowerCase();
    const route = this.routes.find((candidate) => candidate.pattern.test(pathname));
    if (!route && UNDESCRIBED.test(pathname)) return [];
    const label = `${exchange.method} ${pathname} → ${exchange.status}`;
    const operation = route?.operations[method === 'head' ? 'get' : method];
    if (!route || !operation) return this.checkGeneric(exchange, label, route ? '405' : '404');

    const response = operation.responses[String(exchange.status)];
    if (!response) return [`${label}: status ${exchange.status} is not documented for ${exchange.method.toUpperCase()} ${route.path}`];
    if (method === 'head' || exchange.status === 204) return [];
    const documentedTypes = Object.keys(response.content ?? {});
    const mediaType = exchange.contentType?.split(';')[0].trim().toLowerCase() ?? '';
    if (documentedTypes.length === 0) {
      return mediaType ? [`${label}: a ${mediaType} body where none is documented`] : [];
    }
    if (!documentedTypes.includes(mediaType)) {
      return [`${label}: content type ${mediaType || '(none)'} is not one of ${documentedTypes.join(', ')}`];
    }
    const schema = response.content?.[mediaType]?.schema;
    if (!schema || mediaType !== 'application/json' || exchange.body === undefined) return [];
    return this.validate(label, this.validator(schema), exchange.body);
  }

  private checkGeneric(exchange: Exchange, label: string, routing: string): string[] {
    if (!BODY_REFUSALS.includes(String(exchange.status)) && String(exchange.status) !== routing) {
      return [
        `${label}: ${routing === '404' ? 'no documented path matches' : 'the method is not documented on this path'}, so only ${routing} or a body refusal may answer`,
      ];
    }
    if (exchange.body === undefined) return [];
    return this.validate(label, this.errorEnvelope, exchange.body);
  }

  private validate(label: string, validate: ValidateFunction, body: string): string[] {
    let value: unknown;
    try {
      value = JSON.parse(body);
    } catch {
      return [`${label}: the body is not JSON: ${body.slice(0, 120)}`];
    }
    if (validate(value)) return [];
    return (validate.errors ?? []).map((error) => {
      const extra = error.keyword === 'additionalProperties' ? ` '${String(error.params.additionalProperty)}'` : '';
      return `${label}: ${error.instancePath || '(body)'} ${error.message ?? error.keyword}${extra}`;
    });
  }

  private validator(schema: Schema): ValidateFunction {
    let validate = this.validators.get(schema);
    if (!validate) {
      validate = this.ajv.compile(toJsonSchema(schema));
      this.validators.set(schema, validate);
    }
    return validate;
  }
}

/**
 * An OpenAPI 3.0 schema as JSON Schema: `nullable` becomes a union with null, references point
 * at the components registered with Ajv, and objects with listed properties admit no others.
 */
export function toJsonSchema(schema: unknown): Schema {
  if (Array.isArray(schema)) return schema.map(toJsonSchema) as unknown as Schema;
  if (typeof schema !== 'object' || schema === null) return schema as Schema;
  const converted: Schema = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'nullable' || key === 'example' || key === 'examples') continue;
    if (key === '$ref' && typeof value === 'string' && value.startsWith(COMPONENT_REF)) {
      converted.$ref = `${SCHEMAS_ID}#/definitions/${value.slice(COMPONENT_REF.length)}`;
    } else if (key === 'properties' && typeof value === 'object' && value !== null) {
      converted.properties = Object.fromEntries(Object.entries(value).map(([name, property]) => [name, toJsonSchema(property)]));
    } else {
      converted[key] = typeof value === 'object' ? toJsonSchema(value) : value;
    }
  }
  if (converted.properties && converted.additionalProperties === undefined) converted.additionalProperties = false;
  if ((schema as Schema).nullable === true) return { anyOf: [converted, { type: 'null' }] };
  return converted;
}
