import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';

/**
 * Requests generated from openapi.json (issue 14): for every operation a valid request, then
 * mutated in its body, path, query and headers the way a careless or hostile client would.
 */

type Schema = Record<string, unknown>;

interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
}

export interface Operation {
  method: string;
  /** The templated path, `/v1/agents/{name}/invoke`. */
  path: string;
  parameters: Parameter[];
  body?: Schema;
  statuses: Set<number>;
}

export interface FuzzRequest {
  operation: string;
  method: string;
  /** As sent on the request line: already percent-encoded. */
  path: string;
  headers: [string, string][];
  body?: Buffer;
  /** What was done to the valid request, for the failure message. */
  mutations: string[];
}

/** Values that exist in the app under test, so that valid requests reach the route's work. */
export interface Fixtures {
  key: string;
  agents: string[];
  pipelines: string[];
  sessionId: string;
  runId: string;
}

const document = JSON.parse(readFileSync('openapi.json', 'utf8')) as {
  paths: Record<
    string,
    Record<
      string,
      { parameters?: Parameter[]; requestBody?: { content: Record<string, { schema: Schema }> }; responses: Record<string, unknown> }
    >
  >;
  components: { schemas: Record<string, Schema> };
};

export const OPERATIONS: Operation[] = Object.entries(document.paths).flatMap(([path, operations]) =>
  Object.entries(operations).map(([method, operation]) => ({
    method: method.toUpperCase(),
    path,
    parameters: operation.parameters ?? [],
    body: operation.requestBody?.content['application/json']?.schema,
    statuses: new Set(Object.keys(operation.responses).map(Number)),
  })),
);

function resolve(schema: Schema): Schema {
  const ref = schema.$ref;
  if (typeof ref !== 'string') return schema;
  return resolve(document.components.schemas[ref.slice('#/components/schemas/'.length)]);
}

