import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { McpClientPool, type McpServerConfig } from './mcp-client-pool.js';
import { McpTool, mcpResultToText, parseMcpReference } from './mcp-tool.js';
import { isProcessAlive } from '../../common/process-alive.js';

const ECHO_SERVER = fileURLToPath(new URL('../../../test/support/fakes/mcp-echo-server.mjs', import.meta.url));

const echoServer = (overrides: Partial<McpServerConfig> = {}): McpServerConfig => ({
  name: 'echo',
  transport: 'stdio',
  command: process.execPath,
  args: [ECHO_SERVER],
  ...overrides,
});

describe('McpTool with a stdio server', () => {
  let pool: McpClientPool;
  afterEach(async () => {
    await pool.close();
  });

  it('calls the tool and returns its text content', async () => {
    pool = new McpClientPool([echoServer({ env: { ECHO_PREFIX: 'echo: ' } })]);
    const tool = new McpTool({ name: 'say', server: 'echo', tool: 'echo' }, pool);
    expect(await tool.run({ text: 'hello' }, {})).toEqual({ output: 'echo: hello' });
  });

  it('starts the server once and shares it between calls', async () => {
    pool = new McpClientPool([echoServer()]);
    const tool = new McpTool({ name: 'say', server: 'echo', tool: 'echo' }, pool);
    const [a, b] = await Promise.all([tool.run({ text: 'a' }, {}), tool.run({ text: 'b' }, {})]);
    expect([a.output, b.output]).toEqual(['a', 'b']);
    const pid = await pidOf(pool);
    await tool.run({ text: 'c' }, {});
    expect(await pidOf(pool)).toBe(pid);
  });

  it('turns a result flagged isError into a tool error', async () => {
    pool = new McpClientPool([echoServer()]);
    const result = await new McpTool({ name: 'f', server: 'echo', tool: 'fail' }, pool).run({}, {});
    expect(result).toEqual({ output: '', error: 'MCP tool "echo/fail" reported an error: this tool always fails' });
  });

  it('reports an unknown tool of the server', async () => {
    pool = new McpClientPool([echoServer()]);
    const result = await new McpTool({ name: 'n', server: 'echo', tool: 'nope' }, pool).run({}, {});
    expect(result.output).toBe('');
    expect(result.error).toMatch(/^MCP tool "echo\/nope" failed: .*unknown tool nope/);
  });

  it('reports a server that is not declared', async () => {
    pool = new McpClientPool([echoServer()]);
    const result = await new McpTool({ name: 'x', server: 'other', tool: 'echo' }, pool).run({}, {});
    expect(result).toEqual({ output: '', error: 'MCP tool "other/echo" failed: MCP server "other" is not declared' });
  });

  it('reports a server that cannot be started and tries again on the next call', async () => {
    pool = new McpClientPool([echoServer({ command: '/nonexistent/mcp-server' })]);
    const tool = new McpTool({ name: 'x', server: 'echo', tool: 'echo' }, pool);
    const first = await tool.run({ text: 'a' }, {});
    expect(first.error).toMatch(/^MCP tool "echo\/echo" failed: MCP server "echo" could not be started: .*ENOENT/);
    const second = await tool.run({ text: 'a' }, {});
    expect(second.error).toMatch(/could not be started/);
  });

  it('refuses transports other than stdio', async () => {
    pool = new McpClientPool([{ name: 'remote', transport: 'http', url: 'http://127.0.0.1:1/mcp' }]);
    const result = await new McpTool({ name: 'x', server: 'remote', tool: 't' }, pool).run({}, {});
    expect(result.error).toBe('MCP tool "remote/t" failed: MCP server "remote" uses transport "http"; only stdio is supported');
  });

  it('times out a slow tool', async () => {
    pool = new McpClientPool([echoServer()]);
    const result = await new McpTool({ name: 's', server: 'echo', tool: 'sleep', timeoutMs: 200 }, pool).run({ ms: 5000 }, {});
    expect(result).toEqual({ output: '', error: 'MCP tool "echo/sleep" timed out after 200 ms' });
  });

  it('gives up on abort', async () => {
    pool = new McpClientPool([echoServer()]);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);
    const result = await new McpTool({ name: 's', server: 'echo', tool: 'sleep' }, pool).run({ ms: 5000 }, { signal: controller.signal });
    expect(result).toEqual({ output: '', error: 'MCP tool "echo/sleep" was cancelled' });
  });

  it('starts the server again after it died', async () => {
    pool = new McpClientPool([echoServer()]);
    const crash = await new McpTool({ name: 'c', server: 'echo', tool: 'crash' }, pool).run({}, {});
    expect(crash.error).toMatch(/^MCP tool "echo\/crash" failed: .*Connection closed.*crashing on purpose/);
    const echo = await new McpTool({ name: 'e', server: 'echo', tool: 'echo' }, pool).run({ text: 'back' }, {});
    expect(echo).toEqual({ output: 'back' });
  });

  it('stops the server processes on close and refuses calls afterwards', async () => {
    pool = new McpClientPool([echoServer()]);
    const tool = new McpTool({ name: 'say', server: 'echo', tool: 'echo' }, pool);
    await tool.run({ text: 'x' }, {});
    const pid = await pidOf(pool);
    expect(isProcessAlive(pid)).toBe(true);
    await pool.close();
    expect(isProcessAlive(pid)).toBe(false);
    expect((await tool.run({ text: 'x' }, {})).error).toBe('MCP tool "echo/echo" failed: the MCP client pool is closed');
  });
});

/** The pid of the echo server, as it reports itself through a tool call. */
async function pidOf(pool: McpClientPool): Promise<number> {
  const result = await pool.callTool('echo', 'pid', {}, { timeoutMs: 5000 });
  return Number(mcpResultToText(result).text);
}

describe('parseMcpReference', () => {
  it.each([
    ['files/read', { server: 'files', tool: 'read' }],
    ['files/nested/read', { server: 'files', tool: 'nested/read' }],
    ['files', undefined],
    ['/read', undefined],
    ['files/', undefined],
  ])('%s', (reference, expected) => {
    expect(parseMcpReference(reference)).toEqual(expected);
  });
});

describe('mcpResultToText', () => {
  it('joins text, describes binary content and falls back to structured content', () => {
    expect(
      mcpResultToText({
        content: [
          { type: 'text', text: 'one' },
          { type: 'image', data: 'AAAA', mimeType: 'image/png' },
          { type: 'resource', resource: { uri: 'file:///a.txt', text: 'inside' } },
          { type: 'resource_link', uri: 'file:///b.txt', name: 'b' },
        ],
      }),
    ).toEqual({ text: 'one\n[image image/png, 3 bytes]\ninside\n[resource file:///b.txt]', isError: false });
    expect(mcpResultToText({ content: [], structuredContent: { n: 1 } })).toEqual({ text: '{"n":1}', isError: false });
    expect(mcpResultToText({ toolResult: { legacy: true } })).toEqual({ text: '{"legacy":true}', isError: false });
  });
});
