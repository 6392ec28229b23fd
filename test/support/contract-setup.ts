import { afterAll } from 'vitest';
import { APPS, checkAgainstContract, type Exchange } from './contract.js';

/**
 * Setup file of the e2e project: every answer an app under test gives to `fetch` is recorded, and
 * after each test file checked against openapi.json (test/support/contract.ts). Apps announce
 * their URL with `underContract`; fake providers and identity providers never do, so calls to
 * them, including the app's own calls when it runs in this process, are left alone.
 */

type FetchInput = Parameters<typeof fetch>[0];

const registry = globalThis as typeof globalThis & { [APPS]?: Set<string> };
const exchanges: Promise<Exchange>[] = [];
const originalFetch = globalThis.fetch;

globalThis.fetch = async (input: FetchInput, init?: RequestInit): Promise<Response> => {
  const response = await originalFetch(input, init);
  const url = input instanceof Request ? input.url : String(input);
  if (registry[APPS]?.has(new URL(url).origin) && !isPreflight(input, init)) exchanges.push(record(input, init, url, response));
  return response;
};

/** A CORS preflight is answered by the CORS layer, outside the API description. */
function isPreflight(input: FetchInput, init: RequestInit | undefined): boolean {
  const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined));
  return (init?.method ?? '').toUpperCase() === 'OPTIONS' && headers.has('access-control-request-method');
}

afterAll(async () => {
  const violations = (await Promise.all(exchanges)).flatMap(checkAgainstContract);
  exchanges.length = 0;
  if (violations.length > 0) {
    throw new Error(`answers that openapi.json does not document:\n${[...new Set(violations)].join('\n')}`);
  }
});

async function record(input: FetchInput, init: RequestInit | undefined, url: string, response: Response): Promise<Exchange> {
  const method = (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
  const contentType = response.headers.get('content-type');
  const exchange: Exchange = { method, url, status: response.status, contentType };
  // A stream is checked by its status and type only: reading a copy would keep it open.
  if (contentType?.startsWith('text/event-stream') || method === 'HEAD') return exchange;
  try {
    return { ...exchange, body: await response.clone().text() };
  } catch {
    return exchange;
  }
}
