import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { hmacToken, LocalIssuer, type SigningKey, unsecuredToken, withPayload } from '../../../test/support/oidc-issuer.js';
import { UnauthorizedError, UnavailableError } from '../../common/errors/domain-errors.js';
import { ADMIN_ACCESS, AUDITOR_ACCESS, userAccess } from '../access.js';
import { claimAt, principalFromClaims, rolesFrom } from './oidc-principal.js';
import { looksLikeJwt, OidcVerifier, type OidcSettings } from './oidc-verifier.js';

const silent = pino({ level: 'silent' });

/** A clock for the key set's throttles; token times stay on the real clock. */
class Clock {
  value = 1_000_000;
  now = () => this.value;
  advance(ms: number): void {
    this.value += ms;
  }
}

describe('OidcVerifier against a local issuer', () => {
  let issuer: LocalIssuer;
  let rsa: SigningKey;
  let ec: SigningKey;
  let clock: Clock;

  beforeAll(async () => {
    issuer = await LocalIssuer.start();
  });
  afterAll(() => issuer?.close());

  beforeEach(async () => {
    issuer.published = [];
    issuer.down = false;
    rsa = await issuer.addKey('RS256');
    ec = await issuer.addKey('ES256');
    issuer.requests.discovery = 0;
    issuer.requests.jwks = 0;
    clock = new Clock();
  });

  // A `user` block named support-team in the served definitions.
  const roleGrants = () => ({ grantFor: (role: string) => (role === 'support-team' ? userAccess(['support-assistant']) : undefined) });

  function verifier(settings: Partial<OidcSettings> = {}, logger = silent): OidcVerifier {
    return new OidcVerifier({ issuer: issuer.issuer, audience: issuer.audience, rolesClaim: 'roles', ...settings }, logger, {
      now: clock.now,
      roleGrants,
    });
  }

  async function refusal(outcome: Promise<unknown>): Promise<void> {
    await expect(outcome).rejects.toBeInstanceOf(UnauthorizedError);
    await expect(outcome).rejects.toMatchObject({ code: 'unauthorized' });
  }

  describe('valid tokens', () => {
    it('accepts RS256: principal id from issuer and sub, name from preferred_username, roles from the claim', async () => {
      const token = await issuer.token(
        { sub: 'user-1', preferred_username: 'ada', email: 'ada@example.com', roles: ['admin', 'ops'] },
        { key: rsa },
      );

      const principal = await verifier().verify(token);

      expect(principal).toEqual({
        kind: 'oidc',
        id: `oidc:${issuer.issuer}#user-1`,
        name: 'ada',
        roles: ['admin', 'ops'],
        access: ADMIN_ACCESS,
      });
    });

    it('accepts ES256, naming the caller by email when there is no preferred_username', async () => {
      const token = await issuer.token({ sub: 'user-2', email: 'bob@example.com', roles: 'auditor' }, { key: ec });

      const principal = await verifier().verify(token);

      expect(principal).toMatchObject({
        id: `oidc:${issuer.issuer}#user-2`,
        name: 'bob@example.com',
        roles: ['auditor'],
        access: AUDITOR_ACCESS,
      });
    });

    it('accepts EdDSA and falls back to sub for the name; no roles claim means no roles', async () => {
      const ed = await issuer.addKey('EdDSA');
      const principal = await verifier().verify(await issuer.token({ sub: 'svc-7' }, { key: ed }));

      expect(principal).toMatchObject({ name: 'svc-7', roles: [], access: { role: 'user', agents: new Set() } });
    });

    it('grants what the user block named by a role grants', async () => {
      const principal = await verifier().verify(await issuer.token({ sub: 'u', roles: ['support-team', 'unknown-role'] }));

      expect(principal.roles).toEqual(['support-team', 'unknown-role']);
      expect(principal.access).toEqual(userAccess(['support-assistant']));
    });

    it('reads roles from a nested claim path (Keycloak realm_access.roles)', async () => {
      const token = await issuer.token({ sub: 'user-3', realm_access: { roles: ['auditor', 'offline_access'] } });

      const principal = await verifier({ rolesClaim: 'realm_access.roles' }).verify(token);

      expect(principal.roles).toEqual(['auditor', 'offline_access']);
      expect(principal.access).toBe(AUDITOR_ACCESS);
    });

    it('tolerates up to 60 s of clock skew on exp and nbf', async () => {
      const subject = verifier();
      await expect(subject.verify(await issuer.token({ sub: 'u' }, { expiresIn: -30 }))).resolves.toMatchObject({ kind: 'oidc' });
      await expect(subject.verify(await issuer.token({ sub: 'u' }, { notBefore: 30 }))).resolves.toMatchObject({ kind: 'oidc' });
    });

    it('accepts one of several audiences in aud', async () => {
      const token = await issuer.token({ sub: 'u' }, { audience: ['other-api', issuer.audience] });
      await expect(verifier().verify(token)).resolves.toMatchObject({ kind: 'oidc' });
    });

    it('tries every matching key for a token without kid (an issuer mid-rotation)', async () => {
      const second = await issuer.addKey('RS256');
      const token = await issuer.token({ sub: 'u' }, { key: second, header: { kid: undefined } });

      await expect(verifier().verify(token)).resolves.toMatchObject({ id: `oidc:${issuer.issuer}#u` });
    });

    it('fetches discovery and keys once, then verifies from the cache', async () => {
      const subject = verifier();
      for (let i = 0; i < 5; i++) await subject.verify(await issuer.token({ sub: `u${i}` }, { key: i % 2 ? ec : rsa }));

      expect(issuer.requests).toMatchObject({ discovery: 1, jwks: 1 });
    });

    it('skips discovery when the JWKS URI is configured', async () => {
      await verifier({ jwksUri: issuer.jwksUri }).verify(await issuer.token({ sub: 'u' }));

      expect(issuer.requests).toMatchObject({ discovery: 0, jwks: 1 });
    });
  });

  describe('refused tokens (401, never 503)', () => {
    it('refuses an expired token (beyond the tolerance)', async () => {
      await refusal(verifier().verify(await issuer.token({ sub: 'u' }, { expiresIn: -120 })));
    });

    it('refuses a token that is not yet valid (beyond the tolerance)', async () => {
      await refusal(verifier().verify(await issuer.token({ sub: 'u' }, { notBefore: 120 })));
    });

    it('refuses a token without exp', async () => {
      await refusal(verifier().verify(await issuer.token({ sub: 'u' }, { expiresIn: null })));
    });

    it('refuses a token without sub', async () => {
      await refusal(verifier().verify(await issuer.token({})));
    });

    it('refuses a token for another audience', async () => {
      await refusal(verifier().verify(await issuer.token({ sub: 'u' }, { audience: 'another-service' })));
    });

    it('refuses a token of another issuer, even signed with a known key', async () => {
      await refusal(verifier().verify(await issuer.token({ sub: 'u' }, { issuer: 'https://evil.example.com' })));
      await refusal(verifier().verify(await issuer.token({ sub: 'u' }, { issuer: `${issuer.issuer}/` })));
    });

    it('refuses a token signed by a key the issuer does not publish, even with a published kid', async () => {
      const stranger = await issuer.addKey('RS256', 'stranger', false);
      await refusal(verifier().verify(await issuer.token({ sub: 'u' }, { key: stranger })));
      await refusal(verifier().verify(await issuer.token({ sub: 'u' }, { key: stranger, header: { kid: rsa.kid } })));
    });

    it('refuses alg none', async () => {
      const token = unsecuredToken({ sub: 'u', iss: issuer.issuer, aud: issuer.audience, exp: Math.floor(Date.now() / 1000) + 300 });
      expect(looksLikeJwt(token)).toBe(true);

      await refusal(verifier().verify(token));
    });

    it('refuses HS256 signed with the public key as the secret (algorithm confusion)', async () => {
      const pem = await issuer.publicPem(rsa);
      const token = await hmacToken({ sub: 'u', roles: ['admin'] }, pem, {
        issuer: issuer.issuer,
        audience: issuer.audience,
        kid: rsa.kid,
      });

      await refusal(verifier().verify(token));
      // Refused by algorithm before any key lookup: not even a refetch.
      expect(issuer.requests.jwks).toBe(0);
    });

    it('refuses a tampered payload', async () => {
      const token = await issuer.token({ sub: 'u', roles: ['user'] });
      const forged = withPayload(token, (claims) => ({ ...claims, roles: ['admin'] }));
      const subject = verifier();

      await expect(subject.verify(token)).resolves.toMatchObject({ roles: ['user'] });
      await refusal(subject.verify(forged));
    });

    it('logs why, never the token', async () => {
      const lines: string[] = [];
      const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
      const token = await issuer.token({ sub: 'u', email: 'secret@example.com' }, { audience: 'another-service' });

      await refusal(verifier({}, logger).verify(token));

      expect(lines.map((line) => JSON.parse(line))).toEqual([
        expect.objectContaining({ msg: 'OIDC: bearer token refused', reason: 'ERR_JWT_CLAIM_VALIDATION_FAILED' }),
      ]);
      const text = lines.join('\n');
      expect(text).not.toContain(token);
      expect(text).not.toContain(token.split('.')[2]);
      expect(text).not.toContain('secret@example.com');
    });
  });

  describe('key rotation and refetch throttling', () => {
    it('accepts a token of a rotated-in key after refetching the key set', async () => {
      const subject = verifier();
      await subject.verify(await issuer.token({ sub: 'u' }, { key: rsa }));
      const rotated = await issuer.addKey('RS256', 'rotated-2');
      clock.advance(30_001);

      await expect(subject.verify(await issuer.token({ sub: 'u' }, { key: rotated }))).resolves.toMatchObject({ kind: 'oidc' });
      expect(issuer.requests.jwks).toBe(2);
    });

    it('refuses an unknown kid without refetching within 30 s of the last fetch', async () => {
      const subject = verifier();
      await subject.verify(await issuer.token({ sub: 'u' }));
      const rotated = await issuer.addKey('RS256', 'rotated-3');
      clock.advance(29_000);

      await refusal(subject.verify(await issuer.token({ sub: 'u' }, { key: rotated })));
      expect(issuer.requests.jwks).toBe(1);
    });

    it('refetches at most once per 30 s under a flood of unknown kids', async () => {
      const subject = verifier();
      await subject.verify(await issuer.token({ sub: 'u' }));
      const stranger = await issuer.addKey('ES256', 'unused', false);
      const flood = async () => {
        const tokens = await Promise.all(
          Array.from({ length: 40 }, (_, i) => issuer.token({ sub: 'u' }, { key: stranger, header: { kid: `made-up-${i}` } })),
        );
        const outcomes = await Promise.allSettled(tokens.map((token) => subject.verify(token)));
        expect(outcomes.every((outcome) => outcome.status === 'rejected' && outcome.reason instanceof UnauthorizedError)).toBe(true);
      };

      await flood();
      expect(issuer.requests.jwks).toBe(1);

      for (let second = 0; second < 60; second += 5) {
        clock.advance(5_000);
        await flood();
      }
      // 60 s of flooding after the first fetch: two refetches (at 30 s and at 60 s), never more.
      expect(issuer.requests.jwks).toBe(3);
      expect(issuer.requests.discovery).toBe(1);
    });
  });

  describe('issuer outages', () => {
    it('answers UnavailableError with Retry-After while no keys could be fetched, without hammering the issuer', async () => {
      issuer.down = true;
      const subject = verifier();
      const token = await issuer.token({ sub: 'u' });

      const first = subject.verify(token);
      await expect(first).rejects.toBeInstanceOf(UnavailableError);
      await expect(first).rejects.toMatchObject({ code: 'unavailable', options: { retryAfterSeconds: 5 } });
      expect(issuer.requests.discovery).toBe(1);

      clock.advance(2_000);
      await expect(subject.verify(token)).rejects.toMatchObject({ code: 'unavailable', options: { retryAfterSeconds: 3 } });
      expect(issuer.requests.discovery).toBe(1);

      issuer.down = false;
      clock.advance(3_000);
      await expect(subject.verify(token)).resolves.toMatchObject({ kind: 'oidc' });
      expect(issuer.requests).toMatchObject({ discovery: 2, jwks: 1 });
    });

    it('answers UnavailableError when nothing listens at the issuer', async () => {
      const closed = await LocalIssuer.start();
      const url = closed.issuer;
      await closed.close();
      const subject = new OidcVerifier({ issuer: url, audience: 'a', rolesClaim: 'roles' }, silent);

      await expect(subject.verify(await issuer.token({ sub: 'u' }, { issuer: url }))).rejects.toBeInstanceOf(UnavailableError);
      expect(await subject.check(1_000)).toBe('unavailable');
    });

    it('keeps verifying with cached keys while a refresh fails, and reports the outage', async () => {
      const subject = verifier();
      await subject.verify(await issuer.token({ sub: 'u' }));
      expect(await subject.check(1_000)).toBe('ok');
      issuer.down = true;
      clock.advance(11 * 60_000);

      await expect(subject.verify(await issuer.token({ sub: 'u' }))).resolves.toMatchObject({ kind: 'oidc' });
      expect(await subject.check(1_000)).toBe('unavailable');

      clock.advance(60 * 60_000);
      await expect(subject.verify(await issuer.token({ sub: 'u' }))).rejects.toBeInstanceOf(UnavailableError);

      issuer.down = false;
      clock.advance(5_000);
      expect(await subject.check(1_000)).toBe('ok');
      await expect(subject.verify(await issuer.token({ sub: 'u' }))).resolves.toMatchObject({ kind: 'oidc' });
    });

    it('refuses a discovery document that names another issuer', async () => {
      const subject = new OidcVerifier({ issuer: `${issuer.issuer}/`, audience: issuer.audience, rolesClaim: 'roles' }, silent);

      await expect(subject.verify(await issuer.token({ sub: 'u' }, { issuer: `${issuer.issuer}/` }))).rejects.toBeInstanceOf(
        UnavailableError,
      );
    });

    it('reports nothing when OIDC is not configured', async () => {
      const off = new OidcVerifier(undefined, silent);
      expect(off.configured).toBe(false);
      expect(await off.check(1_000)).toBeUndefined();
      await expect(off.verify(await issuer.token({ sub: 'u' }))).rejects.toBeInstanceOf(UnauthorizedError);
    });
  });

  afterEach(() => {
    issuer.down = false;
  });
});

