import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { HeaderAPIKeyStrategy } from 'passport-headerapikey';
import { ApiKeyVerifier } from '../api-key-verifier.js';
import type { Principal } from '../principal.js';

export const API_KEY_STRATEGY = 'api-key';

/** `X-API-Key: <key>`. */
@Injectable()
export class ApiKeyStrategy extends PassportStrategy(HeaderAPIKeyStrategy, API_KEY_STRATEGY) {
  constructor(private readonly verifier: ApiKeyVerifier) {
    super({ header: 'X-API-Key', prefix: '' }, false);
  }

  validate(apiKey: string): Principal | false {
    return this.verifier.verify(apiKey) ?? false;
  }
}
