import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { completeSignIn, idTokenProblem, safeReturnTo } from './oidc';

const ISSUER = 'https://login.example.com/realms/acme';
const SSO = {
  issuer: ISSUER,
  client_id: 'console',
  scope: 'openid profile',
  authorization_endpoint: `${ISSUER}/auth`,
  token_endpoint: `${ISSUER}/token`,
};
const PENDING = { state: 'state-1', nonce: 'nonce-1', verifier: 'v'.repeat(64), returnTo: '/sessions?agent=a' };
const NOW = Date.now();

function jwt(claims: Record<string, unknown>): string {
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${encode({ alg: 'RS256' })}.${encode(claims)}.signature`;
}
const idClaims = (extra: Record<string, unknown> = {}) => ({
  iss: ISSUER,
  aud: 'console',
  exp: Math.floor(NOW / 1000) + 300,
  nonce: 'nonce-1',
  sub: 'u-1',
  preferred_username: 'ada',
  ...extra,
});

describe('completeSignIn', () => {
  let store: Map<string, string>;
  let tokenAnswer: Record<string, unknown>;
  let tokenRequests: number;

  beforeEach(() => {
    store = new Map([['agentspec.console.oidc', JSON.stringify(PENDING)]]);
    tokenRequests = 0;
    tokenAnswer = { access_token: jwt({ sub: 'u-1' }), id_token: jwt(idClaims()), expires_in: 300 };
    vi.stubGlobal('sessionStorage', {
      getItem: (name: string) => store.get(name) ?? null,
      setItem: (name: string, value: string) => store.set(name, value),
      removeItem: (name: string) => store.delete(name),
    });
    vi.stubGlobal('location', { origin: 'https://agents.example.com' });
    vi.stubGlobal('fetch', () => {
      tokenRequests++;
      return Promise.resolve(Response.json(tokenAnswer));
    });
  });
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  const callback = (query: string) => new URL(`https://agents.example.com/console/callback?${query}`);

  it('signs in with a matching state and ID token, back to where the sign-in started', async () => {
    const { credential, returnTo } = await completeSignIn(SSO, callback('code=c1&state=state-1'));
    expect(credential).toMatchObject({ kind: 'sso', name: 'ada' });
    expect(returnTo).toBe('/sessions?agent=a');
    expect(store.has('agentspec.console.oidc')).toBe(false);
  });

  it('refuses an answer with a wrong state before reading anything else, and keeps the real pending sign-in', async () => {
    const forged = completeSignIn(SSO, callback('error=access_denied&error_description=EVIL&state=wrong'));
    await expect(forged).rejects.toThrow(/does not belong to a sign-in started in this tab/);
    await expect(forged).rejects.not.toThrow(/EVIL/);
    await expect(completeSignIn(SSO, callback('code=c1&state=wrong'))).rejects.toThrow(/does not belong/);
    expect(tokenRequests).toBe(0);
    expect(store.has('agentspec.console.oidc')).toBe(true);
  });

  it('shows the provider error description only when the state matches', async () => {
    await expect(completeSignIn(SSO, callback('error=access_denied&error_description=User%20cancelled&state=state-1'))).rejects.toThrow(
      'The identity provider refused the sign-in: User cancelled.',
    );
    expect(tokenRequests).toBe(0);
  });

  it.each([
    ['no ID token', { id_token: undefined }, /sent no ID token/],
    ['a wrong nonce', { id_token: jwt(idClaims({ nonce: 'other' })) }, /\(nonce\)/],
    ['another issuer', { id_token: jwt(idClaims({ iss: 'https://evil.example.com' })) }, /\(issuer\)/],
    ['another audience', { id_token: jwt(idClaims({ aud: ['someone-else'] })) }, /\(audience\)/],
    ['an expired token', { id_token: jwt(idClaims({ exp: Math.floor(NOW / 1000) - 5 })) }, /\(expired\)/],
  ])('refuses %s', async (_, change, message) => {
    tokenAnswer = { ...tokenAnswer, ...change };
    await expect(completeSignIn(SSO, callback('code=c1&state=state-1'))).rejects.toThrow(message);
  });
});

describe('idTokenProblem', () => {
  const expected = { issuer: ISSUER, clientId: 'console', nonce: 'nonce-1', now: NOW };

  it('accepts an audience list naming the client, and checks azp when there are several', () => {
    expect(idTokenProblem(idClaims({ aud: ['api', 'console'], azp: 'console' }), expected)).toBeUndefined();
    expect(idTokenProblem(idClaims({ aud: ['api', 'console'], azp: 'api' }), expected)).toBe('authorized party');
    expect(idTokenProblem(idClaims({ exp: undefined }), expected)).toBe('expired');
  });
});

describe('safeReturnTo', () => {
  it.each([
    ['/sessions/chat/sess_1', '/sessions/chat/sess_1'],
    ['/pipelines?pipeline=brief', '/pipelines?pipeline=brief'],
    ['/', '/playground'],
    ['//evil.example.com/x', '/playground'],
    ['/\\evil.example.com', '/playground'],
    ['https://evil.example.com/', '/playground'],
    ['/../../v1/agents', '/playground'],
    ['/callback?code=x', '/playground'],
    [42, '/playground'],
  ])('%j → %s', (candidate, expected) => expect(safeReturnTo(candidate)).toBe(expected));
});
