import { SseParser, type StreamEvent } from './sse';

/** How the console calls the API: an API key or an SSO access token, both sent as a bearer token (docs/api.md §3.1). */
export type Credential =
  { kind: 'key'; key: string } | { kind: 'sso'; accessToken: string; idToken?: string; name: string; expiresAt?: number };

/** An answer with the error envelope (docs/api.md §2.1), or a network failure (status 0). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

type Query = Record<string, string | number | string[] | undefined>;

export class Api {
  constructor(
    private readonly credential: Credential,
    /** Told when the API refuses the credential (401): a key revoked, a token expired. */
    private readonly onUnauthorized: (error: ApiError) => void,
  ) {}

  get<T>(path: string, query?: Query): Promise<T> {
    return this.request<T>('GET', withQuery(path, query));
  }

  post<T>(path: string, body?: unknown): Promise<T> {
    return this.request<T>('POST', path, body);
  }

  /** A file the API sends (the audit export), to hand to the browser as a download. */
  async download(path: string, query?: Query): Promise<Blob> {
    const response = await this.send('GET', withQuery(path, query));
    return response.blob();
  }

  /** The events of a streamed agent call, as they arrive; ends after `done` or `error`. */
  async *stream(path: string, body: unknown, signal: AbortSignal): AsyncGenerator<StreamEvent> {
    const response = await this.send('POST', path, body, signal);
    if (!response.body) throw new ApiError(0, 'network', 'The stream could not be read.');
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    const parser = new SseParser();
    let finished = false;
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) {
          finished = true;
          return;
        }
        for (const event of parser.push(value)) yield event;
      }
    } finally {
      // A consumer that stops early (break, a throw) must close the HTTP stream: the server
      // stops the agent's call (and its token spending) only when the connection closes.
      if (finished) reader.releaseLock();
      else await reader.cancel().catch(() => undefined);
    }
  }

  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await this.send(method, path, body);
    if (response.status === 204) return undefined as T;
    return (await response.json()) as T;
  }

  private async send(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<Response> {
    const headers: Record<string, string> = { Accept: 'application/json', Authorization: `Bearer ${this.token()}` };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let response: Response;
    try {
      response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal });
    } catch (error) {
      if (signal?.aborted) throw error;
      throw new ApiError(0, 'network', 'The server could not be reached.');
    }
    if (response.ok) return response;
    const error = await errorOf(response);
    if (response.status === 401) this.onUnauthorized(error);
    throw error;
  }

  private token(): string {
    return this.credential.kind === 'key' ? this.credential.key : this.credential.accessToken;
  }
}

async function errorOf(response: Response): Promise<ApiError> {
  try {
    const body = (await response.json()) as { error?: { code?: string; message?: string } };
    if (body.error?.code) return new ApiError(response.status, body.error.code, body.error.message ?? body.error.code);
  } catch {
    // Not the envelope (a proxy's page): described by its status below.
  }
  return new ApiError(response.status, 'http_error', `The server answered ${response.status}.`);
}

export function withQuery(path: string, query?: Query): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query ?? {})) {
    if (value === undefined || value === '') continue;
    for (const item of Array.isArray(value) ? value : [value]) params.append(name, String(item));
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

/** `/v1/agents/{name}`-style paths with each segment encoded. */
export function apiPath(...segments: string[]): string {
  return segments.map((segment, index) => (index === 0 ? segment : encodeURIComponent(segment))).join('/');
}

/** Saves a value as a file through the browser's download. */
export function saveFile(name: string, data: Blob | string, type = 'application/json'): void {
  const blob = typeof data === 'string' ? new Blob([data], { type }) : data;
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
