import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/database.js';
import { post } from '../support/http.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

/**
 * Swagger UI's "Try it out" as prefilled (issue 14): each operation that takes a body, sent with
 * the example and path parameters of openapi.json to the bundled definitions (agents/), succeeds.
 * Only ids that no example can know (a session) are filled in from an earlier answer.
 */

const KEY = 'k-examples-0123456789abcdef';

interface Operation {
  parameters?: { name: string; in: string; schema?: { example?: unknown } }[];
  requestBody?: { content: Record<string, { examples?: Record<string, { value: unknown }> }> };
  responses: Record<string, unknown>;
}

const document = JSON.parse(readFileSync('openapi.json', 'utf8')) as { paths: Record<string, Record<string, Operation>> };
const withBody = Object.entries(document.paths).flatMap(([path, byMethod]) =>
  Object.entries(byMethod)
    .filter(([, operation]) => operation.requestBody)
    .map(([method, operation]) => ({ label: `${method.toUpperCase()} ${path}`, path, operation })),
);

describe('openapi.json examples against the bundled agents', () => {
  let app: TestApp;
  let sessionId: string;

  beforeAll(async () => {
    app = await startTestApp({ databaseUrl: await createTestDatabase(), env: { AGENTSPEC_API_KEY: KEY } });
    const session = await post(app, '/v1/agents/support-assistant/sessions', {}, { 'x-api-key': KEY });
    sessionId = (await session.json()).session_id;
  });
  afterAll(() => app?.close());

  it.each(withBody)('$label succeeds as prefilled', async ({ path, operation }) => {
    const url = path.replace(/\{([^}]+)\}/g, (_, name: string) => {
      if (name === 'id') return sessionId;
      const example = operation.parameters?.find((parameter) => parameter.in === 'path' && parameter.name === name)?.schema?.example;
      if (typeof example !== 'string') throw new Error(`no example for {${name}}`);
      return encodeURIComponent(example);
    });
    for (const { value } of Object.values(operation.requestBody!.content['application/json'].examples ?? {})) {
      const response = await post(app, url, value, { 'x-api-key': KEY });
      const text = await response.text();
      expect(response.status, text).toBeLessThan(300);
      expect(Object.keys(operation.responses)).toContain(String(response.status));
    }
  });
});
