import { accessForRole, ADMIN_ACCESS, type Access, type Role } from './access.js';

/**
 * Who made a request. One type for every way in (API key, OIDC token, development mode), so
 * logs and audit rows record callers the same way. `id` is stable and never a secret.
 */
export type PrincipalKind = 'api_key' | 'user_key' | 'managed_key' | 'oidc' | 'anonymous';

export interface Principal {
  kind: PrincipalKind;
  /** `key:<hash prefix>`, `oidc:<issuer>#<sub>`, or `anonymous`. */
  id: string;
  /** For people reading logs: a key label, a token's name/email, or "development mode". */
  name: string;
  /** Roles or groups as the credential states them (a token's roles claim, a user block's role). */
  roles: string[];
  /** What the principal may do, resolved from its credential (src/auth/access.ts). */
  access: Access;
}

export const ANONYMOUS_PRINCIPAL: Principal = Object.freeze({
  kind: 'anonymous',
  id: 'anonymous',
  name: 'development mode (no credentials configured)',
  roles: [],
  access: ADMIN_ACCESS,
});

/** A principal whose access follows from one role (and, for `user`, its agents): user blocks, managed keys. */
export function rolePrincipal(kind: PrincipalKind, id: string, name: string, role: Role, agents: Iterable<string>): Principal {
  return Object.freeze({ kind, id, name, roles: [role], access: accessForRole(role, agents) });
}
