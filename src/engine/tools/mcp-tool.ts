import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import type { McpCallResult, McpClientPool } from './mcp-client-pool.js';
import type { Tool, ToolContext, ToolResult } from './tool.js';
import { capText, MAX_TOOL_OUTPUT_BYTES, toolFailure, truncationNote } from './tool-output.js';

export const DEFAULT_MCP_TIMEOUT_MS = 60_000;

export interface McpToolConfig {
  name: string;
  /** The declared server's name: `server` in `tool mcp "server/tool"`. */
  server: string;
  /** The tool's name on that server. */
  tool: string;
  timeoutMs?: number;
}

/** Splits the `"server/tool"` reference of `tool mcp`; undefined when it has no `/`. */
export function parseMcpReference(reference: string): { server: string; tool: string } | undefined {
  const slash = reference.indexOf('/');
  if (slash <= 0 || slash === reference.length - 1) return undefined;
  return { server: reference.slice(0, slash), tool: reference.slice(slash + 1) };
}

type ContentItem = Extract<McpCallResult, { content: unknown }>['content'][number];

function contentToText(item: ContentItem): string {
  switch (item.type) {
    case 'text':
      return item.text;
    case 'image':
    case 'audio':
      return `[${item.type} ${item.mimeType}, ${Math.floor((item.data.length * 3) / 4)} bytes]`;
    case 'resource':
      return 'text' in item.resource ? item.resource.text : `[resource ${item.resource.uri}]`;
    case 'resource_link':
      return `[resource ${item.uri}]`;
    default:
      return JSON.stringify(item);
  }
}

export function mcpResultToText(result: McpCallResult): { text: string; isError: boolean } {
  if ('toolResult' in result) return { text: JSON.stringify(result.toolResult) ?? '', isError: false };
  let text = result.content.map(contentToText).join('\n');
  if (!text && result.structuredContent !== undefined) text = JSON.stringify(result.structuredContent);
  return { text, isError: result.isError === true };
}

/** A tool of a declared MCP server, called through the shared client pool. */
export class McpTool implements Tool {
  readonly name: string;

  constructor(
    private readonly config: McpToolConfig,
    private readonly pool: McpClientPool,
    private readonly maxOutputBytes = MAX_TOOL_OUTPUT_BYTES,
  ) {
    this.name = config.name;
  }

  async run(args: Record<string, unknown>, context: ToolContext): Promise<ToolResult> {
    const label = `${this.config.server}/${this.config.tool}`;
    const timeoutMs = this.config.timeoutMs ?? DEFAULT_MCP_TIMEOUT_MS;
    if (context.signal?.aborted) return toolFailure(`MCP tool "${label}" was cancelled`);
    let result: McpCallResult;
    try {
      result = await this.pool.callTool(this.config.server, this.config.tool, args, { signal: context.signal, timeoutMs });
    } catch (error) {
      if (context.signal?.aborted) return toolFailure(`MCP tool "${label}" was cancelled`);
      if (error instanceof McpError && error.code === ErrorCode.RequestTimeout) {
        return toolFailure(`MCP tool "${label}" timed out after ${timeoutMs} ms`);
      }
      return toolFailure(`MCP tool "${label}" failed: ${(error as Error).message}`);
    }
    const { text, isError } = mcpResultToText(result);
    const capped = capText(text, this.maxOutputBytes);
    if (isError) return toolFailure(`MCP tool "${label}" reported an error: ${capped.text}`);
    return { output: capped.truncated ? capped.text + truncationNote(this.maxOutputBytes) : capped.text };
  }
}
