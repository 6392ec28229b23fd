import type { Credential } from './api';
import type { ConsoleSettings } from './types';

type Sso = NonNullable<ConsoleSettings['sso']>;

/** What the browser keeps between leaving for the identity provider and coming back. */
interface PendingSignIn {
  state: string;
  nonce: string;
  verifier: string;
  returnTo: string;
}

const PENDING = 'agentspec.console.oidc';
export const CALLBACK_PATH = '/console/callback';

export function redirectUri(): string {
  return `${location.origin}${CALLBACK_PATH}`;
}

/**
 * OpenID Connect authorization code flow with PKCE (RFC 7636, S256) for a public client: no
 * secret, the code is bound to a verifier only this tab knows, `state` ties the answer to this
 * request and `nonce` to its ID token.
 */
export async function beginSignIn(sso: Sso, returnTo: string): Promise<void> {
  if (!sso.authorization_endpoint) throw new Error('The identity provider cannot be reached right now; try again shortly.');
  const pending: PendingSignIn = {
    state: randomText(),
    nonce: randomText(),
    verifier: randomText(48),
    returnTo: safeReturnTo(returnTo),
  };
  sessionStorage.setItem(PENDING, JSON.stringify(pending));
  const url = new URL(sso.authorization_endpoint);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: sso.client_id,
    redirect_uri: redirectUri(),
    scope: sso.scope,
    state: pending.state,
    nonce: pending.nonce,
    code_challenge: await challengeOf(pending.verifier),
    code_challenge_method: 'S256',
  }).toString();
  location.assign(url.toString());
}

/**
 * The callback address the page was opened at, read once and then removed from the address bar
 * (and so from history) before anything else happens, whatever comes next: the code and state
 * must not linger, and a forged link leaves nothing behind either.
 */
let callbackAtStart: URL | undefined | null = null;
export function takeCallback(): URL | undefined {
  if (callbackAtStart === null) {
    callbackAtStart = location.pathname === CALLBACK_PATH ? new URL(location.href) : undefined;
    if (callbackAtStart) history.replaceState(null, '', '/console/');
  }
  return callbackAtStart;
}

/** At /console/callback: trades the code for tokens; answers the credential and where to go next. */
export async function completeSignIn(sso: Sso, callback: URL): Promise<{ credential: Credential; returnTo: string }> {
  const pending = pendingSignIn();
  const state = callback.searchParams.get('state');
  // The answer must belong to the sign-in this tab started (RFC 6749 §10.12) before anything in
  // it is believed or shown: a forged link neither injects text nor spends a real pending sign-in.
  if (!pending || !state || state !== pending.state) {
    throw new Error('This sign-in answer does not belong to a sign-in started in this tab, or it was already used. Sign in again.');
  }
  sessionStorage.removeItem(PENDING);
  const failure = callback.searchParams.get('error');
  if (failure) {
    const reason = (callback.searchParams.get('error_description') ?? failure).slice(0, 300);
    throw new Error(`The identity provider refused the sign-in: ${reason}.`);
  }
  const code = callback.searchParams.get('code');
  if (!code) throw new Error('The identity provider answered without a code. Sign in again.');
  if (!sso.token_endpoint) throw new Error('The identity provider cannot be reached right now; try again shortly.');
  const response = await fetch(sso.token_endpoint, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: redirectUri(),
      client_id: sso.client_id,
      code_verifier: pending.verifier,
    }),
  });
  const tokens = (await response.json().catch(() => ({}))) as TokenAnswer;
  if (!response.ok || !tokens.access_token) {
    throw new Error(
      `The identity provider did not issue a token: ${tokens.error_description ?? tokens.error ?? `HTTP ${response.status}`}.`,
    );
  }
  if (!tokens.id_token) throw new Error('The identity provider sent no ID token (the scope asks for openid). Sign in again.');
  const idClaims = claimsOf(tokens.id_token);
  const problem = idTokenProblem(idClaims, { issuer: sso.issuer, clientId: sso.client_id, nonce: pending.nonce, now: Date.now() });
  if (problem) throw new Error(`The ID token does not belong to this sign-in (${problem}). Sign in again.`);
  const claims = { ...claimsOf(tokens.access_token), ...idClaims };
  const name = [claims.preferred_username, claims.email, claims.name, claims.sub].find(
    (value): value is string => typeof value === 'string',
  );
  return {
    credential: {
      kind: 'sso',
      accessToken: tokens.access_token,
      idToken: tokens.id_token,
      name: name ?? 'SSO user',
      expiresAt: typeof tokens.expires_in === 'number' ? Date.now() + tokens.expires_in * 1000 : undefined,
    },
    returnTo: safeReturnTo(pending.returnTo),
  };
}

