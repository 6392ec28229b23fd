import { timingSafeEqual } from 'node:crypto';
import { keyDigest } from './key-digest.js';
import { ADMIN_ACCESS } from './access.js';
import type { ManagedKeyCache } from './managed-keys/managed-key-cache.js';
import type { Principal } from './principal.js';
import type { PrincipalDirectory } from './principal-directory.js';

/**
 * Checks presented API keys against the configured ones. Only SHA-256 digests are kept, and
 * every configured key is compared (in constant time) so timing says nothing about which or
 * how much matched.
 */
export class ApiKeyVerifier {
  private readonly digests: Buffer[];

  constructor(
    keys: readonly string[],
    /** Keys created with `npm run keys` or `POST /v1/keys`, checked after the configured ones. */
    private readonly managedKeys?: Pick<ManagedKeyCache, 'verify'>,
    /** The keys of the served definitions' `user` blocks (docs/security.md "Principals and roles"). */
    private readonly users?: PrincipalDirectory,
  ) {
    this.digests = keys.map(keyDigest);
  }

  get configured(): boolean {
    return this.digests.length > 0;
  }

  verify(presented: string): Principal | undefined {
    const candidate = keyDigest(presented);
    let match: Buffer | undefined;
    for (const known of this.digests) {
      if (timingSafeEqual(candidate, known)) match = known;
    }
    // User keys are compared the same way, all of them, whether or not a service key matched.
    let user: Principal | undefined;
    for (const known of this.users?.userDirectory().keys ?? []) {
      if (timingSafeEqual(candidate, known.digest)) user = known.principal;
    }
    if (user) return user;
    if (!match) return this.managedKeys?.verify(presented);
    const id = `key:${match.subarray(0, 8).toString('hex')}`;
    // AGENTSPEC_API_KEY(S) are service keys: full access.
    return { kind: 'api_key', id, name: `API key ${id}`, roles: [], access: ADMIN_ACCESS };
  }
}