/** A value that satisfies `schema` (its formats and patterns through its example). */
export function valueOf(schema: Schema): fc.Arbitrary<unknown> {
  const resolved = resolve(schema);
  if (Array.isArray(resolved.enum)) return fc.constantFrom(...(resolved.enum as unknown[]));
  if (resolved.pattern !== undefined && resolved.example !== undefined) return fc.constant(resolved.example);
  switch (resolved.type) {
    case 'string':
      return fc.string({ minLength: 1, maxLength: Math.min(Number(resolved.maxLength ?? 40), 40) });
    case 'integer':
      return fc.integer({ min: Number(resolved.minimum ?? 0), max: Number(resolved.maximum ?? 1000) });
    case 'number':
      return fc.double({ min: Number(resolved.minimum ?? 0), max: Number(resolved.maximum ?? 1000), noNaN: true });
    case 'boolean':
      return fc.boolean();
    case 'array':
      return fc.array(valueOf(resolved.items as Schema), { maxLength: 3 });
    default: {
      const properties = resolved.properties as Record<string, Schema> | undefined;
      if (properties) {
        const required = (resolved.required as string[] | undefined) ?? [];
        // Deprecated aliases stay out of valid requests; the mutations below still send them.
        const used = Object.entries(properties).filter(([name, property]) => required.includes(name) || property.deprecated !== true);
        return fc.record(Object.fromEntries(used.map(([name, property]) => [name, valueOf(property)])), { requiredKeys: required });
      }
      const additional = resolved.additionalProperties;
      if (typeof additional === 'object' && additional !== null) {
        return fc.dictionary(fc.string({ minLength: 1, maxLength: 20 }), valueOf(additional as Schema), { maxKeys: 4 });
      }
      return fc.dictionary(fc.string({ minLength: 1, maxLength: 10 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 });
    }
  }
}

/** Text that databases, parsers and terminals get wrong. */
const EDGE_TEXT = [
  '\ud800',
  'a\udfffb',
  '\ud83d',
  'nul\u0000here',
  '\u202eevil\u202c',
  '\u200f\u05e9\u05dc\u05d5\u05dd',
  '😀👩‍👩‍👧‍👦🏳️‍🌈',
  'e' + '\u0301'.repeat(500),
  '\ufeff\ufffe\uffff',
  '\u2028\u2029',
  '%00%2e%2e',
  "'; DROP TABLE sessions; --",
  '{{tone}}',
  '$'.repeat(64),
];

/** Path segments with traversal and encodings, sent as they are on the request line. */
const HOSTILE_SEGMENTS = [
  '..%2F',
  '..%2F..%2F..%2Fetc%2Fpasswd',
  '%2e%2e',
  '%2e%2e%2f',
  '%00',
  'a%00b',
  '%',
  '%zz',
  '%ff%fe',
  '%C0%AE%C0%AE',
  '%ED%A0%80',
  '%E2%80%AE',
  '%F0%9F%98%80',
  'a%2Fb',
  '%5C..%5C',
  '.',
  '..',
  '~',
  'x'.repeat(3000),
];

const NUMBER_SYNTAXES = [
  '0',
  '101',
  '-1',
  '1.5',
  '1e3',
  '0x10',
  '+5',
  '%205',
  'Infinity',
  'NaN',
  '',
  '9007199254740992',
  '99999999999999999999999',
  '05',
  '%D9%A1%D9%A2',
  '0b11',
  '1_000',
];

const CONTENT_TYPES = [
  'text/plain',
  'application/json; charset=latin1',
  'application/json; charset=utf-16',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/problem+json',
  'application/json;;;',
  '*/*',
  '',
];

const ENCODINGS = ['gzip', 'deflate', 'br', 'compress', 'gzip, br', 'identity', 'x-unknown'];

function encodeSegment(text: string): string {
  try {
    return encodeURIComponent(text);
  } catch {
    // A lone surrogate has no UTF-8 form: send the bytes it would have had.
    return [...text].map((char) => (/[\ud800-\udfff]/.test(char) ? '%ED%A0%80' : encodeURIComponent(char))).join('');
  }
}

/** `{"a":{"a":…}}` `levels` deep, as text (JSON.stringify would overflow on the way back). */
function nestedText(levels: number, array: boolean): string {
  return array ? '['.repeat(levels) + ']'.repeat(levels) : '{"a":'.repeat(levels - 1) + '{}' + '}'.repeat(levels - 1);
}

type BodyMutation =
  | { kind: 'drop' }
  | { kind: 'extra'; name: string; value: unknown }
  | { kind: 'wrong-type'; value: unknown }
  | { kind: 'huge'; size: number }
  | { kind: 'deep'; levels: number; array: boolean }
  | { kind: 'edge-text'; text: string; asKey: boolean }
  | { kind: 'not-object'; text: string }
  | { kind: 'syntax'; bytes: Buffer }
  | { kind: 'none' };

const bodyMutation: fc.Arbitrary<BodyMutation> = fc.oneof(
  fc.constant<BodyMutation>({ kind: 'drop' }),
  fc.record({
    kind: fc.constant('extra' as const),
    name: fc.oneof(fc.string(), fc.constantFrom('__proto__', 'constructor', 'prototype')),
    value: fc.jsonValue({ maxDepth: 2 }),
  }),
  fc.record({
    kind: fc.constant('wrong-type' as const),
    value: fc.oneof(
      fc.constant(null),
      fc.integer(),
      fc.double(),
      fc.boolean(),
      fc.string(),
      fc.array(fc.integer()),
      fc.object({ maxDepth: 1 }),
    ),
  }),
  fc.record({ kind: fc.constant('huge' as const), size: fc.constantFrom(70_000, 500_000, 1_100_000) }),
  fc.record({ kind: fc.constant('deep' as const), levels: fc.constantFrom(63, 64, 65, 1_000, 20_000), array: fc.boolean() }),
  fc.record({
    kind: fc.constant('edge-text' as const),
    text: fc.oneof(fc.constantFrom(...EDGE_TEXT), fc.string({ unit: 'binary' })),
    asKey: fc.boolean(),
  }),
  fc.record({
    kind: fc.constant('not-object' as const),
    text: fc.constantFrom('null', '42', '"text"', 'true', '[]', '[{}]', '1e999', '-0'),
  }),
  fc.record({
    kind: fc.constant('syntax' as const),
    bytes: fc.oneof(
      fc
        .constantFrom('{', '{"input":', '{"a":1,}', "{'a':1}", '{"a":1}{"b":2}', '\u0000', '{"a":"\\x"}', '{"a":"\\ud800"}')
        .map((text) => Buffer.from(text)),
      fc.uint8Array({ minLength: 1, maxLength: 64 }).map((bytes) => Buffer.from(bytes)),
      fc.constant(Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d])),
    ),
  }),
  fc.constant<BodyMutation>({ kind: 'none' }),
);

const TEXT_MUTATIONS = new Set<BodyMutation['kind']>(['deep', 'not-object', 'syntax']);

