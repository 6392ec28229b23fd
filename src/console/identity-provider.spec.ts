import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consolePolicy } from './console-policy.js';
import { IdentityProvider, parseDiscovery } from './identity-provider.js';

const ISSUER = 'https://login.example.com/realms/acme';
const DOCUMENT = {
  issuer: ISSUER,
  authorization_endpoint: `${ISSUER}/protocol/openid-connect/auth`,
  token_endpoint: 'https://tokens.example.com/token',
};

function fakeFetch(answers: (() => Response)[]) {
  const calls: string[] = [];
  const fetch = ((url: string) => {
    calls.push(url);
    const next = answers.shift();
    return next ? Promise.resolve(next()) : Promise.reject(new Error('connection refused'));
  }) as unknown as typeof globalThis.fetch;
  return { fetch, calls };
}

describe('parseDiscovery', () => {
  it('takes the endpoints of a document naming the configured issuer', () => {
    expect(parseDiscovery({ ...DOCUMENT, end_session_endpoint: `${ISSUER}/logout` }, ISSUER)).toEqual({
      authorization_endpoint: DOCUMENT.authorization_endpoint,
      token_endpoint: DOCUMENT.token_endpoint,
      end_session_endpoint: `${ISSUER}/logout`,
    });
  });

  it.each([
    [{ ...DOCUMENT, issuer: 'https://evil.example.com' }, /names the issuer "https:\/\/evil.example.com"/],
    [{ ...DOCUMENT, token_endpoint: undefined }, /has no token_endpoint/],
    [{ ...DOCUMENT, token_endpoint: 'http://tokens.example.com/token' }, /token_endpoint must use https/],
  ])('refuses %j', (document, message) => expect(() => parseDiscovery(document, ISSUER)).toThrow(message));

  it('accepts plain http on a loopback issuer', () => {
    const local = 'http://127.0.0.1:9000/realms/test';
    expect(
      parseDiscovery({ issuer: local, authorization_endpoint: `${local}/auth`, token_endpoint: `${local}/token` }, local).token_endpoint,
    ).toBe(`${local}/token`);
  });
});

describe('IdentityProvider', () => {
  it('reads discovery once and keeps it; the token endpoint origin joins the allowed connections', async () => {
    const { fetch, calls } = fakeFetch([() => Response.json(DOCUMENT)]);
    const provider = new IdentityProvider({ issuer: ISSUER, fetch });

    expect(provider.connectOrigins()).toEqual(['https://login.example.com']);
    expect((await provider.endpoints())?.token_endpoint).toBe(DOCUMENT.token_endpoint);
    await provider.endpoints();

    expect(calls).toEqual([`${ISSUER}/.well-known/openid-configuration`]);
    expect(provider.connectOrigins()).toEqual(['https://login.example.com', 'https://tokens.example.com']);
  });

  it('answers a stale document at once and refreshes it in the background', async () => {
    let now = 0;
    const calls: string[] = [];
    const fetch = ((url: string) => {
      calls.push(url);
      // The first reading answers; the refresh never does.
      return calls.length === 1 ? Promise.resolve(Response.json(DOCUMENT)) : new Promise<Response>(() => undefined);
    }) as unknown as typeof globalThis.fetch;
    const provider = new IdentityProvider({ issuer: ISSUER, fetch, maxAgeMs: 1_000, now: () => now });
    expect((await provider.endpoints())?.token_endpoint).toBe(DOCUMENT.token_endpoint);

    now = 5_000;
    expect((await provider.endpoints())?.token_endpoint).toBe(DOCUMENT.token_endpoint);
    expect(calls).toHaveLength(2);
  });

  it('after a failure, waits before asking again, and reports the reason', async () => {
    let now = 0;
    const failures: string[] = [];
    const { fetch, calls } = fakeFetch([() => new Response('down', { status: 503 })]);
    const provider = new IdentityProvider({
      issuer: ISSUER,
      fetch,
      now: () => now,
      retryDelayMs: 10_000,
      onFailure: (reason) => failures.push(reason),
    });

    expect(await provider.endpoints()).toBeUndefined();
    now = 5_000;
    expect(await provider.endpoints()).toBeUndefined();
    expect(calls).toHaveLength(1);
    now = 10_000;
    expect(await provider.endpoints()).toBeUndefined();
    expect(calls).toHaveLength(2);
    expect(failures).toEqual([`${ISSUER}/.well-known/openid-configuration answered 503`, 'connection refused']);
  });
});

describe('IdentityProvider against a real server', () => {
  let server: Server;
  let base: string;
  /** What the next discovery request is answered with. */
  let answer: 'document' | 'redirect' | 'huge' | 'error' = 'document';
  let bodyClosedEarly = false;

  beforeAll(async () => {
    server = createServer((request, response) => {
      const issuer = `${base}/realms/a`;
      const document = JSON.stringify({ issuer, authorization_endpoint: `${issuer}/auth`, token_endpoint: `${issuer}/token` });
      // A valid document, so that only the redirect itself can fail the reading.
      if (request.url === '/elsewhere') return void response.writeHead(200, { 'content-type': 'application/json' }).end(document);
      if (answer === 'redirect') return void response.writeHead(302, { location: `${base}/elsewhere` }).end();
      if (answer === 'error' || answer === 'huge') {
        // Far more than 64 KiB, written slowly: a reader that stops early closes the connection.
        response.writeHead(answer === 'error' ? 500 : 200, { 'content-type': 'application/json' });
        response.on('close', () => (bodyClosedEarly = !response.writableFinished));
        let sent = 0;
        const more = () => {
          if (response.destroyed) return;
          if (sent++ > 200) return void response.end();
          response.write(' '.repeat(16 * 1024));
          setTimeout(more, 5);
        };
        return more();
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end(document);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });

  const provider = (failures: string[]) =>
    new IdentityProvider({ issuer: `${base}/realms/a`, retryDelayMs: 0, onFailure: (reason) => failures.push(reason) });

  it('does not follow a redirect', async () => {
    answer = 'redirect';
    const failures: string[] = [];
    expect(await provider(failures).endpoints()).toBeUndefined();
    expect(failures).toHaveLength(1);
  });

  it('stops reading a document past 64 KiB, closing the connection', async () => {
    answer = 'huge';
    bodyClosedEarly = false;
    const failures: string[] = [];
    expect(await provider(failures).endpoints()).toBeUndefined();
    expect(failures).toEqual([`${base}/realms/a/.well-known/openid-configuration is larger than 65536 bytes`]);
    await expect.poll(() => bodyClosedEarly).toBe(true);
  });

  it('does not read the body of a failed answer', async () => {
    answer = 'error';
    bodyClosedEarly = false;
    const failures: string[] = [];
    expect(await provider(failures).endpoints()).toBeUndefined();
    expect(failures).toEqual([`${base}/realms/a/.well-known/openid-configuration answered 500`]);
    await expect.poll(() => bodyClosedEarly).toBe(true);
  });

});

describe('consolePolicy', () => {
  it('allows the console own files and the listed origins to be called, nothing inline', () => {
    const policy = consolePolicy(['https://login.example.com']);
    expect(policy).toContain("script-src 'self';");
    expect(policy).toContain("connect-src 'self' https://login.example.com;");
    expect(policy).toContain("frame-ancestors 'none'");
    expect(policy).not.toMatch(/unsafe|\*/);
  });
});
