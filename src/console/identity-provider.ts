/** The endpoints of the issuer's discovery document the console's sign-in uses. */
export interface IdentityProviderEndpoints {
  authorization_endpoint: string;
  token_endpoint: string;
  end_session_endpoint?: string;
}

export interface IdentityProviderOptions {
  issuer: string;
  timeoutMs?: number;
  /** The largest discovery document read (default 64 KiB); a bigger one is a failure. */
  maxBytes?: number;
  /** A good answer is kept this long. */
  maxAgeMs?: number;
  /** After a failure, no new request for this long. */
  retryDelayMs?: number;
  now?: () => number;
  fetch?: typeof fetch;
  onFailure?: (reason: string) => void;
}

/**
 * Reads `<issuer>/.well-known/openid-configuration` (OpenID Connect Discovery 1.0 §4) for the
 * console, cached and throttled: one request at a time, a failure retried only after a delay.
 * Its `issuer` must equal the configured one (§4.3), and every endpoint must be https, or http
 * on a loopback host, like OIDC_ISSUER itself. The request follows no redirect and reads at most
 * `maxBytes`. Once an answer is known, a stale one is still answered at once while a fresh one
 * is read in the background: loading the console's page never waits on the issuer then.
 */
export class IdentityProvider {
  private cached?: { endpoints: IdentityProviderEndpoints; at: number };
  private failedAt?: number;
  private pending?: Promise<IdentityProviderEndpoints | undefined>;
  private readonly timeoutMs: number;
  private readonly maxBytes: number;
  private readonly maxAgeMs: number;
  private readonly retryDelayMs: number;
  private readonly now: () => number;
  private readonly fetch: typeof fetch;

  constructor(private readonly options: IdentityProviderOptions) {
    this.timeoutMs = options.timeoutMs ?? 3_000;
    this.maxBytes = options.maxBytes ?? 64 * 1024;
    this.maxAgeMs = options.maxAgeMs ?? 60 * 60_000;
    this.retryDelayMs = options.retryDelayMs ?? 10_000;
    this.now = options.now ?? Date.now;
    this.fetch = options.fetch ?? fetch;
  }

  /**
   * The endpoints, or undefined while the issuer cannot be read. Only the very first reading
   * (nothing known yet) is waited for; a stale answer is refreshed in the background.
   */
  async endpoints(): Promise<IdentityProviderEndpoints | undefined> {
    const now = this.now();
    if (this.cached && now - this.cached.at < this.maxAgeMs) return this.cached.endpoints;
    if (this.failedAt !== undefined && now - this.failedAt < this.retryDelayMs) return this.cached?.endpoints;
    this.pending ??= this.discover().finally(() => (this.pending = undefined));
    return this.cached ? this.cached.endpoints : this.pending;
  }

  /** Origins the console's page may call (its token request): the issuer's and the token endpoint's. */
  connectOrigins(): string[] {
    const origins = new Set([new URL(this.options.issuer).origin]);
    if (this.cached) origins.add(new URL(this.cached.endpoints.token_endpoint).origin);
    return [...origins];
  }

  private async discover(): Promise<IdentityProviderEndpoints | undefined> {
    const url = `${this.options.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
    try {
      // redirect 'error': a discovery document is served where it is named (OIDC Discovery §4).
      const response = await this.fetch(url, {
        signal: AbortSignal.timeout(this.timeoutMs),
        redirect: 'error',
        headers: { accept: 'application/json' },
      });
      if (response.status !== 200) {
        await response.body?.cancel().catch(() => undefined);
        throw new Error(`${url} answered ${response.status}`);
      }
      const text = await readCapped(response, this.maxBytes, url);
      const document = JSON.parse(text) as unknown;
      if (typeof document !== 'object' || document === null) throw new Error(`${url} is not a JSON object`);
      const endpoints = parseDiscovery(document as Record<string, unknown>, this.options.issuer);
      this.cached = { endpoints, at: this.now() };
      this.failedAt = undefined;
      return endpoints;
    } catch (error) {
      this.failedAt = this.now();
      this.options.onFailure?.(error instanceof Error ? error.message : String(error));
      return this.cached?.endpoints;
    }
  }
}

/** The body as text, refusing (and cancelling) one longer than `maxBytes`. */
async function readCapped(response: Response, maxBytes: number, url: string): Promise<string> {
  if (!response.body) return '';
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw new Error(`${url} is larger than ${maxBytes} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function parseDiscovery(document: Record<string, unknown>, issuer: string): IdentityProviderEndpoints {
  if (document.issuer !== issuer)
    throw new Error(`the discovery document names the issuer ${JSON.stringify(document.issuer)}, not ${issuer}`);
  const endpoint = (name: string): string => {
    const value = document[name];
    if (typeof value !== 'string') throw new Error(`the discovery document has no ${name}`);
    const url = new URL(value);
    const loopback = ['localhost', '[::1]'].includes(url.hostname) || /^127\.\d+\.\d+\.\d+$/.test(url.hostname);
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
      throw new Error(`${name} must use https (http only on a loopback host)`);
    }
    return url.toString();
  };
  return {
    authorization_endpoint: endpoint('authorization_endpoint'),
    token_endpoint: endpoint('token_endpoint'),
    ...(typeof document.end_session_endpoint === 'string' ? { end_session_endpoint: endpoint('end_session_endpoint') } : {}),
  };
}
