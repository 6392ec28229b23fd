import type { JWTPayload } from 'jose';
import { accessFromRoles, type RoleGrants } from '../access.js';
import type { Principal } from '../principal.js';

/**
 * The principal of a verified token: `oidc:<issuer>#<sub>` (the id audit rows record), a name
 * for people, the roles of the configured claim and the access they grant. Undefined when the
 * token names no subject.
 */
export function principalFromClaims(issuer: string, claims: JWTPayload, rolesClaim: string, grants: RoleGrants): Principal | undefined {
  const subject = claims.sub;
  if (typeof subject !== 'string' || subject === '') return undefined;
  const roles = rolesFrom(claimAt(claims, rolesClaim));
  return {
    kind: 'oidc',
    id: `oidc:${issuer}#${subject}`,
    name: displayName(claims) ?? subject,
    roles,
    access: accessFromRoles(roles, grants),
  };
}

/**
 * The value of a claim: the claim of that exact name if there is one (names may hold dots, as in
 * `https://example.com/roles`), else the dotted path through nested objects (`realm_access.roles`).
 */
export function claimAt(claims: JWTPayload, path: string): unknown {
  if (Object.hasOwn(claims, path)) return claims[path];
  let value: unknown = claims;
  for (const segment of path.split('.')) {
    if (typeof value !== 'object' || value === null || Array.isArray(value) || !Object.hasOwn(value, segment)) return undefined;
    value = (value as Record<string, unknown>)[segment];
  }
  return value;
}

/** A string is one role; an array contributes its strings; anything else gives none. */
export function rolesFrom(value: unknown): string[] {
  if (typeof value === 'string') return value === '' ? [] : [value];
  if (!Array.isArray(value)) return [];
  return [...new Set(value.filter((role): role is string => typeof role === 'string' && role !== ''))];
}

function displayName(claims: JWTPayload): string | undefined {
  for (const claim of ['preferred_username', 'email']) {
    const value = claims[claim];
    if (typeof value === 'string' && value !== '') return value;
  }
  return undefined;
}
