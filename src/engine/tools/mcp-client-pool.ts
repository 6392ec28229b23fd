import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { ErrorCode, McpError, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';

export interface McpServerConfig {
  name: string;
  /** Only `stdio` is supported today; when omitted, a server with a command is stdio. */
  transport?: string;
  command?: string;
  args?: readonly string[];
  env?: Record<string, string>;
  cwd?: string;
  url?: string;
}

export interface McpClientPoolOptions {
  clientName?: string;
  clientVersion?: string;
  connectTimeoutMs?: number;
}

export interface McpCallOptions {
  signal?: AbortSignal;
  timeoutMs: number;
}

/** A call result in either the current or the pre-2024-11 shape (`toolResult`). */
export type McpCallResult = CallToolResult | { toolResult: unknown };

interface Connection {
  client: Client;
  stderrTail: () => string;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 30_000;
const STDERR_TAIL_CHARS = 2_000;

export class McpPoolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'McpPoolError';
  }
}

/**
 * One client per declared MCP server, started on first use and shared by every tool of that
 * server. A server whose process exits is started again on the next call.
 */
export class McpClientPool {
  private readonly servers: ReadonlyMap<string, McpServerConfig>;
  private readonly connections = new Map<string, Promise<Connection>>();
  private closed = false;

  constructor(
    servers: readonly McpServerConfig[],
    private readonly options: McpClientPoolOptions = {},
  ) {
    this.servers = new Map(servers.map((server) => [server.name, server]));
  }

  async callTool(
    serverName: string,
    toolName: string,
    args: Record<string, unknown>,
    options: McpCallOptions,
  ): Promise<McpCallResult> {
    const connection = await this.connection(serverName);
    try {
      return await connection.client.callTool({ name: toolName, arguments: args }, undefined, {
        signal: options.signal,
        timeout: options.timeoutMs,
      });
    } catch (error) {
      const detail = connection.stderrTail();
      if (error instanceof McpError && error.code === ErrorCode.ConnectionClosed && detail) {
        throw new McpPoolError(`${error.message} (stderr: ${detail})`);
      }
      throw error;
    }
  }

  /** Stops every server process; later calls fail. */
  async close(): Promise<void> {
    this.closed = true;
    const pending = [...this.connections.values()];
    this.connections.clear();
    await Promise.all(
      pending.map(async (connecting) => {
        const connection = await connecting.catch(() => undefined);
        await connection?.client.close().catch(() => undefined);
      }),
    );
  }

  private connection(serverName: string): Promise<Connection> {
    if (this.closed) return Promise.reject(new McpPoolError('the MCP client pool is closed'));
    const existing = this.connections.get(serverName);
    if (existing) return existing;
    const server = this.servers.get(serverName);
    if (!server) return Promise.reject(new McpPoolError(`MCP server "${serverName}" is not declared`));
    const forget = () => {
      if (this.connections.get(serverName) === connecting) this.connections.delete(serverName);
    };
    const connecting = this.connect(server, forget);
    this.connections.set(serverName, connecting);
    connecting.catch(forget);
    return connecting;
  }

  private async connect(server: McpServerConfig, onClose: () => void): Promise<Connection> {
    const transportName = server.transport ?? (server.command ? 'stdio' : 'http');
    if (transportName !== 'stdio') {
      throw new McpPoolError(`MCP server "${server.name}" uses transport "${transportName}"; only stdio is supported`);
    }
    if (!server.command) throw new McpPoolError(`MCP server "${server.name}" has no command`);

    const transport = new StdioClientTransport({
      command: server.command,
      args: [...(server.args ?? [])],
      env: server.env,
      cwd: server.cwd,
      stderr: 'pipe',
    });
    let stderr = '';
    transport.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-STDERR_TAIL_CHARS);
    });
    const stderrTail = () => stderr.trim();

    const client = new Client({
      name: this.options.clientName ?? 'agentspec-runtime',
      version: this.options.clientVersion ?? '0.0.0',
    });
    try {
      await client.connect(transport, { timeout: this.options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS });
    } catch (error) {
      await transport.close().catch(() => undefined);
      const detail = stderrTail();
      throw new McpPoolError(
        `MCP server "${server.name}" could not be started: ${(error as Error).message}${detail ? ` (stderr: ${detail})` : ''}`,
      );
    }

    client.onclose = onClose;
    return { client, stderrTail };
  }
}
