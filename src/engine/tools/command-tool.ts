import type { ConfigValue } from '../../definitions/index.js';
import { runChildProcess } from './child-process-runner.js';
import { redactSecrets, resolveSecrets, type SecretResolver } from './secrets.js';
import { fillConfig } from './template.js';
import type { Tool, ToolContext, ToolResult } from './tool.js';
import { excerpt, MAX_TOOL_OUTPUT_BYTES, toolFailure, truncationNote } from './tool-output.js';

export const DEFAULT_COMMAND_TIMEOUT_MS = 30_000;
export const DEFAULT_KILL_GRACE_MS = 2_000;
/** PATH given to child processes when the runtime does not pass one. */
export const DEFAULT_CHILD_PATH = '/usr/local/bin:/usr/bin:/bin';
const MAX_STDERR_BYTES = 16 * 1024;

export interface CommandToolConfig {
  name: string;
  /** Must appear, spelled exactly the same, in the command allowlist. */
  binary: string;
  /** Fixed but for `{{config.name}}`; the model's arguments never become command-line arguments. */
  args?: readonly string[];
  timeoutMs?: number;
  env?: Record<string, string>;
  /** Environment variable name → secret name. */
  secrets?: Record<string, string>;
  /** The agent's config values, for `{{config.name}}` in args and env values. */
  configValues?: ReadonlyMap<string, ConfigValue>;
  /** Values hidden from what the tool returns: the agent's secret config values. */
  hiddenValues?: readonly string[];
}

export interface CommandToolOptions {
  /** AGENTSPEC_COMMAND_ALLOWLIST; empty means every command tool is refused. */
  allowlist: readonly string[];
  resolveSecret?: SecretResolver;
  /** PATH of the child; nothing else is inherited from this process. */
  path?: string;
  killGraceMs?: number;
  maxOutputBytes?: number;
}

/**
 * Runs an allow-listed program with the tool's arguments as one JSON object on stdin and
 * returns what it writes to stdout.
 */
export class CommandTool implements Tool {
  readonly name: string;
  private readonly allowlist: ReadonlySet<string>;

  constructor(
    private readonly config: CommandToolConfig,
    private readonly options: CommandToolOptions,
  ) {
    this.name = config.name;
    this.allowlist = new Set(options.allowlist);
  }

  async run(args: Record<string, unknown>, context: ToolContext): Promise<ToolResult> {
    const binary = this.config.binary;
    if (this.allowlist.size === 0) {
      return toolFailure('command tools are disabled: the command allowlist (AGENTSPEC_COMMAND_ALLOWLIST) is empty');
    }
    if (!this.allowlist.has(binary)) return toolFailure(`"${binary}" is not on the command allowlist`);

    const secretEntries = Object.entries(this.config.secrets ?? {});
    const secrets = await resolveSecrets(secretEntries.map(([, secret]) => secret), this.options.resolveSecret);
    if (!secrets.ok) return toolFailure(`secret "${secrets.missing}" is not available`);
    const config = this.config.configValues;
    const env: Record<string, string> = { PATH: this.options.path ?? DEFAULT_CHILD_PATH };
    for (const [variable, value] of Object.entries(this.config.env ?? {})) env[variable] = fillConfig(value, config);
    for (const [variable, secret] of secretEntries) env[variable] = secrets.values.get(secret) ?? '';
    const hidden = [...secrets.values.values(), ...(this.config.hiddenValues ?? [])];
    const hide = (text: string) => redactSecrets(text, hidden);

    const timeoutMs = this.config.timeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
    const maxOutputBytes = this.options.maxOutputBytes ?? MAX_TOOL_OUTPUT_BYTES;
    const outcome = await runChildProcess({
      command: binary,
      args: (this.config.args ?? []).map((arg) => fillConfig(arg, config)),
      env,
      stdin: JSON.stringify(args),
      timeoutMs,
      signal: context.signal,
      maxStdoutBytes: maxOutputBytes,
      maxStderrBytes: MAX_STDERR_BYTES,
      killGraceMs: this.options.killGraceMs ?? DEFAULT_KILL_GRACE_MS,
    });

    switch (outcome.kind) {
      case 'not-started':
        return toolFailure(`"${binary}" could not be started (${outcome.reason})`);
      case 'timed-out':
        return toolFailure(`"${binary}" timed out after ${timeoutMs} ms and was stopped`);
      case 'cancelled':
        return toolFailure(`"${binary}" was cancelled`);
      case 'exited': {
        if (outcome.exitCode !== 0) {
          const how = outcome.exitCode === null ? `was killed by ${outcome.signal}` : `exited with code ${outcome.exitCode}`;
          const stderr = excerpt(hide(outcome.stderr));
          return toolFailure(`"${binary}" ${how}${stderr ? `: ${stderr}` : ''}`);
        }
        const output = hide(outcome.stdout);
        return { output: outcome.stdoutTruncated ? output + truncationNote(maxOutputBytes) : output };
      }
    }
  }
}
