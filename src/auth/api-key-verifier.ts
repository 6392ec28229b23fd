import { createHash, timingSafeEqual } from 'node:crypto';
import { ADMIN_ACCESS } from './access.js';
import type { Principal } from './principal.js';

/**
 * Checks presented API keys against the configured ones. Only SHA-256 digests are kept, and
 * every configured key is compared (in constant time) so timing says nothing about which or
 * how much matched.
 */
export class ApiKeyVerifier {
  private readonly digests: Buffer[];

  constructor(keys: readonly string[]) {
    this.digests = keys.map(digest);
  }

  get configured(): boolean {
    return this.digests.length > 0;
  }

  verify(presented: string): Principal | undefined {
    const candidate = digest(presented);
    let match: Buffer | undefined;
    for (const known of this.digests) {
      if (timingSafeEqual(candidate, known)) match = known;
    }
    if (!match) return undefined;
    const id = `key:${match.subarray(0, 8).toString('hex')}`;
    // AGENTSPEC_API_KEY(S) are service keys: full access.
    return { kind: 'api_key', id, name: `API key ${id}`, roles: [], access: ADMIN_ACCESS };
  }
}

function digest(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}