function applyBodyMutation(value: Record<string, unknown>, mutation: BodyMutation): Buffer | undefined {
  const keys = Object.keys(value);
  const target = keys[0] ?? 'input';
  switch (mutation.kind) {
    case 'drop':
      delete value[target];
      return Buffer.from(JSON.stringify(value));
    case 'extra':
      return Buffer.from(JSON.stringify({ ...value, [mutation.name]: mutation.value }));
    case 'wrong-type':
      return Buffer.from(JSON.stringify({ ...value, [target]: mutation.value }));
    case 'huge':
      return Buffer.from(JSON.stringify({ ...value, [target]: 'x'.repeat(mutation.size) }));
    case 'deep': {
      const { [target]: _replaced, ...rest } = value;
      return Buffer.from(JSON.stringify({ ...rest, [target]: 0 }).replace(/0}$/, `${nestedText(mutation.levels, mutation.array)}}`));
    }
    case 'edge-text':
      return Buffer.from(JSON.stringify(mutation.asKey ? { ...value, [mutation.text]: 'x' } : { ...value, [target]: mutation.text }));
    case 'not-object':
      return Buffer.from(mutation.text);
    case 'syntax':
      return mutation.bytes;
    case 'none':
      return undefined;
  }
}

type HeaderMutation =
  | 'no-auth'
  | 'bogus-bearer'
  | 'basic-auth'
  | 'huge-bearer'
  | 'both-credentials'
  | 'wrong-content-type'
  | 'duplicate-content-type'
  | 'duplicate-content-length'
  | 'encoding'
  | 'real-gzip'
  | 'odd-accept'
  | 'huge-header'
  | 'correlation-id'
  | 'no-host';

const headerMutation = fc.constantFrom<HeaderMutation>(
  'no-auth',
  'bogus-bearer',
  'basic-auth',
  'huge-bearer',
  'both-credentials',
  'wrong-content-type',
  'duplicate-content-type',
  'duplicate-content-length',
  'encoding',
  'real-gzip',
  'odd-accept',
  'huge-header',
  'correlation-id',
  'no-host',
);

function latin1(text: string): string {
  return [...text]
    .map((char) => (char.charCodeAt(0) >= 0x20 && char.charCodeAt(0) <= 0xff && char.charCodeAt(0) !== 0x7f ? char : '?'))
    .join('');
}