describe('looksLikeJwt', () => {
  it.each([
    ['eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1In0.c2ln', true],
    ['eyJhbGciOiJub25lIn0.eyJzdWIiOiJ1In0.', true],
    ['k-test-0123456789abcdef', false],
    ['a.b.c', false],
    ['eyJmb28iOiJiYXIifQ.eyJzdWIiOiJ1In0.c2ln', false],
    ['eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1In0', false],
  ])('%s → %s', (token, expected) => expect(looksLikeJwt(token)).toBe(expected));
});

describe('principal from claims', () => {
  it('reads a claim whose name holds dots before trying a path', () => {
    const claims = { 'https://example.com/roles': ['admin'], realm_access: { roles: ['x'] } };
    expect(claimAt(claims, 'https://example.com/roles')).toEqual(['admin']);
    expect(claimAt(claims, 'realm_access.roles')).toEqual(['x']);
    expect(claimAt(claims, 'realm_access.missing')).toBeUndefined();
    expect(claimAt({ a: 'text' }, 'a.length')).toBeUndefined();
  });

  it.each([
    ['admin', ['admin']],
    [
      ['a', 1, null, 'b', 'a', ''],
      ['a', 'b'],
    ],
    [{ admin: true }, []],
    [42, []],
    [undefined, []],
  ])('roles of %j are %j', (value, roles) => expect(rolesFrom(value)).toEqual(roles));

  it('needs a non-empty string sub', () => {
    const none = { grantFor: () => undefined };
    expect(principalFromClaims('https://id', { sub: '' }, 'roles', none)).toBeUndefined();
    expect(principalFromClaims('https://id', { sub: 7 as unknown as string }, 'roles', none)).toBeUndefined();
    expect(principalFromClaims('https://id', { sub: 's' }, 'roles', none)?.id).toBe('oidc:https://id#s');
  });
});
