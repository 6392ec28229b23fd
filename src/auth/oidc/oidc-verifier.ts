import { decodeProtectedHeader, errors, jwtVerify, type JWTVerifyOptions, type JWTVerifyResult } from 'jose';
import type { Logger } from 'pino';
import { UnauthorizedError, UnavailableError } from '../../common/errors/domain-errors.js';
import { logFields, type RequestContext } from '../../common/request-context/request-context.js';
import type { AppConfig } from '../../config/configuration.js';
import type { RoleGrants } from '../access.js';
import type { Principal } from '../principal.js';
import { IssuerUnavailableError, OidcKeySet, type OidcKeySetOptions } from './oidc-key-set.js';
import { principalFromClaims } from './oidc-principal.js';

/** Signature algorithms only: `none` and the HMAC family (secret keys) are refused. */
export const OIDC_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];
export const OIDC_CLOCK_TOLERANCE_SECONDS = 60;

export interface OidcSettings {
  issuer: string;
  audience: string;
  jwksUri?: string;
  rolesClaim: string;
}

export interface OidcVerifierOptions extends Omit<OidcKeySetOptions, 'issuer' | 'jwksUri' | 'onFailure'> {
  /** The user blocks of the definitions served now, whose names roles may grant (default none). */
  roleGrants?: () => RoleGrants;
}

const NO_GRANTS: RoleGrants = { grantFor: () => undefined };

/**
 * Checks bearer JWTs of the configured issuer (docs/security.md, "SSO"): signature against the
 * issuer's keys, `iss`, `aud`, `exp` (required) and `nbf` within a minute of clock skew.
 */
export class OidcVerifier {
  private readonly keySet?: OidcKeySet;
  private readonly options?: JWTVerifyOptions;
  private readonly roleGrants: () => RoleGrants;

  constructor(
    private readonly settings: OidcSettings | undefined,
    private readonly logger: Logger,
    { roleGrants = () => NO_GRANTS, ...tuning }: OidcVerifierOptions = {},
  ) {
    this.roleGrants = roleGrants;
    if (!settings) return;
    this.keySet = new OidcKeySet({
      ...tuning,
      issuer: settings.issuer,
      jwksUri: settings.jwksUri,
      onFailure: (reason) => logger.warn({ issuer: settings.issuer, reason }, 'OIDC: could not fetch the signing keys'),
    });
    this.options = {
      issuer: settings.issuer,
      audience: settings.audience,
      algorithms: OIDC_ALGORITHMS,
      clockTolerance: OIDC_CLOCK_TOLERANCE_SECONDS,
      requiredClaims: ['exp', 'sub'],
    };
  }

  static fromConfig(config: AppConfig, logger: Logger, options?: OidcVerifierOptions): OidcVerifier {
    const { issuer, audience, jwksUri, rolesClaim } = config.oidc;
    return new OidcVerifier(issuer && audience ? { issuer, audience, jwksUri, rolesClaim } : undefined, logger, options);
  }

  get configured(): boolean {
    return this.settings !== undefined;
  }

  /**
   * The principal of a valid token. Throws UnauthorizedError for a token that is not, and
   * UnavailableError while the issuer's keys cannot be fetched. Never logs the token; a refusal's
   * log line names the request of `context`.
   */
  async verify(token: string, context?: RequestContext): Promise<Principal> {
    const { settings, keySet, options } = this;
    if (!settings || !keySet || !options) throw new UnauthorizedError();
    let result: JWTVerifyResult;
    try {
      result = await verifyWithAnyMatchingKey(token, keySet, options);
    } catch (error) {
      if (error instanceof IssuerUnavailableError) {
        throw new UnavailableError(
          'The identity provider is unavailable, so bearer tokens cannot be checked. Try again shortly.',
          error.retryAfterSeconds,
        );
      }
      if (!(error instanceof errors.JOSEError)) throw error;
      // The code and jose's message (never the token or its claims) say why, for operators.
      this.logger.info({ ...logFields(context), reason: error.code, detail: error.message }, 'OIDC: bearer token refused');
      throw refused();
    }
    const principal = principalFromClaims(settings.issuer, result.payload, settings.rolesClaim, this.roleGrants());
    if (!principal) {
      this.logger.info(
        { ...logFields(context), reason: 'ERR_JWT_CLAIM_VALIDATION_FAILED', detail: '"sub" is not a non-empty string' },
        'OIDC: bearer token refused',
      );
      throw refused();
    }
    return principal;
  }

  /** For /healthz: undefined when OIDC is off, else whether the issuer's keys are at hand. */
  async check(timeoutMs: number): Promise<'ok' | 'unavailable' | undefined> {
    return this.keySet?.check(timeoutMs);
  }

  /** Fetches the keys in the background so the first token does not wait; failures are retried later. */
  onApplicationBootstrap(): void {
    this.keySet?.refreshInBackground();
  }
}

/** A token's shape: three base64url segments whose first decodes to a JOSE header with `alg`. */
export function looksLikeJwt(token: string): boolean {
  if (!/^[\w-]+\.[\w-]+\.[\w-]*$/.test(token)) return false;
  try {
    return typeof decodeProtectedHeader(token).alg === 'string';
  } catch {
    return false;
  }
}

/**
 * jose resolves one key per token; a token without `kid` may match several keys of the set (an
 * issuer mid-rotation), which jose reports with the candidates to try in turn.
 */
async function verifyWithAnyMatchingKey(token: string, keySet: OidcKeySet, options: JWTVerifyOptions): Promise<JWTVerifyResult> {
  try {
    return await jwtVerify(token, keySet.getKey, options);
  } catch (error) {
    if (!(error instanceof errors.JWKSMultipleMatchingKeys)) throw error;
    let last: unknown = error;
    for await (const key of error) {
      try {
        return await jwtVerify(token, key, options);
      } catch (attempt) {
        last = attempt;
      }
    }
    throw last;
  }
}

function refused(): UnauthorizedError {
  return new UnauthorizedError('The bearer token was refused: it is invalid, expired, or not issued for this service.');
}
