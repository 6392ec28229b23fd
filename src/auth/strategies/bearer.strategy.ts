import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import type { Request } from 'express';
import { Strategy } from 'passport-custom';
import { ApiKeyVerifier } from '../api-key-verifier.js';
import type { Principal } from '../principal.js';

export const BEARER_STRATEGY = 'bearer';

/**
 * `Authorization: Bearer <token>` carrying an API key. OIDC JWTs arrive the same way; their
 * check belongs here too, after the key lookup, once SSO is configured.
 */
@Injectable()
export class BearerStrategy extends PassportStrategy(Strategy, BEARER_STRATEGY) {
  constructor(private readonly verifier: ApiKeyVerifier) {
    super();
  }

  validate(request: Request): Principal | false {
    const token = bearerToken(request.headers.authorization);
    if (!token) return false;
    return this.verifier.verify(token) ?? false;
  }
}

export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
  return match?.[1];
}
