import { CommandTool, type CommandToolConfig } from './command-tool.js';
import { HttpTool, type HttpToolConfig } from './http-tool.js';
import { InlineTool, type InlineToolConfig } from './inline-tool.js';
import { McpClientPool, type McpServerConfig } from './mcp-client-pool.js';
import { McpTool, type McpToolConfig } from './mcp-tool.js';
import type { SecretResolver } from './secrets.js';
import type { HostResolver } from './ssrf-guard.js';
import type { Tool } from './tool.js';

export type ToolConfig =
  | ({ kind: 'http' } & HttpToolConfig)
  | ({ kind: 'command' } & CommandToolConfig)
  | ({ kind: 'inline' } & InlineToolConfig)
  | ({ kind: 'mcp' } & McpToolConfig);

export type ToolKind = ToolConfig['kind'];

/** Process-wide settings every tool of a kind shares. Omitted means the safe choice. */
export interface ToolRuntimeOptions {
  /** AGENTSPEC_HTTP_TOOL_ALLOW_HOSTS. */
  httpAllowHosts?: readonly string[];
  /** AGENTSPEC_COMMAND_ALLOWLIST; empty refuses every command tool. */
  commandAllowlist?: readonly string[];
  /** Inline code is refused unless this is true. */
  inlineEnabled?: boolean;
  /** The definitions' `server` blocks. */
  mcpServers?: readonly McpServerConfig[];
  resolveSecret?: SecretResolver;
  /** PATH for command and inline children (default /usr/local/bin:/usr/bin:/bin). */
  childPath?: string;
  /** Replaces DNS for http tools (tests). */
  resolveHost?: HostResolver;
}

/**
 * Builds tools from plain configs. Owns the MCP client pool, so `close()` must be called at
 * shutdown to stop the MCP server processes.
 */
export class ToolFactory {
  private readonly mcpPool: McpClientPool;

  constructor(private readonly options: ToolRuntimeOptions = {}) {
    this.mcpPool = new McpClientPool(options.mcpServers ?? []);
  }

  create(config: ToolConfig): Tool {
    const options = this.options;
    switch (config.kind) {
      case 'http':
        return new HttpTool(config, {
          allowHosts: options.httpAllowHosts ?? [],
          resolveSecret: options.resolveSecret,
          resolveHost: options.resolveHost,
        });
      case 'command':
        return new CommandTool(config, {
          allowlist: options.commandAllowlist ?? [],
          resolveSecret: options.resolveSecret,
          path: options.childPath,
        });
      case 'inline':
        return new InlineTool(config, { enabled: options.inlineEnabled ?? false, path: options.childPath });
      case 'mcp':
        return new McpTool(config, this.mcpPool);
    }
  }

  close(): Promise<void> {
    return this.mcpPool.close();
  }
}
