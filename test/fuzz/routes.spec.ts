import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkAgainstContract } from '../support/contract.js';
import { createTestDatabase } from '../support/database.js';
import { post } from '../support/http.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { type FuzzRequest, fuzzRequest, OPERATIONS } from './openapi-requests.js';
import { REPLAY, RUNS, SEED } from './seed.js';
import { send, type WireAnswer } from './wire.js';

const KEY = 'fuzz-key-0123456789abcdef';
/** Refusals that may come before routing (docs/api.md §1.7, §2.2), whatever the operation. */
const GENERIC = new Set([400, 404, 405, 413, 415, 429, 431]);

/** Why `answer` breaks the property, or nothing. */
function violations(fuzz: FuzzRequest, answer: WireAnswer): string[] {
  const found: string[] = [];
  // The answer is judged by the operation at the method actually sent (HEAD is GET's, §1.1).
  const template = fuzz.operation.slice(fuzz.operation.indexOf(' ') + 1);
  const method = fuzz.method === 'HEAD' ? 'GET' : fuzz.method;
  const operation = OPERATIONS.find((candidate) => candidate.path === template && candidate.method === method);
  if (answer.status >= 500) found.push(`a ${answer.status}`);
  if (!answer.headers['x-correlation-id']) found.push('no X-Correlation-ID header');
  const documented = operation?.statuses.has(answer.status) === true;
  if (!documented && !GENERIC.has(answer.status))
    found.push(`status ${answer.status} is neither documented for ${method} ${template} nor a generic refusal`);
  if (answer.status >= 400 && fuzz.method !== 'HEAD') {
    const envelope = parse(answer.body) as { error?: Record<string, unknown> } | undefined;
    const error = envelope?.error;
    if (typeof error?.code !== 'string' || typeof error.message !== 'string') found.push(`no error envelope: ${answer.body.slice(0, 200)}`);
  }
  if (documented && answer.status !== 431) {
    // Dot segments are renamed so that URL parsing does not resolve them away.
    const pathname = fuzz.path.split('?')[0].replace(/(^|\/)(?:\.|%2e){1,2}(?=\/|$)/gi, '$1dots');
    const contentType = answer.headers['content-type'];
    found.push(
      ...checkAgainstContract({
        method: fuzz.method,
        url: `http://fuzz.invalid${pathname}`,
        status: answer.status,
        contentType: typeof contentType === 'string' ? contentType : null,
        body: String(contentType).startsWith('text/event-stream') ? undefined : answer.body,
      }),
    );
  }
  return found;
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function describeRequest(fuzz: FuzzRequest): string {
  const body = fuzz.body ? `${fuzz.body.length} bytes: ${fuzz.body.subarray(0, 160).toString('utf8')}` : '(none)';
  const headers = fuzz.headers.map(([name, value]) => `${name}: ${value.length > 80 ? `${value.slice(0, 80)}… (${value.length})` : value}`);
  return [
    `${fuzz.method} ${fuzz.path.slice(0, 300)}`,
    `  operation: ${fuzz.operation}`,
    `  mutations: ${fuzz.mutations.join(', ') || '(valid)'}`,
    `  headers: ${headers.join(' | ')}`,
    `  body: ${body}`,
  ].join('\n');
}

describe(`fuzz: requests generated from openapi.json (seed ${SEED}, ${RUNS} runs)`, () => {
  let app: TestApp;
  let fixtures: Parameters<typeof fuzzRequest>[0];

  beforeAll(async () => {
    process.stdout.write(`\nfuzz seed ${SEED}: replay with ${REPLAY}\n`);
    app = await startTestApp({
      databaseUrl: await createTestDatabase(),
      // No lock-out for the bogus credentials the fuzz sends: it would hide every later answer.
      env: { AGENTSPEC_DEFINITIONS: 'agents', AGENTSPEC_API_KEYS: KEY, AGENTSPEC_AUTH_FAILURE_LIMIT: '0' },
    });
    const auth = { 'X-API-Key': KEY };
    const session = await post(app, '/v1/agents/support-assistant/sessions', {}, auth);
    const run = await post(app, '/v1/pipelines/review/run', { input: 'fuzz', options: { async: true } }, auth);
    expect([session.status, run.status]).toEqual([200, 202]);
    fixtures = {
      key: KEY,
      agents: ['support-assistant', 'researcher', 'review-editor', 'no-such-agent'],
      pipelines: ['review', 'research-and-summarize', 'no-such-pipeline'],
      sessionId: ((await session.json()) as { session_id: string }).session_id,
      runId: ((await run.json()) as { run_id: string }).run_id,
    };
  });

  afterAll(async () => {
    await app?.close();
  });

  it('answers every generated request with a documented 4xx or success, the envelope and a correlation id; never a 5xx or a hang', async () => {
    const statuses = new Map<number, number>();
    const result = await fc.check(
      fc.asyncProperty(fuzzRequest(fixtures), async (fuzz) => {
        let answer: WireAnswer;
        try {
          answer = await send(app.url, fuzz);
        } catch (error) {
          throw new Error(`${(error as Error).message}\n${describeRequest(fuzz)}`, { cause: error });
        }
        statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
        const found = violations(fuzz, answer);
        if (found.length > 0)
          throw new Error(`${found.join('; ')}\n${describeRequest(fuzz)}\n  answer: ${answer.status} ${answer.body.slice(0, 300)}`);
      }),
      // No shrinking: each step costs a request, and the failing case is printed whole.
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    );
    process.stdout.write(`fuzz seed ${SEED}: statuses ${JSON.stringify(Object.fromEntries([...statuses].sort(([a], [b]) => a - b)))}\n`);
    if (result.failed) {
      const cause = result.errorInstance instanceof Error ? result.errorInstance.message : String(result.errorInstance);
      throw new Error(`fuzz failed with seed ${SEED} after ${result.numRuns} requests (replay: ${REPLAY}):\n${cause}`);
    }
  });

  it('is healthy afterwards: /healthz answers 200 and an agent still answers', async () => {
    const health = await fetch(`${app.url}/healthz`);
    expect(health.status, `seed ${SEED}`).toBe(200);
    const invoke = await post(app, '/v1/agents/support-assistant/invoke', { input: 'still there?' }, { 'X-API-Key': KEY });
    expect(invoke.status, `seed ${SEED}`).toBe(200);
    expect(((await invoke.json()) as { output: string }).output.length).toBeGreaterThan(0);
  });
});
