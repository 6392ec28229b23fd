import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { base64url, type CryptoKey, exportJWK, exportSPKI, generateKeyPair, type JWK, type JWTPayload, SignJWT } from 'jose';

export type IssuerAlgorithm = 'RS256' | 'PS256' | 'ES256' | 'ES384' | 'EdDSA';

export interface SigningKey {
  kid: string;
  alg: IssuerAlgorithm;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  publicJwk: JWK;
}

export interface TokenOptions {
  key?: SigningKey;
  /** Replaces `iss` (default: the issuer). */
  issuer?: string;
  /** Replaces `aud` (default: `audience` of the issuer). */
  audience?: string | string[];
  /** Seconds relative to now; `null` leaves the claim out. */
  expiresIn?: number | null;
  notBefore?: number;
  /** Header fields to add or override (`kid: undefined` removes it). */
  header?: Record<string, unknown>;
}

/** A public client registered with the issuer for the authorization code flow (the console). */
export interface PublicClient {
  clientId: string;
  redirectUris: string[];
}

/** A code handed out by the authorize endpoint, waiting to be traded at the token endpoint. */
interface PendingCode {
  clientId: string;
  redirectUri: string;
  challenge: string;
  nonce?: string;
  claims: JWTPayload;
  expiresAt: number;
}

/**
 * A local OpenID provider on 127.0.0.1: `/.well-known/openid-configuration` under the issuer and
 * a JWKS, with generated key pairs, request counters, and a switch that makes it fail. For
 * browser sign-ins it also runs the authorization code flow with PKCE (RFC 6749 §4.1, RFC 7636,
 * S256 only) for registered public clients: the authorize endpoint signs in `signInAs` without a
 * login page and redirects back with a code; the token endpoint checks the code's client,
 * redirect URI and `code_verifier`, and answers an access token for `audience` and an ID token
 * for the client. Both the discovery document and the token endpoint answer CORS requests.
 */
export class LocalIssuer {
  /** Requests served, by path kind. */
  readonly requests = { discovery: 0, jwks: 0, authorize: 0, token: 0 };
  /** Clients allowed to use the authorization code flow. */
  readonly clients: PublicClient[] = [];
  /** The claims of whoever "signs in" at the authorize endpoint next (sub, preferred_username, roles…). */
  signInAs: JWTPayload = { sub: 'user-1' };
  /** Claims laid over every ID token issued (`{ nonce: 'wrong' }`: one a client must refuse). */
  idTokenClaims: JWTPayload = {};
  /** Token endpoint refusals, by OAuth error code, for assertions. */
  readonly refusals: string[] = [];
  private readonly codes = new Map<string, PendingCode>();
  /** While true, every request is answered 503. */
  down = false;
  /** The keys listed in the JWKS; tokens may be signed with others. */
  published: SigningKey[] = [];
  readonly audience = 'agentspec-tests';

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  /** The issuer identifier: `http://127.0.0.1:<port>/realms/test`. */
  get issuer(): string {
    return `${this.url}/realms/test`;
  }

  get jwksUri(): string {
    return `${this.issuer}/protocol/openid-connect/certs`;
  }

  get authorizationEndpoint(): string {
    return `${this.issuer}/protocol/openid-connect/auth`;
  }

  get tokenEndpoint(): string {
    return `${this.issuer}/protocol/openid-connect/token`;
  }

