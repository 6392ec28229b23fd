import { pathToFileURL } from 'node:url';
import { definitionsEnvironment } from '../src/config/configuration.js';
import { DEFINITIONS_SCHEMA, formatDiagnostics, loadDefinitions } from '../src/definitions/index.js';

export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
  cwd?: string;
  /** The process environment, for AGENTSPEC_ENVIRONMENT (default: the real one). */
  variables?: Record<string, string | undefined>;
}

const USAGE = `usage: npm run definitions -- <command> [--env NAME] [path]
  check <path>   validate a .ias file, a folder of .ias files, or a .json/.yaml model; exit 1 on errors
  print <path>   print the lowered model as JSON
  schema         print the JSON Schema of the model
  --env NAME     apply the environment block NAME first, as AGENTSPEC_ENVIRONMENT does at start
                 (default: AGENTSPEC_ENVIRONMENT; --env "" for the base values)`;

/** `[command, path]` and the `--env` value (undefined: not given), or undefined on bad usage. */
function parseArgs(args: readonly string[]): { positional: string[]; env?: string } | undefined {
  const positional: string[] = [];
  let env: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--env') {
      if (i + 1 >= args.length || env !== undefined) return undefined;
      env = args[++i];
    } else if (arg.startsWith('--env=')) {
      if (env !== undefined) return undefined;
      env = arg.slice('--env='.length);
    } else {
      positional.push(arg);
    }
  }
  return { positional, env };
}

/** Runs one CLI command and returns the exit code: 0 ok, 1 invalid definitions, 2 bad usage. */
export async function runDefinitionsCli(args: readonly string[], io: CliIo): Promise<number> {
  const parsed = parseArgs(args);
  const [command, path, ...rest] = parsed?.positional ?? [];
  if (parsed !== undefined && command === 'schema' && path === undefined && parsed.env === undefined) {
    io.out(`${JSON.stringify(DEFINITIONS_SCHEMA, null, 2)}\n`);
    return 0;
  }
  if (parsed === undefined || (command !== 'check' && command !== 'print') || path === undefined || rest.length > 0) {
    io.err(`${USAGE}\n`);
    return 2;
  }
  const chosen = parsed.env ?? definitionsEnvironment(io.variables);
  const environment = chosen === undefined || chosen.trim() === '' ? undefined : chosen.trim();
  const result = await loadDefinitions(path, { cwd: io.cwd, environment });
  if (!result.ok) {
    io.err(`${formatDiagnostics(result.diagnostics)}\n`);
    const errors = result.diagnostics.filter((d) => d.severity === 'error').length;
    io.err(`${errors} error${errors === 1 ? '' : 's'}\n`);
    return 1;
  }
  if (result.warnings.length > 0) io.err(`${formatDiagnostics(result.warnings)}\n`);
  if (command === 'print') {
    io.out(`${JSON.stringify(result.definitions, null, 2)}\n`);
    return 0;
  }
  const d = result.definitions;
  const count = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
  io.out(
    `OK ${d.package.name} ${d.package.version}${d.environment === undefined ? '' : ` (environment ${d.environment})`}: ${count(result.files.length, 'file')}, ${count(d.agents.length, 'agent')}, ` +
      `${count(d.prompts.length, 'prompt')}, ${count(d.skills.length, 'skill')}, ${count(d.pipelines.length, 'pipeline')}` +
      `${result.warnings.length > 0 ? `, ${count(result.warnings.length, 'warning')}` : ''}\n`,
  );
  return 0;
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (invokedDirectly) {
  runDefinitionsCli(process.argv.slice(2), {
    out: (t) => process.stdout.write(t),
    err: (t) => process.stderr.write(t),
  }).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`definitions: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exitCode = 3;
    },
  );
}
