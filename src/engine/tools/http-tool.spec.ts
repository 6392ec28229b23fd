import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { HttpTool, type HttpToolConfig, type HttpToolOptions } from './http-tool.js';
import type { HostResolver } from './ssrf-guard.js';

interface SeenRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

const MIB = 1024 * 1024;
let server: http.Server;
let port: number;
let seen: SeenRequest[];
let handler: (req: http.IncomingMessage, res: http.ServerResponse, body: string) => void;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      handler(req, res, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  seen = [];
  handler = (_req, res) => res.end('ok');
});

const local = (path: string) => `http://127.0.0.1:${port}${path}`;
const allowLocal: HttpToolOptions = { allowHosts: ['127.0.0.1'] };
const tool = (config: Partial<HttpToolConfig> & { url: string }, options: HttpToolOptions = allowLocal) =>
  new HttpTool({ name: 'fetch', ...config }, options);

describe('HttpTool requests', () => {
  it('fills the URL (encoded), headers and a JSON body from the arguments and secrets', async () => {
    handler = (_req, res) => res.end('{"found":true}');
    const http = tool(
      {
        method: 'post',
        url: local('/items/{{id}}?q={{query}}'),
        headers: { Authorization: 'Bearer {{secrets.api-token}}', 'X-Trace': 'trace-{{trace}}' },
        bodyTemplate: '{"query": "{{query}}", "limit": {{limit}}, "tags": {{tags}}}',
      },
      { ...allowLocal, resolveSecret: (name) => (name === 'api-token' ? 'tok-123456' : undefined) },
    );

    const result = await http.run({ id: 'a/b', query: 'x "y" & z=é', limit: 5, tags: ['t1'], trace: 42 }, {});

    expect(result).toEqual({ output: '{"found":true}' });
    expect(seen).toHaveLength(1);
    expect(seen[0].method).toBe('POST');
    expect(seen[0].url).toBe('/items/a%2Fb?q=x%20%22y%22%20%26%20z%3D%C3%A9');
    expect(seen[0].headers.authorization).toBe('Bearer tok-123456');
    expect(seen[0].headers['x-trace']).toBe('trace-42');
    expect(seen[0].headers['content-type']).toBe('application/json');
    expect(JSON.parse(seen[0].body)).toEqual({ query: 'x "y" & z=é', limit: 5, tags: ['t1'] });
  });

  it('uses GET without a body by default', async () => {
    await tool({ url: local('/plain') }).run({}, {});
    expect(seen[0].method).toBe('GET');
    expect(seen[0].body).toBe('');
    expect(seen[0].headers['content-length']).toBeUndefined();
  });

  it('form-encodes values in a urlencoded body', async () => {
    await tool({
      method: 'POST',
      url: local('/form'),
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      bodyTemplate: 'a={{a}}&b=1',
    }).run({ a: 'x&b=2' }, {});
    expect(seen[0].body).toBe('a=x%26b%3D2&b=1');
  });

  it('fails when a secret is not available, without calling the server', async () => {
    const result = await tool({ url: local('/'), headers: { 'X-Key': '{{secrets.missing}}' } }).run({}, {});
    expect(result).toEqual({ output: '', error: 'secret "missing" is not available' });
    expect(seen).toHaveLength(0);
  });

  it('keeps secret values out of outputs and errors', async () => {
    const options: HttpToolOptions = { ...allowLocal, resolveSecret: () => 'tok-abcdef' };
    handler = (req, res) => res.end(`you sent ${String(req.headers['x-key'])}`);
    const ok = await tool({ url: local('/echo'), headers: { 'X-Key': '{{secrets.k}}' } }, options).run({}, {});
    expect(ok.output).toBe('you sent [redacted]');

    handler = (req, res) => {
      res.statusCode = 401;
      res.end(`bad key ${String(req.headers['x-key'])}`);
    };
    const failed = await tool({ url: local('/echo'), headers: { 'X-Key': '{{secrets.k}}' } }, options).run({}, {});
    expect(failed.error).toBe('HTTP 401 Unauthorized: bad key [redacted]');
    expect(JSON.stringify(failed)).not.toContain('tok-abcdef');
  });

  it('fails cleanly when the secret resolver throws', async () => {
    const options: HttpToolOptions = {
      ...allowLocal,
      resolveSecret: () => {
        throw new Error('vault down');
      },
    };
    const result = await tool({ url: local('/'), headers: { 'X-Key': '{{secrets.k}}' } }, options).run({}, {});
    expect(result).toEqual({ output: '', error: 'secret "k" is not available' });
  });

  it('refuses a method that is not a token', async () => {
    const result = await tool({ method: 'GE T', url: local('/') }).run({}, {});
    expect(result).toEqual({ output: '', error: '"GE T" is not an HTTP method' });
    expect(seen).toHaveLength(0);
  });

  it('refuses a header value that an argument broke, before sending anything', async () => {
    const result = await tool({ url: local('/'), headers: { 'X-Name': '{{name}}' } }).run({ name: 'a\r\nX-Admin: 1' }, {});
    expect(result.error).toBe('header "x-name" is not valid once the arguments are filled in');
    expect(seen).toHaveLength(0);
  });

  it('reports a non-2xx status with the start of the body', async () => {
    handler = (_req, res) => {
      res.statusCode = 404;
      res.end('no such item');
    };
    const result = await tool({ url: local('/missing') }).run({}, {});
    expect(result).toEqual({ output: '', error: 'HTTP 404 Not Found: no such item' });
  });

  it('does not follow redirects', async () => {
    handler = (_req, res) => {
      res.writeHead(302, { Location: 'http://169.254.169.254/latest/meta-data/' });
      res.end();
    };
    const result = await tool({ url: local('/hop') }).run({}, {});
    expect(result.error).toBe('HTTP 302 Found: redirect to http://169.254.169.254/latest/meta-data/ not followed');
    expect(seen).toHaveLength(1);
  });

  it('times out a server that does not answer', async () => {
    handler = () => undefined;
    const started = Date.now();
    const result = await tool({ url: local('/slow'), timeoutMs: 200 }).run({}, {});
    expect(result).toEqual({ output: '', error: 'the request timed out after 200 ms' });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('stops on abort and closes the connection', async () => {
    let serverSawClose!: Promise<void>;
    handler = (req) => {
      serverSawClose = new Promise((resolve) => req.socket.on('close', () => resolve()));
    };
    const controller = new AbortController();
    const running = tool({ url: local('/hang') }).run({}, { signal: controller.signal });
    await vi.waitFor(() => expect(seen).toHaveLength(1));
    controller.abort();
    expect(await running).toEqual({ output: '', error: 'the request was cancelled' });
    await serverSawClose;
  });

  it('does not start when the signal is already aborted', async () => {
    const result = await tool({ url: local('/') }).run({}, { signal: AbortSignal.abort() });
    expect(result.error).toBe('the request was cancelled');
    expect(seen).toHaveLength(0);
  });

  it('cuts the response at 1 MiB and stops reading an endless body', async () => {
    let serverSawClose!: Promise<void>;
    handler = (_req, res) => {
      const chunk = Buffer.alloc(64 * 1024, 'a');
      const pump = () => {
        while (!res.destroyed && res.write(chunk));
        if (!res.destroyed) res.once('drain', pump);
      };
      serverSawClose = new Promise((resolve) => res.on('close', () => resolve()));
      pump();
    };
    const result = await tool({ url: local('/endless'), timeoutMs: 10_000 }).run({}, {});
    expect(result.error).toBeUndefined();
    expect(result.output.startsWith('a'.repeat(MIB))).toBe(true);
    expect(result.output.slice(MIB)).toBe(`\n[output truncated at ${MIB} bytes]`);
    await serverSawClose;
  });

  it('keeps a body of exactly 1 MiB whole', async () => {
    handler = (_req, res) => res.end(Buffer.alloc(MIB, 'b'));
    const result = await tool({ url: local('/exact') }).run({}, {});
    expect(result.output).toBe('b'.repeat(MIB));
  });

  it('reports a refused connection', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const freePort = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const result = await tool({ url: `http://127.0.0.1:${freePort}/` }).run({}, {});
    expect(result.error).toBe('the connection was refused');
  });

  it.each(['file:///etc/passwd', 'ftp://127.0.0.1/x'])('refuses the scheme of %s', async (url) => {
    const result = await tool({ url }).run({}, {});
    expect(result.error).toMatch(/^only http and https URLs may be called, not (file|ftp):$/);
  });
});

describe('HttpTool SSRF guard', () => {
  const resolverFor = (table: Record<string, string[]>) =>
    vi.fn<HostResolver>(async (hostname) => {
      const addresses = table[hostname];
      if (!addresses) throw Object.assign(new Error(`unknown ${hostname}`), { code: 'ENOTFOUND' });
      return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
    });

  it.each([
    ['127.0.0.1 (our own test server)', () => local('/'), 'refused to connect to 127.0.0.1 (loopback address)'],
    ['10.0.0.1', () => 'http://10.0.0.1/admin', 'refused to connect to 10.0.0.1 (private address)'],
    ['169.254.169.254', () => 'http://169.254.169.254/latest/meta-data/', 'refused to connect to 169.254.169.254 (link-local address)'],
    ['0.0.0.0', () => `http://0.0.0.0:${port}/`, 'refused to connect to 0.0.0.0 (unspecified address)'],
    ['an IPv4-mapped IPv6 loopback', () => `http://[::ffff:127.0.0.1]:${port}/`, 'refused to connect to ::ffff:7f00:1 (loopback address)'],
    ['IPv6 loopback', () => `http://[::1]:${port}/`, 'refused to connect to ::1 (loopback address)'],
    ['a decimal spelling of 127.0.0.1', () => `http://2130706433:${port}/`, 'refused to connect to 127.0.0.1 (loopback address)'],
  ])('refuses the literal address %s without resolving or connecting', async (_label, url, message) => {
    const resolveHost = resolverFor({});
    const result = await new HttpTool({ name: 'x', url: url(), timeoutMs: 1000 }, { resolveHost }).run({}, {});
    expect(result).toEqual({ output: '', error: message });
    expect(resolveHost).not.toHaveBeenCalled();
    expect(seen).toHaveLength(0);
  });

  it('refuses localhost as the system resolver answers it', async () => {
    const result = await new HttpTool({ name: 'x', url: `http://localhost:${port}/`, timeoutMs: 2000 }).run({}, {});
    expect(result.error).toMatch(/^refused to connect to localhost: it resolves to (127\.0\.0\.1|::1) \(loopback address\)$/);
    expect(seen).toHaveLength(0);
  });

  it.each([
    ['rebind.test', ['127.0.0.1'], 'refused to connect to rebind.test: it resolves to 127.0.0.1 (loopback address)'],
    ['metadata.test', ['169.254.169.254'], 'refused to connect to metadata.test: it resolves to 169.254.169.254 (link-local address)'],
    ['intranet.test', ['10.0.0.1'], 'refused to connect to intranet.test: it resolves to 10.0.0.1 (private address)'],
    ['mapped.test', ['::ffff:169.254.169.254'], 'refused to connect to mapped.test: it resolves to ::ffff:169.254.169.254 (link-local address)'],
  ])('refuses %s when it resolves to %j at connect time', async (host, addresses, message) => {
    const resolveHost = resolverFor({ [host]: addresses });
    const result = await new HttpTool({ name: 'x', url: `http://${host}:${port}/`, timeoutMs: 1000 }, { resolveHost }).run({}, {});
    expect(result).toEqual({ output: '', error: message });
    expect(resolveHost).toHaveBeenCalledTimes(1);
    expect(seen).toHaveLength(0);
  });

  it('guards https connections the same way', async () => {
    const resolveHost = resolverFor({ 'secure.test': ['169.254.169.254'] });
    const result = await new HttpTool({ name: 'x', url: 'https://secure.test/', timeoutMs: 1000 }, { resolveHost }).run({}, {});
    expect(result.error).toBe('refused to connect to secure.test: it resolves to 169.254.169.254 (link-local address)');
    expect(resolveHost).toHaveBeenCalledTimes(1);
  });

  it('resolves once and connects to the address it checked', async () => {
    const resolveHost = resolverFor({ 'api.test': ['127.0.0.1'] });
    const result = await new HttpTool(
      { name: 'x', url: `http://api.test:${port}/through-lookup` },
      { allowHosts: ['API.test.'], resolveHost },
    ).run({}, {});
    expect(result).toEqual({ output: 'ok' });
    expect(resolveHost).toHaveBeenCalledTimes(1);
    expect(seen[0].url).toBe('/through-lookup');
    expect(seen[0].headers.host).toBe(`api.test:${port}`);
  });

  it('lets an allow-listed address through for a name that resolves to it', async () => {
    const resolveHost = resolverFor({ 'svc.test': ['127.0.0.1'] });
    const result = await new HttpTool({ name: 'x', url: `http://svc.test:${port}/` }, { allowHosts: ['127.0.0.1'], resolveHost }).run({}, {});
    expect(result).toEqual({ output: 'ok' });
  });

  it('matches wildcard entries on subdomains only', async () => {
    const resolveHost = resolverFor({ 'a.internal.test': ['127.0.0.1'], 'internal.test': ['127.0.0.1'], 'evilinternal.test': ['127.0.0.1'] });
    const options: HttpToolOptions = { allowHosts: ['*.internal.test'], resolveHost };
    const run = (host: string) => new HttpTool({ name: 'x', url: `http://${host}:${port}/` }, options).run({}, {});
    expect(await run('a.internal.test')).toEqual({ output: 'ok' });
    expect((await run('internal.test')).error).toMatch(/^refused to connect to internal\.test/);
    expect((await run('evilinternal.test')).error).toMatch(/^refused to connect to evilinternal\.test/);
  });

  it('checks a host placed in the URL by an argument', async () => {
    const result = await new HttpTool({ name: 'x', url: 'http://{{host}}/' }, {}).run({ host: '169.254.169.254' }, {});
    expect(result.error).toBe('refused to connect to 169.254.169.254 (link-local address)');
  });

  it('reports a name that does not resolve', async () => {
    const result = await new HttpTool({ name: 'x', url: 'http://nowhere.test/' }, { resolveHost: resolverFor({}) }).run({}, {});
    expect(result.error).toBe('the host could not be resolved (ENOTFOUND)');
  });
});

describe('HttpTool with the agent config', () => {
  it('fills {{config.name}} in the url, headers and body, and hides secret config values in what it returns', async () => {
    handler = (req, res) => {
      res.statusCode = 502;
      res.end(`upstream refused ${String(req.headers.authorization)}`);
    };
    const http = tool({
      method: 'POST',
      url: local('/{{config.region}}/search?q={{q}}'),
      headers: { Authorization: 'Bearer {{config.token}}' },
      bodyTemplate: '{"q": "{{q}}", "limit": {{config.limit}}}',
      configValues: new Map<string, string | number>([
        ['region', 'eu'],
        ['limit', 20],
        ['token', 'tok-config-secret'],
      ]),
      hiddenValues: ['tok-config-secret'],
    });

    const result = await http.run({ q: '{{config.token}}' }, {});

    expect(seen[0].url).toBe('/eu/search?q=%7B%7Bconfig.token%7D%7D');
    expect(seen[0].headers.authorization).toBe('Bearer tok-config-secret');
    expect(JSON.parse(seen[0].body)).toEqual({ q: '{{config.token}}', limit: 20 });
    expect(result.error).toBe('HTTP 502 Bad Gateway: upstream refused Bearer [redacted]');
    expect(JSON.stringify(result)).not.toContain('tok-config-secret');
  });
});
