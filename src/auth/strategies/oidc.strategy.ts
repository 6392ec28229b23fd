import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import type { Request } from 'express';
import { Strategy } from 'passport-custom';
import { looksLikeJwt, OidcVerifier } from '../oidc/oidc-verifier.js';
import type { Principal } from '../principal.js';
import { requestContext } from '../../common/request-context/request-context.js';
import { bearerToken } from './bearer.strategy.js';

export const OIDC_STRATEGY = 'oidc';

/**
 * `Authorization: Bearer <JWT>` when OIDC is configured. A token shaped like a JWT is decided
 * here (accepted, 401, or 503 while the issuer is down) and never looked up as an API key;
 * anything else is left to the key strategies.
 */
@Injectable()
export class OidcStrategy extends PassportStrategy(Strategy, OIDC_STRATEGY) {
  constructor(private readonly verifier: OidcVerifier) {
    super();
  }

  async validate(request: Request): Promise<Principal | false> {
    if (!this.verifier.configured) return false;
    const token = bearerToken(request.headers.authorization);
    if (!token || !looksLikeJwt(token)) return false;
    return this.verifier.verify(token, requestContext.of(request));
  }
}
