import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CommandTool } from './command-tool.js';
import { HttpTool } from './http-tool.js';
import { InlineTool } from './inline-tool.js';
import { McpTool } from './mcp-tool.js';
import { ToolFactory } from './tool-factory.js';

const ECHO_SERVER = fileURLToPath(new URL('../../../test/support/fakes/mcp-echo-server.mjs', import.meta.url));

describe('ToolFactory', () => {
  let server: http.Server;
  let port: number;
  beforeAll(async () => {
    server = http.createServer((req, res) => res.end(`key=${req.headers['x-key'] === 'k-12345' ? 'right' : 'wrong'}`));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it('builds each kind of tool under the name it was given', () => {
    const factory = new ToolFactory();
    const tools = [
      factory.create({ kind: 'http', name: 'h', url: 'https://example.test/' }),
      factory.create({ kind: 'command', name: 'c', binary: '/bin/cat' }),
      factory.create({ kind: 'inline', name: 'i', language: 'javascript', code: 'return 1' }),
      factory.create({ kind: 'mcp', name: 'm', server: 's', tool: 't' }),
    ];
    expect(tools.map((tool) => [tool.constructor, tool.name])).toEqual([
      [HttpTool, 'h'],
      [CommandTool, 'c'],
      [InlineTool, 'i'],
      [McpTool, 'm'],
    ]);
  });

  it('defaults to refusing private hosts, every command and inline code', async () => {
    const factory = new ToolFactory();
    const results = await Promise.all([
      factory.create({ kind: 'http', name: 'h', url: `http://127.0.0.1:${port}/` }).run({}, {}),
      factory.create({ kind: 'command', name: 'c', binary: '/bin/cat' }).run({}, {}),
      factory.create({ kind: 'inline', name: 'i', language: 'javascript', code: 'return 1' }).run({}, {}),
    ]);
    expect(results.map((result) => result.error)).toEqual([
      'refused to connect to 127.0.0.1 (loopback address)',
      'command tools are disabled: the command allowlist (AGENTSPEC_COMMAND_ALLOWLIST) is empty',
      'inline tools are disabled in this runtime',
    ]);
  });

  it('passes the runtime options on to the tools', async () => {
    const factory = new ToolFactory({
      httpAllowHosts: ['127.0.0.1'],
      commandAllowlist: ['/bin/cat'],
      inlineEnabled: true,
      resolveSecret: (name) => (name === 'key' ? 'k-12345' : undefined),
      childPath: '/bin',
      mcpServers: [{ name: 'echo', transport: 'stdio', command: process.execPath, args: [ECHO_SERVER] }],
    });
    try {
      const results = await Promise.all([
        factory.create({ kind: 'http', name: 'h', url: `http://127.0.0.1:${port}/`, headers: { 'X-Key': '{{secrets.key}}' } }).run({}, {}),
        factory.create({ kind: 'command', name: 'c', binary: '/bin/cat' }).run({ a: 1 }, {}),
        factory.create({ kind: 'inline', name: 'i', language: 'javascript', code: 'return process.env.PATH' }).run({}, {}),
        factory.create({ kind: 'mcp', name: 'm', server: 'echo', tool: 'echo' }).run({ text: 'hi' }, {}),
      ]);
      expect(results).toEqual([{ output: 'key=right' }, { output: '{"a":1}' }, { output: '/bin' }, { output: 'hi' }]);
    } finally {
      await factory.close();
    }
    const afterClose = await factory.create({ kind: 'mcp', name: 'm', server: 'echo', tool: 'echo' }).run({ text: 'hi' }, {});
    expect(afterClose.error).toBe('MCP tool "echo/echo" failed: the MCP client pool is closed');
  });
});