/** Every operation of openapi.json, valid and then mutated. */
export function fuzzRequest(fixtures: Fixtures): fc.Arbitrary<FuzzRequest> {
  const pathValue = (operation: Operation, name: string): fc.Arbitrary<string> => {
    const valid: Record<string, fc.Arbitrary<string>> = {
      name: fc.constantFrom(...(operation.path.startsWith('/v1/pipelines') ? fixtures.pipelines : fixtures.agents)),
      id: operation.path.startsWith('/v1/keys') ? fc.constant('01JAAAAAAAAAAAAAAAAAAAAAAA') : fc.constant(fixtures.sessionId),
      run_id: fc.constant(fixtures.runId),
    };
    return fc.oneof(
      { weight: 6, arbitrary: (valid[name] ?? fc.constant('x')).map(encodeSegment) },
      { weight: 2, arbitrary: fc.constantFrom(...HOSTILE_SEGMENTS) },
      { weight: 1, arbitrary: fc.oneof(fc.constantFrom(...EDGE_TEXT), fc.string({ unit: 'binary', minLength: 1 })).map(encodeSegment) },
    );
  };

  const queryFor = (operation: Operation): fc.Arbitrary<string[]> => {
    const names = operation.parameters.filter((parameter) => parameter.in === 'query').map((parameter) => parameter.name);
    const validValue = (name: string) =>
      name === 'run_id' ? fc.constant(fixtures.runId) : fc.integer({ min: name === 'limit' ? 1 : 0, max: 100 }).map(String);
    const pairs = names.map((name) =>
      fc.oneof(
        { weight: 4, arbitrary: validValue(name).map((value) => [`${name}=${value}`]) },
        { weight: 1, arbitrary: fc.constant<string[]>([]) },
        { weight: 2, arbitrary: fc.constantFrom(...NUMBER_SYNTAXES).map((value) => [`${name}=${value}`]) },
        { weight: 1, arbitrary: fc.tuple(validValue(name), validValue(name)).map(([a, b]) => [`${name}=${a}`, `${name}=${b}`]) },
        { weight: 1, arbitrary: fc.constantFrom(...HOSTILE_SEGMENTS).map((value) => [`${name}=${value}`, `${name}[]=1`]) },
      ),
    );
    const extra = fc.oneof(
      { weight: 5, arbitrary: fc.constant<string[]>([]) },
      {
        weight: 1,
        arbitrary: fc.constantFrom(['page=2'], ['limit'], ['=1'], ['&&&'], ['a=%ff'], ['__proto__[x]=1'], [`q=${'y'.repeat(4000)}`]),
      },
    );
    return fc.tuple(fc.tuple(...pairs), extra).map(([chosen, more]) => [...chosen.flat(), ...more]);
  };

  return fc.constantFrom(...OPERATIONS).chain((operation) =>
    fc
      .record({
        segments: fc.tuple(...(operation.path.match(/\{[^}]+\}/g) ?? []).map((template) => pathValue(operation, template.slice(1, -1)))),
        query: queryFor(operation),
        body: operation.body ? (valueOf(operation.body) as fc.Arbitrary<Record<string, unknown>>) : fc.constant(undefined),
        bodyMutations: fc.array(bodyMutation, { maxLength: 2 }),
        headerMutations: fc.array(headerMutation, { maxLength: 2 }),
        method: fc.oneof(
          { weight: 9, arbitrary: fc.constant(operation.method) },
          { weight: 1, arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS') },
        ),
        trailingSlash: fc.boolean(),
        contentType: fc.constantFrom(...CONTENT_TYPES),
        encoding: fc.constantFrom(...ENCODINGS),
        noise: fc.string({ unit: 'binary', maxLength: 80 }).map(latin1),
      })
      .map((draw): FuzzRequest => {
        let index = 0;
        let path = operation.path.replace(/\{[^}]+\}/g, () => draw.segments[index++]);
        if (draw.trailingSlash) path += '/';
        if (draw.query.length > 0) path += `?${draw.query.join('&')}`;

        const mutations: string[] = [];
        let body: Buffer | undefined = draw.body === undefined ? undefined : Buffer.from(JSON.stringify(draw.body));
        // Mutations of the text come last and alone: a body 20,000 levels deep is not parsed again.
        const ordered = [...draw.bodyMutations].sort((a, b) => Number(TEXT_MUTATIONS.has(a.kind)) - Number(TEXT_MUTATIONS.has(b.kind)));
        for (const [position, mutation] of ordered.entries()) {
          if (position > 0 && TEXT_MUTATIONS.has(ordered[position - 1].kind)) break;
          const value = body ? (safeParse(body) ?? {}) : {};
          body = applyBodyMutation(value, mutation);
          mutations.push(
            `body ${mutation.kind}${'levels' in mutation ? ` ${mutation.levels}` : ''}${'size' in mutation ? ` ${mutation.size}` : ''}`,
          );
        }

        const headers = new Map<string, string[]>([
          ['Host', ['127.0.0.1']],
          ['X-API-Key', [fixtures.key]],
          ['Accept', ['application/json']],
        ]);
        if (body) headers.set('Content-Type', ['application/json']);
        for (const mutation of draw.headerMutations) {
          mutations.push(`header ${mutation}`);
          switch (mutation) {
            case 'no-auth':
              headers.delete('X-API-Key');
              break;
            case 'bogus-bearer':
              headers.delete('X-API-Key');
              headers.set('Authorization', [`Bearer ${draw.noise.replace(/\s/g, '') || 'x'}`]);
              break;
            case 'basic-auth':
              headers.set('Authorization', [`Basic ${Buffer.from(`admin:${fixtures.key}`).toString('base64')}`]);
              break;
            case 'huge-bearer':
              headers.delete('X-API-Key');
              headers.set('Authorization', [`Bearer ${'A'.repeat(8_000)}`]);
              break;
            case 'both-credentials':
              headers.set('Authorization', ['Bearer wrong-key-000000', 'Bearer another']);
              break;
            case 'wrong-content-type':
              headers.set('Content-Type', [draw.contentType]);
              break;
            case 'duplicate-content-type':
              headers.set('Content-Type', ['application/json', draw.contentType || 'text/plain']);
              break;
            case 'duplicate-content-length':
              headers.set('Content-Length', [String(body?.length ?? 0), String((body?.length ?? 0) + 1)]);
              break;
            case 'encoding':
              headers.set('Content-Encoding', [draw.encoding]);
              break;
            case 'real-gzip':
              if (body) body = gzipSync(body);
              headers.set('Content-Encoding', ['gzip']);
              break;
            case 'odd-accept':
              headers.set('Accept', [draw.noise || 'text/html;q=0, */*;q=-1']);
              break;
            case 'huge-header':
              headers.set('X-Padding', ['p'.repeat(draw.noise.length % 2 === 0 ? 8_000 : 20_000)]);
              break;
            case 'correlation-id':
              headers.set('X-Correlation-ID', [draw.noise]);
              break;
            case 'no-host':
              headers.delete('Host');
              break;
          }
        }
        if (draw.method !== operation.method) mutations.push(`method ${draw.method}`);
        return {
          operation: `${operation.method} ${operation.path}`,
          method: draw.method,
          path,
          headers: [...headers].flatMap(([name, values]) => values.map((value): [string, string] => [name, value])),
          body: draw.method === 'GET' || draw.method === 'HEAD' ? undefined : body,
          mutations,
        };
      }),
  );
}

function safeParse(body: Buffer): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(body.toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
