/**
 * A tool the agent loop can run on the model's behalf. Implementations are free of HTTP
 * request concerns of this service; failures are returned, not thrown, so the loop can hand
 * them back to the model as tool errors.
 */
export interface ToolResult {
  output: string;
  /** Set when the tool failed; `output` is then empty or partial. */
  error?: string;
}

export interface ToolContext {
  signal?: AbortSignal;
}

export interface Tool {
  readonly name: string;
  run(args: Record<string, unknown>, context: ToolContext): Promise<ToolResult>;
}
