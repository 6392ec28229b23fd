import { type Access, accessForRole, type Role, type RoleGrants } from './access.js';
import { keyDigest } from './key-digest.js';
import { rolePrincipal, type Principal } from './principal.js';

/**
 * The principals the served definitions declare (`user` blocks, docs/security.md "Principals
 * and roles"). Auth may not import the runtime, so the runtime provides this under
 * `PRINCIPAL_DIRECTORY`; a definitions reload replaces the directory as a whole.
 */
export const PRINCIPAL_DIRECTORY = Symbol('PRINCIPAL_DIRECTORY');

export interface PrincipalDirectory {
  /** The directory of the definitions served now. */
  userDirectory(): UserDirectory;
}

/** A `user` block as auth reads it (the definitions model's `User`). */
export interface UserBlock {
  readonly name: string;
  readonly key_env?: string;
  readonly agents: readonly string[];
  readonly role: Role;
}

/** A user block's key: its SHA-256 digest only, and the principal it authenticates. */
export interface UserKey {
  readonly digest: Buffer;
  readonly principal: Principal;
}

export interface BuildOptions {
  /** Reads a key's environment variable (src/config/secrets.ts); undefined when unset or empty. */
  readKey: (variable: string) => string | undefined;
  /** AGENTSPEC_API_KEY(S): a user key equal to one would make a caller ambiguous. */
  serviceKeys?: readonly string[];
}

/** Shorter keys are refused, as for AGENTSPEC_API_KEY(S). */
export const MIN_KEY_LENGTH = 8;

/** User keys that cannot be served; each problem names the user and the variable, never a key. */
export class UserKeyError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`User keys cannot be served:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'UserKeyError';
  }
}

export class UserDirectory implements RoleGrants {
  static readonly EMPTY = new UserDirectory([], new Map());

  private constructor(
    /** Every user block with a key, in definition order. */
    readonly keys: readonly UserKey[],
    private readonly grants: ReadonlyMap<string, Access>,
  ) {}

  /**
   * Reads each user block's key from its variable and keeps only the digest. Refuses (throws
   * `UserKeyError`, listing every problem) a variable that is unset, a key shorter than 8
   * characters, and a key shared with another user or with a service key.
   */
  static build(users: readonly UserBlock[], options: BuildOptions): UserDirectory {
    const problems: string[] = [];
    const keys: UserKey[] = [];
    const owners = new Map<string, string>();
    for (const digest of (options.serviceKeys ?? []).map(keyDigest)) owners.set(digest.toString('hex'), 'AGENTSPEC_API_KEY(S)');
    for (const user of users) {
      if (user.key_env === undefined) continue;
      const ctx = `user "${user.name}"`;
      const key = options.readKey(user.key_env);
      if (key === undefined) {
        problems.push(`${ctx}: the environment variable ${user.key_env} that holds its key is not set`);
        continue;
      }
      if (key.length < MIN_KEY_LENGTH) {
        problems.push(`${ctx}: the key in ${user.key_env} is shorter than ${MIN_KEY_LENGTH} characters`);
        continue;
      }
      const digest = keyDigest(key);
      const owner = owners.get(digest.toString('hex'));
      if (owner !== undefined) {
        problems.push(`${ctx}: the key in ${user.key_env} is also the key of ${owner}; each principal needs its own`);
        continue;
      }
      owners.set(digest.toString('hex'), `${ctx} (${user.key_env})`);
      keys.push({ digest, principal: userPrincipal(user) });
    }
    if (problems.length > 0) throw new UserKeyError(problems);
    const grants = new Map(users.map((user) => [user.name, accessForRole(user.role, user.agents)]));
    return new UserDirectory(keys, grants);
  }

  get hasKeys(): boolean {
    return this.keys.length > 0;
  }

  /** What the user block named `role` grants to token holders with that role. */
  grantFor(role: string): Access | undefined {
    return this.grants.get(role);
  }
}

/** `user:<name>`: what logs and audit rows record, the same whichever key the block has. */
export function userPrincipal(user: UserBlock): Principal {
  return rolePrincipal('user_key', `user:${user.name}`, user.name, user.role, user.agents);
}