/**
 * The ID token checks of OpenID Connect Core 1.0 §3.1.3.7 a browser can make: issuer, audience
 * (and azp when several), expiry, nonce. Its signature is not checked here: the token only names
 * the person on screen, and the API verifies the access token itself on every call.
 */
export function idTokenProblem(
  claims: Record<string, unknown>,
  expected: { issuer: string; clientId: string; nonce: string; now: number },
): string | undefined {
  if (claims.iss !== expected.issuer) return 'issuer';
  const audience = typeof claims.aud === 'string' ? [claims.aud] : Array.isArray(claims.aud) ? claims.aud : [];
  if (!audience.includes(expected.clientId)) return 'audience';
  if (audience.length > 1 && claims.azp !== undefined && claims.azp !== expected.clientId) return 'authorized party';
  if (typeof claims.exp !== 'number' || claims.exp * 1000 <= expected.now) return 'expired';
  if (claims.nonce !== expected.nonce) return 'nonce';
  return undefined;
}

/** A console path (below /console) to come back to after signing in; anything else is the playground. */
export function safeReturnTo(candidate: unknown): string {
  const fallback = '/playground';
  if (typeof candidate !== 'string' || !candidate.startsWith('/') || candidate.startsWith('//')) return fallback;
  if (candidate.includes('\\') || [...candidate].some((char) => char < ' ')) return fallback;
  let url: URL;
  try {
    url = new URL(`/console${candidate}`, 'https://console.invalid');
  } catch {
    return fallback;
  }
  if (url.origin !== 'https://console.invalid' || !url.pathname.startsWith('/console/')) return fallback;
  const path = url.pathname.slice('/console'.length);
  if (path === '/' || path === '/callback' || path.startsWith('/callback/')) return fallback;
  return path + url.search;
}

function pendingSignIn(): PendingSignIn | undefined {
  try {
    const value = JSON.parse(sessionStorage.getItem(PENDING) ?? 'null') as Partial<PendingSignIn> | null;
    if (typeof value?.state === 'string' && typeof value.nonce === 'string' && typeof value.verifier === 'string') {
      return { state: value.state, nonce: value.nonce, verifier: value.verifier, returnTo: safeReturnTo(value.returnTo) };
    }
  } catch {
    // Unreadable: as if none.
  }
  return undefined;
}

/** Where to send the browser to end the SSO session too, when the issuer says. */
export function signOutUrl(sso: Sso | undefined, credential: Credential): string | undefined {
  if (!sso?.end_session_endpoint || credential.kind !== 'sso') return undefined;
  const url = new URL(sso.end_session_endpoint);
  url.searchParams.set('client_id', sso.client_id);
  url.searchParams.set('post_logout_redirect_uri', `${location.origin}/console/`);
  if (credential.idToken) url.searchParams.set('id_token_hint', credential.idToken);
  return url.toString();
}

interface TokenAnswer {
  access_token?: string;
  id_token?: string;
  expires_in?: number;
  error?: string;
  error_description?: string;
}

export function claimsOf(token: string): Record<string, unknown> {
  const payload = token.split('.')[1];
  if (!payload) return {};
  try {
    return JSON.parse(new TextDecoder().decode(base64urlDecode(payload))) as Record<string, unknown>;
  } catch {
    return {};
  }
}

function randomText(bytes = 32): string {
  return base64url(crypto.getRandomValues(new Uint8Array(bytes)));
}

async function challengeOf(verifier: string): Promise<string> {
  return base64url(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))));
}

function base64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
}

function base64urlDecode(text: string): Uint8Array {
  const base64 = text
    .replace(/-/g, '+')
    .replace(/_/g, '/')
    .padEnd(Math.ceil(text.length / 4) * 4, '=');
  return Uint8Array.from(atob(base64), (char) => char.charCodeAt(0));
}
