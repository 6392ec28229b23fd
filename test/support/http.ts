/** Anything served over HTTP in a test: a `TestApp`, a `SpawnedServer`. */
export interface HttpTarget {
  /** `http://127.0.0.1:<port>` */
  url: string;
}

/**
 * POSTs `body` as JSON: a string goes out as it is (for malformed bodies), and no body at all
 * sends no content type either. `headers` add to or replace the JSON content type.
 */
export function post(target: HttpTarget, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
  if (body === undefined) return fetch(`${target.url}${path}`, { method: 'POST', headers });
  return fetch(`${target.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}
