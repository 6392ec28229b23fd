/** What the console needs to sign in with the company SSO: an OpenID Connect public client (docs/console.md). */
export class ConsoleSsoDto {
  /** OIDC_ISSUER, exactly as configured. @example https://login.example.com/realms/acme */
  issuer!: string;
  /** OIDC_CONSOLE_CLIENT_ID: the console's public client (no secret; PKCE instead). @example agentspec-console */
  client_id!: string;
  /** OIDC_CONSOLE_SCOPE. @example openid profile email */
  scope!: string;
  /** From the issuer's discovery document; absent while the issuer cannot be reached. */
  authorization_endpoint?: string;
  /** From the issuer's discovery document; absent while the issuer cannot be reached. */
  token_endpoint?: string;
  /** From the issuer's discovery document, when it has one: where signing out of the SSO goes. */
  end_session_endpoint?: string;
}

export class ConsoleConfigDto {
  /** The service's version. @example 0.1.0 */
  version!: string;
  /** Present when OIDC_ISSUER and OIDC_CONSOLE_CLIENT_ID are set; without it the console signs in with API keys only. */
  sso?: ConsoleSsoDto;
}
