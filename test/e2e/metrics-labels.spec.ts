import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/database.js';
import { post } from '../support/http.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

/**
 * `endpoint` and `agent` labels of `agentspec_requests_total` for requests that Express or the
 * body parser answer before (or instead of) a Nest route: docs/api.md §9.
 */
describe('request metric labels', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp({
      databaseUrl: await createTestDatabase(),
      env: { AGENTSPEC_DEFINITIONS: 'test/fixtures/e2e/agents.ias', AGENTSPEC_BODY_LIMIT: '1kb' },
    });
  });
  afterAll(async () => {
    await app?.close();
  });

  /** The value of one `agentspec_requests_total` series, 0 when it does not exist. */
  async function requests(agent: string, endpoint: string, status: number): Promise<number> {
    const text = await (await fetch(`${app.url}/v1/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`agentspec_requests_total{agent="${agent}",endpoint="${endpoint}",status="${status}"} `));
    return line ? Number(line.split(' ')[1]) : 0;
  }

  async function endpointsSeen(): Promise<Set<string>> {
    const text = await (await fetch(`${app.url}/v1/metrics`)).text();
    return new Set([...text.matchAll(/^agentspec_requests_total\{[^}]*endpoint="([^"]+)"/gm)].map((match) => match[1]));
  }

  it('counts the Swagger UI, its static assets and its documents as endpoint "docs"', async () => {
    const paths = ['/docs', '/docs/', '/docs/swagger-ui.css', '/docs/swagger-ui-bundle.js', '/docs/swagger-ui-init.js', '/docs-json', '/docs-yaml'];
    for (const path of paths) {
      const response = await fetch(`${app.url}${path}`);
      expect(response.status, path).toBe(200);
      // Read to the end: a response is counted when it has finished.
      await response.arrayBuffer();
    }
    expect((await fetch(`${app.url}/docs/no-such-asset.js`)).status).toBe(404);

    expect(await requests('none', 'docs', 200)).toBe(paths.length);
    expect(await requests('none', 'docs', 404)).toBe(1);
    expect(await requests('none', 'unmatched', 200)).toBe(0);
  });

  it('counts a body the parser refuses under the route it was sent to, with its agent', async () => {
    const tooLarge = await post(app, '/v1/agents/greeter/invoke', { input: 'x'.repeat(4096) });
    const notJson = await post(app, '/v1/agents/greeter/stream', 'hello', { 'content-type': 'text/plain' });
    const malformed = await post(app, '/v1/agents/greeter/sessions', '{"metadata":');
    const unknownAgent = await post(app, '/v1/agents/not-defined-here/invoke', '{oops');
    const pipeline = await post(app, '/v1/pipelines/whatever/run', '{oops');
    expect([tooLarge.status, notJson.status, malformed.status, unknownAgent.status, pipeline.status]).toEqual([413, 415, 400, 400, 400]);

    expect(await requests('greeter', 'invoke', 413)).toBe(1);
    expect(await requests('greeter', 'stream', 415)).toBe(1);
    expect(await requests('greeter', 'sessions', 400)).toBe(1);
    expect(await requests('unknown', 'invoke', 400)).toBe(1);
    expect(await requests('none', 'pipeline_run', 400)).toBe(1);
    expect(await requests('none', 'unmatched', 413)).toBe(0);
  });

  it('counts HEAD under the endpoint of the GET it stands for', async () => {
    for (const path of ['/healthz', '/v1/agents', '/v1/agents/greeter/sessions']) {
      expect((await fetch(`${app.url}${path}`, { method: 'HEAD' })).status, path).toBe(200);
    }

    expect(await requests('none', 'healthz', 200)).toBe(1);
    expect(await requests('none', 'agents', 200)).toBe(1);
    expect(await requests('greeter', 'sessions_list', 200)).toBe(1);
    expect([...(await endpointsSeen())].filter((endpoint) => endpoint.startsWith('/'))).toEqual([]);
  });

  it('counts a 405 under the endpoint its path serves, with its agent', async () => {
    const invoke = await fetch(`${app.url}/v1/agents/greeter/invoke`);
    const sessions = await fetch(`${app.url}/v1/agents/greeter/sessions`, { method: 'PUT' });
    const health = await fetch(`${app.url}/healthz`, { method: 'DELETE' });
    const unknownAgent = await fetch(`${app.url}/v1/agents/not-defined-here/stream`);
    expect([invoke.status, sessions.status, health.status, unknownAgent.status]).toEqual([405, 405, 405, 405]);

    expect(await requests('greeter', 'invoke', 405)).toBe(1);
    // The path serves `sessions_list` (GET) and `sessions` (POST): a 405 counts under the GET one.
    expect(await requests('greeter', 'sessions_list', 405)).toBe(1);
    expect(await requests('none', 'healthz', 405)).toBe(1);
    expect(await requests('unknown', 'stream', 405)).toBe(1);
    expect(await requests('none', 'unmatched', 405)).toBe(0);
  });

  it('still counts a path no route serves as "unmatched", without its text in any label', async () => {
    expect((await fetch(`${app.url}/v1/agents/greeter/nothing-here`)).status).toBe(404);
    expect((await post(app, '/nowhere-at-all', '{oops')).status).toBe(400);

    expect(await requests('none', 'unmatched', 404)).toBe(1);
    expect(await requests('none', 'unmatched', 400)).toBe(1);
    const text = await (await fetch(`${app.url}/v1/metrics`)).text();
    expect(text).not.toContain('nothing-here');
    expect(text).not.toContain('nowhere-at-all');
    expect(text).not.toContain('not-defined-here');
  });
});