  static async start(): Promise<LocalIssuer> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const issuer = new LocalIssuer(server, `http://127.0.0.1:${port}`);
    server.on('request', (request: IncomingMessage, response: ServerResponse) => issuer.handle(request, response));
    return issuer;
  }

  /** A new key pair; listed in the JWKS unless `publish` is false. */
  async addKey(
    alg: IssuerAlgorithm,
    kid = `${alg.toLowerCase()}-${Math.random().toString(36).slice(2, 10)}`,
    publish = true,
  ): Promise<SigningKey> {
    const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
    const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
    const key = { kid, alg, privateKey, publicKey, publicJwk };
    if (publish) this.published.push(key);
    return key;
  }

  /** A token signed with `key` (default: the first published key) for `claims`. */
  async token(claims: JWTPayload, options: TokenOptions = {}): Promise<string> {
    const key = options.key ?? this.published[0];
    const now = Math.floor(Date.now() / 1000);
    const header = { alg: key.alg, kid: key.kid, typ: 'JWT', ...options.header };
    const jwt = new SignJWT(claims)
      .setProtectedHeader(header)
      .setIssuer(options.issuer ?? this.issuer)
      .setAudience(options.audience ?? this.audience)
      .setIssuedAt(now);
    if (options.expiresIn !== null) jwt.setExpirationTime(now + (options.expiresIn ?? 300));
    if (options.notBefore !== undefined) jwt.setNotBefore(now + options.notBefore);
    return jwt.sign(key.privateKey);
  }

  /** The SubjectPublicKeyInfo PEM of a key, the bytes a confused verifier might use as an HMAC secret. */
  async publicPem(key: SigningKey): Promise<string> {
    return exportSPKI(key.publicKey);
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private handle(request: IncomingMessage, response: ServerResponse): void {
    const url = new URL(request.url ?? '/', this.url);
    const path = url.pathname;
    allowCors(request, response);
    if (request.method === 'OPTIONS') return void response.writeHead(204).end();
    if (path === '/realms/test/.well-known/openid-configuration') {
      this.requests.discovery++;
      if (this.down) return unavailable(response);
      return json(response, {
        issuer: this.issuer,
        jwks_uri: this.jwksUri,
        authorization_endpoint: this.authorizationEndpoint,
        token_endpoint: this.tokenEndpoint,
        response_types_supported: ['code'],
        grant_types_supported: ['authorization_code'],
        code_challenge_methods_supported: ['S256'],
        id_token_signing_alg_values_supported: ['RS256', 'ES256'],
      });
    }
    if (path === '/realms/test/protocol/openid-connect/auth') {
      this.requests.authorize++;
      if (this.down) return unavailable(response);
      return this.authorize(url.searchParams, response);
    }
    if (path === '/realms/test/protocol/openid-connect/token' && request.method === 'POST') {
      this.requests.token++;
      if (this.down) return unavailable(response);
      let body = '';
      request.setEncoding('utf8');
      request.on('data', (chunk: string) => (body += chunk));
      request.on('end', () => void this.exchange(new URLSearchParams(body), response));
      return;
    }
    if (path === '/realms/test/protocol/openid-connect/certs') {
      this.requests.jwks++;
      if (this.down) return unavailable(response);
      return json(response, { keys: this.published.map((key) => key.publicJwk) });
    }
    response.writeHead(404).end();
  }

  /** RFC 6749 §4.1.1–4.1.2: a bad client or redirect URI is shown here, never redirected to. */
  private authorize(params: URLSearchParams, response: ServerResponse): void {
    const client = this.clients.find((candidate) => candidate.clientId === params.get('client_id'));
    const redirectUri = params.get('redirect_uri') ?? '';
    if (!client || !client.redirectUris.includes(redirectUri)) {
      return void response.writeHead(400, { 'content-type': 'text/plain' }).end('unknown client or redirect_uri');
    }
    const back = new URL(redirectUri);
    const state = params.get('state');
    if (state !== null) back.searchParams.set('state', state);
    const challenge = params.get('code_challenge');
    if (params.get('response_type') !== 'code' || params.get('code_challenge_method') !== 'S256' || !challenge) {
      back.searchParams.set('error', 'invalid_request');
      back.searchParams.set('error_description', 'response_type=code with an S256 code_challenge is required');
    } else if (!(params.get('scope') ?? '').split(' ').includes('openid')) {
      back.searchParams.set('error', 'invalid_scope');
      back.searchParams.set('error_description', 'the scope must include openid');
    } else {
      const code = randomBytes(24).toString('base64url');
      this.codes.set(code, {
        clientId: client.clientId,
        redirectUri,
        challenge,
        nonce: params.get('nonce') ?? undefined,
        claims: { ...this.signInAs },
        expiresAt: Date.now() + 60_000,
      });
      back.searchParams.set('code', code);
      back.searchParams.set('iss', this.issuer);
    }
    response.writeHead(302, { location: back.toString(), 'cache-control': 'no-store' }).end();
  }

  /** RFC 6749 §4.1.3–4.1.4 with RFC 7636 §4.6: the code once, for its client, redirect URI and verifier. */
  private async exchange(form: URLSearchParams, response: ServerResponse): Promise<void> {
    const refuse = (error: string) => {
      this.refusals.push(error);
      response.writeHead(400, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify({ error }));
    };
    if (form.get('grant_type') !== 'authorization_code') return refuse('unsupported_grant_type');
    const code = form.get('code') ?? '';
    const pending = this.codes.get(code);
    this.codes.delete(code);
    if (!pending || pending.expiresAt < Date.now()) return refuse('invalid_grant');
    if (form.get('client_id') !== pending.clientId || form.get('redirect_uri') !== pending.redirectUri) return refuse('invalid_grant');
    const verifier = form.get('code_verifier') ?? '';
    if (!/^[A-Za-z0-9._~-]{43,128}$/.test(verifier) || createHash('sha256').update(verifier).digest('base64url') !== pending.challenge) {
      return refuse('invalid_grant');
    }
    const accessToken = await this.token(pending.claims);
    const idToken = await this.token(
      { ...pending.claims, ...(pending.nonce ? { nonce: pending.nonce } : {}), ...this.idTokenClaims },
      { audience: pending.clientId },
    );
    json(response, { access_token: accessToken, id_token: idToken, token_type: 'Bearer', expires_in: 300 });
  }
}

