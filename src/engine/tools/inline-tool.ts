import { runChildProcess } from './child-process-runner.js';
import { DEFAULT_CHILD_PATH, DEFAULT_KILL_GRACE_MS } from './command-tool.js';
import type { Tool, ToolContext, ToolResult } from './tool.js';
import { excerpt, MAX_TOOL_OUTPUT_BYTES, toolFailure, truncationNote } from './tool-output.js';

export const DEFAULT_INLINE_TIMEOUT_MS = 10_000;
const MAX_STDERR_BYTES = 16 * 1024;

export type InlineLanguage = 'javascript' | 'python';
export const INLINE_LANGUAGES: readonly InlineLanguage[] = ['javascript', 'python'];

export interface InlineToolConfig {
  name: string;
  /** `javascript` (also `js`) or `python`. */
  language: string;
  code: string;
  timeoutMs?: number;
  /** Heap limit for JavaScript, address-space limit for Python. */
  memoryBytes?: number;
}

export interface InlineToolOptions {
  /** Inline code runs only when the operator enabled it. */
  enabled: boolean;
  /** Defaults to the Node.js binary running this process. */
  nodePath?: string;
  pythonPath?: string;
  /** PATH of the child; nothing else is inherited from this process. */
  path?: string;
  killGraceMs?: number;
  maxOutputBytes?: number;
}

/*
 * Contract (also in docs/tools.md). The child reads {code, args} as JSON on stdin.
 * JavaScript: `code` is the body of an async function called with `args` (the arguments
 * object) and `require`; everything it writes to stdout is the output, followed by the
 * value it returns (a string as is, anything else as JSON). A thrown error fails the tool.
 * Python: `code` runs as a module with `args` (a dict) defined; stdout is the output,
 * followed by the variable `result` if the code sets one. An exception fails the tool.
 */
const JAVASCRIPT_RUNNER = `
'use strict';
const chunks = [];
process.stdin.on('data', (chunk) => chunks.push(chunk));
process.stdin.on('end', async () => {
  const { code, args } = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  const AsyncFunction = (async () => {}).constructor;
  try {
    const result = await new AsyncFunction('args', 'require', code)(args, require);
    if (result !== undefined) process.stdout.write(typeof result === 'string' ? result : String(JSON.stringify(result)));
  } catch (error) {
    process.stderr.write(error instanceof Error ? error.name + ': ' + error.message : String(error));
    process.exitCode = 1;
  }
});
`;

const PYTHON_RUNNER = `
import json, sys
payload = json.load(sys.stdin)
if payload.get('memoryBytes'):
    import resource
    limit = payload['memoryBytes']
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
scope = {'__name__': '__inline__', 'args': payload['args']}
try:
    exec(compile(payload['code'], '<inline>', 'exec'), scope)
except SystemExit:
    raise
except BaseException as error:
    message = str(error)
    sys.stderr.write(type(error).__name__ + (': ' + message if message else ''))
    sys.exit(1)
result = scope.get('result')
if result is not None:
    sys.stdout.write(result if isinstance(result, str) else json.dumps(result))
`;

function normalizeLanguage(language: string): InlineLanguage | undefined {
  const name = language.trim().toLowerCase();
  if (name === 'javascript' || name === 'js') return 'javascript';
  if (name === 'python' || name === 'python3') return 'python';
  return undefined;
}

/**
 * Flags that keep inline JavaScript away from the file system, child processes and workers
 * (Node's permission model), when the Node.js binary is this one and supports it.
 */
function nodeSandboxFlags(nodePath: string): string[] {
  if (nodePath !== process.execPath) return [];
  const flags = process.allowedNodeEnvironmentFlags;
  if (flags.has('--permission')) return ['--permission', '--no-warnings'];
  if (flags.has('--experimental-permission')) return ['--experimental-permission', '--no-warnings'];
  return [];
}

/** Runs a snippet of the definitions' own code in a separate, short-lived process. */
export class InlineTool implements Tool {
  readonly name: string;

  constructor(
    private readonly config: InlineToolConfig,
    private readonly options: InlineToolOptions,
  ) {
    this.name = config.name;
  }

  async run(args: Record<string, unknown>, context: ToolContext): Promise<ToolResult> {
    if (!this.options.enabled) {
      return toolFailure('inline tools are disabled in this runtime');
    }
    const language = normalizeLanguage(this.config.language);
    if (!language) {
      return toolFailure(`inline language "${this.config.language}" is not supported (use ${INLINE_LANGUAGES.join(' or ')})`);
    }

    const memoryBytes = this.config.memoryBytes;
    let command: string;
    let commandArgs: string[];
    if (language === 'javascript') {
      command = this.options.nodePath ?? process.execPath;
      const heapMb = memoryBytes ? Math.max(1, Math.ceil(memoryBytes / (1024 * 1024))) : undefined;
      const heapFlags = heapMb ? [`--max-old-space-size=${heapMb}`] : [];
      commandArgs = [...nodeSandboxFlags(command), ...heapFlags, '-e', JAVASCRIPT_RUNNER];
    } else {
      command = this.options.pythonPath ?? 'python3';
      // -I: ignore PYTHON* variables and the user's site-packages.
      commandArgs = ['-I', '-X', 'utf8', '-c', PYTHON_RUNNER];
    }

    const timeoutMs = this.config.timeoutMs ?? DEFAULT_INLINE_TIMEOUT_MS;
    const maxOutputBytes = this.options.maxOutputBytes ?? MAX_TOOL_OUTPUT_BYTES;
    const outcome = await runChildProcess({
      command,
      args: commandArgs,
      env: { PATH: this.options.path ?? DEFAULT_CHILD_PATH },
      stdin: JSON.stringify({ code: this.config.code, args, memoryBytes: memoryBytes ?? null }),
      timeoutMs,
      signal: context.signal,
      maxStdoutBytes: maxOutputBytes,
      maxStderrBytes: MAX_STDERR_BYTES,
      killGraceMs: this.options.killGraceMs ?? DEFAULT_KILL_GRACE_MS,
    });

    switch (outcome.kind) {
      case 'not-started':
        return toolFailure(`the ${language} interpreter could not be started (${outcome.reason})`);
      case 'timed-out':
        return toolFailure(`inline code timed out after ${timeoutMs} ms and was stopped`);
      case 'cancelled':
        return toolFailure('inline code was cancelled');
      case 'exited': {
        if (outcome.exitCode !== 0 && /heap out of memory/.test(outcome.stderr)) {
          return toolFailure(`inline code ran out of memory${memoryBytes ? ` (limit ${memoryBytes} bytes)` : ''}`);
        }
        if (outcome.exitCode !== 0) {
          const how = outcome.exitCode === null ? `was killed by ${outcome.signal}` : `failed (exit code ${outcome.exitCode})`;
          const stderr = excerpt(outcome.stderr);
          return toolFailure(`inline code ${how}${stderr ? `: ${stderr}` : ''}`);
        }
        return { output: outcome.stdoutTruncated ? outcome.stdout + truncationNote(maxOutputBytes) : outcome.stdout };
      }
    }
  }
}
