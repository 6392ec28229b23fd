/**
 * Who made a request. One type for every way in (API key, OIDC token, development mode), so
 * logs and audit rows record callers the same way. `id` is stable and never a secret.
 */
export type PrincipalKind = 'api_key' | 'oidc' | 'anonymous';

export interface Principal {
  kind: PrincipalKind;
  /** `key:<hash prefix>`, `oidc:<issuer>#<sub>`, or `anonymous`. */
  id: string;
  /** For people reading logs: a key label, a token's name/email, or "development mode". */
  name: string;
  /** Roles or groups from the credential, for authorization (empty for keys today). */
  roles: string[];
}

export const ANONYMOUS_PRINCIPAL: Principal = Object.freeze({
  kind: 'anonymous',
  id: 'anonymous',
  name: 'development mode (no credentials configured)',
  roles: [],
});
