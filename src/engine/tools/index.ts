export type { Tool, ToolContext, ToolResult } from './tool.js';
export { ToolFactory, type ToolConfig, type ToolKind, type ToolRuntimeOptions } from './tool-factory.js';
export { HttpTool, DEFAULT_HTTP_TIMEOUT_MS, type HttpToolConfig, type HttpToolOptions } from './http-tool.js';
export {
  CommandTool,
  DEFAULT_CHILD_PATH,
  DEFAULT_COMMAND_TIMEOUT_MS,
  type CommandToolConfig,
  type CommandToolOptions,
} from './command-tool.js';
export {
  InlineTool,
  DEFAULT_INLINE_TIMEOUT_MS,
  INLINE_LANGUAGES,
  type InlineToolConfig,
  type InlineToolOptions,
} from './inline-tool.js';
export { McpTool, DEFAULT_MCP_TIMEOUT_MS, parseMcpReference, type McpToolConfig } from './mcp-tool.js';
export { McpClientPool, type McpServerConfig, type McpClientPoolOptions } from './mcp-client-pool.js';
export type { SecretResolver } from './secrets.js';
export { AddressPolicy, AddressRefusedError, type HostResolver, type ResolvedAddress } from './ssrf-guard.js';
export { classifyAddress, type AddressClass } from './address-classifier.js';
export { MAX_TOOL_OUTPUT_BYTES } from './tool-output.js';
