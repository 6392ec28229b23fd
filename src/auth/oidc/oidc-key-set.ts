import {
  createLocalJWKSet,
  errors,
  type CryptoKey,
  type FlattenedJWSInput,
  type JSONWebKeySet,
  type JWSHeaderParameters,
  type LocalJWKSet,
} from 'jose';

/** The issuer's discovery document or key set could not be fetched: tokens cannot be checked. */
export class IssuerUnavailableError extends Error {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message);
    this.name = 'IssuerUnavailableError';
  }
}

export interface OidcKeySetOptions {
  /** Exactly as configured; discovery lives under it (OpenID Connect Discovery 1.0 §4). */
  issuer: string;
  /** Skips discovery. */
  jwksUri?: string;
  /** After a fetch, a token naming an unknown `kid` causes no new fetch for this long. */
  cooldownMs?: number;
  /** Keys older than this are refreshed in the background while still in use. */
  maxAgeMs?: number;
  /** Keys older than `maxAgeMs` plus this are not used until a refresh succeeds. */
  maxStaleMs?: number;
  /** After a failed fetch, no new attempt for this long; callers are told to retry after it. */
  retryDelayMs?: number;
  /** Deadline of one discovery or key set request. */
  timeoutMs?: number;
  now?: () => number;
  /** Told about every failed fetch, with a message naming the URL and the reason. */
  onFailure?: (message: string) => void;
}

interface Attempt {
  startedAt: number;
  failure?: string;
}

/**
 * The issuer's signing keys, fetched lazily (discovery first, unless the JWKS URI is configured)
 * and cached. Fetches are throttled whatever tokens arrive: one at a time, an unknown `kid`
 * refetches at most once per cooldown, and a failed fetch is not retried before `retryDelayMs`.
 * Stale keys stay in use while a background refresh runs, so a short issuer outage does not
 * stop callers whose keys are known.
 */
export class OidcKeySet {
  private readonly cooldownMs: number;
  private readonly maxAgeMs: number;
  private readonly maxStaleMs: number;
  private readonly retryDelayMs: number;
  private readonly timeoutMs: number;
  private readonly now: () => number;
  private jwksUri?: URL;
  private keys?: { resolve: LocalJWKSet; fetchedAt: number };
  private lastAttempt?: Attempt;
  private pending?: Promise<void>;

  constructor(private readonly options: OidcKeySetOptions) {
    this.cooldownMs = options.cooldownMs ?? 30_000;
    this.maxAgeMs = options.maxAgeMs ?? 10 * 60_000;
    this.maxStaleMs = options.maxStaleMs ?? 60 * 60_000;
    this.retryDelayMs = options.retryDelayMs ?? 5_000;
    this.timeoutMs = options.timeoutMs ?? 5_000;
    this.now = options.now ?? Date.now;
    this.jwksUri = options.jwksUri ? new URL(options.jwksUri) : undefined;
  }

  /** The key for a token's header, as jose's `jwtVerify` asks for it. */
  readonly getKey = async (header: JWSHeaderParameters, token: FlattenedJWSInput): Promise<CryptoKey> => {
    const resolve = await this.usableKeys();
    try {
      return await resolve(header, token);
    } catch (error) {
      if (!(error instanceof errors.JWKSNoMatchingKey)) throw error;
      // A rotated key, or a made-up kid: refetch, but never more often than the cooldown.
      if (this.lastAttempt && this.now() < this.lastAttempt.startedAt + this.cooldownMs) {
        if (this.lastAttempt.failure) throw this.unavailable();
        throw error;
      }
      await this.refresh();
      return this.keys!.resolve(header, token);
    }
  };