/** Browsers on any origin may read the discovery document and call the token endpoint (public clients). */
function allowCors(request: IncomingMessage, response: ServerResponse): void {
  response.setHeader('access-control-allow-origin', request.headers.origin ?? '*');
  response.setHeader('vary', 'Origin');
  if (request.method === 'OPTIONS') {
    response.setHeader('access-control-allow-methods', 'GET, POST');
    response.setHeader('access-control-allow-headers', 'content-type, accept');
    response.setHeader('access-control-max-age', '600');
  }
}

/** `header.payload.` with `alg: none` (RFC 7519 §6): an unsecured JWT. */
export function unsecuredToken(claims: JWTPayload): string {
  const encode = (value: unknown) => base64url.encode(JSON.stringify(value));
  return `${encode({ alg: 'none', typ: 'JWT' })}.${encode(claims)}.`;
}

/** The token with its claims replaced (the signature kept): a tampered payload. */
export function withPayload(token: string, change: (claims: JWTPayload) => JWTPayload): string {
  const [header, payload, signature] = token.split('.');
  const claims = JSON.parse(new TextDecoder().decode(base64url.decode(payload))) as JWTPayload;
  return `${header}.${base64url.encode(JSON.stringify(change(claims)))}.${signature}`;
}

/** An HS256 token whose HMAC secret is `secret` (e.g. the issuer's public key PEM). */
export async function hmacToken(
  claims: JWTPayload,
  secret: string,
  options: { issuer: string; audience: string; kid?: string },
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT', ...(options.kid ? { kid: options.kid } : {}) })
    .setIssuer(options.issuer)
    .setAudience(options.audience)
    .setIssuedAt(now)
    .setExpirationTime(now + 300)
    .sign(new TextEncoder().encode(secret));
}

function json(response: ServerResponse, body: unknown): void {
  response.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(body));
}

function unavailable(response: ServerResponse): void {
  response.writeHead(503, { 'content-type': 'text/plain' }).end('down for maintenance');
}
