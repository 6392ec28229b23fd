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

/**
 * A local OpenID provider on 127.0.0.1: `/.well-known/openid-configuration` under the issuer and
 * a JWKS, with generated key pairs, request counters, and a switch that makes it fail.
 */
export class LocalIssuer {
  /** Requests served, by path kind. */
  readonly requests = { discovery: 0, jwks: 0 };
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
    const path = new URL(request.url ?? '/', this.url).pathname;
    if (path === '/realms/test/.well-known/openid-configuration') {
      this.requests.discovery++;
      if (this.down) return unavailable(response);
      return json(response, {
        issuer: this.issuer,
        jwks_uri: this.jwksUri,
        authorization_endpoint: `${this.issuer}/protocol/openid-connect/auth`,
        token_endpoint: `${this.issuer}/protocol/openid-connect/token`,
        id_token_signing_alg_values_supported: ['RS256', 'ES256'],
      });
    }
    if (path === '/realms/test/protocol/openid-connect/certs') {
      this.requests.jwks++;
      if (this.down) return unavailable(response);
      return json(response, { keys: this.published.map((key) => key.publicJwk) });
    }
    response.writeHead(404).end();
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