  /**
   * `ok` when keys are at hand and the last fetch worked; otherwise waits for the fetch under way
   * or tries one (within the throttle), for at most `timeoutMs`.
   */
  async check(timeoutMs: number): Promise<'ok' | 'unavailable'> {
    if (this.keys && this.now() - this.keys.fetchedAt >= this.maxAgeMs) this.refreshInBackground();
    if (this.keys && !this.pending && !this.lastAttempt?.failure) return 'ok';
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.refresh(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error('timeout')), timeoutMs);
        }),
      ]);
      return 'ok';
    } catch {
      return 'unavailable';
    } finally {
      clearTimeout(timer);
    }
  }

  /** Starts fetching the keys without waiting (at start-up); a failure is only reported. */
  refreshInBackground(): void {
    this.refresh().catch(() => undefined);
  }

  private async usableKeys(): Promise<LocalJWKSet> {
    if (this.keys) {
      const age = this.now() - this.keys.fetchedAt;
      if (age < this.maxAgeMs) return this.keys.resolve;
      if (age < this.maxAgeMs + this.maxStaleMs) {
        this.refreshInBackground();
        return this.keys.resolve;
      }
    }
    await this.refresh();
    return this.keys!.resolve;
  }

  /** One fetch at a time; refused without a request while a recent failure is fresh. */
  private refresh(): Promise<void> {
    if (this.pending) return this.pending;
    const startedAt = this.now();
    if (this.lastAttempt?.failure && startedAt < this.lastAttempt.startedAt + this.retryDelayMs) {
      return Promise.reject(this.unavailable());
    }
    const pending: Promise<void> = this.fetchKeys().then(
      (resolve) => {
        this.keys = { resolve, fetchedAt: startedAt };
        this.lastAttempt = { startedAt };
      },
      (error: unknown) => {
        const failure = error instanceof Error ? error.message : String(error);
        this.lastAttempt = { startedAt, failure };
        this.options.onFailure?.(failure);
        throw this.unavailable();
      },
    );
    const settled = pending.finally(() => {
      if (this.pending === settled) this.pending = undefined;
    });
    this.pending = settled;
    return settled;
  }

  private unavailable(): IssuerUnavailableError {
    const retryAt = (this.lastAttempt?.startedAt ?? this.now()) + this.retryDelayMs;
    const seconds = Math.max(1, Math.ceil((retryAt - this.now()) / 1000));
    return new IssuerUnavailableError(this.lastAttempt?.failure ?? 'the identity provider is unavailable', seconds);
  }

  private async fetchKeys(): Promise<LocalJWKSet> {
    this.jwksUri ??= await this.discover();
    const jwks = await this.getJson(this.jwksUri);
    try {
      return createLocalJWKSet(jwks as JSONWebKeySet);
    } catch {
      throw new Error(`${this.jwksUri.href}: not a JSON Web Key Set`);
    }
  }

  private async discover(): Promise<URL> {
    const url = new URL(`${this.options.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`);
    const document = await this.getJson(url);
    const { issuer, jwks_uri: jwksUri } = (typeof document === 'object' && document !== null ? document : {}) as Record<string, unknown>;
    // OpenID Connect Discovery 1.0 §4.3: the document must name the issuer it was fetched for.
    if (issuer !== this.options.issuer) {
      throw new Error(`${url.href}: names the issuer ${JSON.stringify(issuer)}, not ${JSON.stringify(this.options.issuer)}`);
    }
    let keys: URL;
    try {
      keys = new URL(String(jwksUri));
    } catch {
      throw new Error(`${url.href}: no valid jwks_uri`);
    }
    if (keys.protocol !== 'https:' && !(keys.protocol === 'http:' && url.protocol === 'http:')) {
      throw new Error(`${url.href}: jwks_uri must use https`);
    }
    return keys;
  }

  private async getJson(url: URL): Promise<unknown> {
    const signal = AbortSignal.timeout(this.timeoutMs);
    let response: Response;
    try {
      response = await fetch(url, { headers: { accept: 'application/json, application/jwk-set+json' }, redirect: 'manual', signal });
    } catch (error) {
      throw new Error(`${url.href}: ${signal.aborted ? `no answer within ${this.timeoutMs} ms` : describe(error)}`, { cause: error });
    }
    if (response.status !== 200) {
      await response.body?.cancel();
      throw new Error(`${url.href}: answered HTTP ${response.status}`);
    }
    try {
      return await response.json();
    } catch {
      throw new Error(`${url.href}: ${signal.aborted ? `no answer within ${this.timeoutMs} ms` : 'not JSON'}`);
    }
  }
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause as { code?: string; message?: string } | undefined;
  return cause ? `${error.message} (${cause.code ?? cause.message})` : error.message;
}
