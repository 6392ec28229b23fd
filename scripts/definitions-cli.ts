import { pathToFileURL } from 'node:url';
import { definitionsEnvironment } from '../src/config/configuration.js';
import { DEFINITIONS_SCHEMA, formatDiagnostics, loadDefinitions } from '../src/definitions/index.js';
import { runEvalCommand } from './definitions-eval.js';

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
  eval <path> [--agent NAME] [--tags T1,T2] [--junit FILE]
                 run the agents' eval cases against the configured providers (docs/agents.md);
                 exit 0 all passed, 1 some failed, 2 bad usage or definitions
  --env NAME     apply the environment block NAME first, as AGENTSPEC_ENVIRONMENT does at start
                 (default: AGENTSPEC_ENVIRONMENT; --env "" for the base values)`;

const OPTIONS = ['env', 'agent', 'tags', 'junit'] as const;
type OptionName = (typeof OPTIONS)[number];
/** Options only `eval` takes. */
const EVAL_OPTIONS: readonly OptionName[] = ['agent', 'tags', 'junit'];

/** The positional arguments and the options given (`--name value` or `--name=value`, each once), or undefined on bad usage. */
function parseArgs(args: readonly string[]): { positional: string[]; options: Partial<Record<OptionName, string>> } | undefined {
  const positional: string[] = [];
  const options: Partial<Record<OptionName, string>> = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const option = OPTIONS.find((name) => arg === `--${name}` || arg.startsWith(`--${name}=`));
    if (option === undefined) {
      if (arg.startsWith('--')) return undefined;
      positional.push(arg);
      continue;
    }
    if (options[option] !== undefined) return undefined;
    if (arg === `--${option}`) {
      if (i + 1 >= args.length) return undefined;
      options[option] = args[++i];
    } else {
      options[option] = arg.slice(`--${option}=`.length);
    }
  }
  return { positional, options };
}

/** `--tags a,b`: the tags, or undefined when none is named. */
function tagList(value: string): string[] | undefined {
  const tags = value
    .split(',')
    .map((tag) => tag.trim())
    .filter((tag) => tag !== '');
  return tags.length > 0 ? tags : undefined;
}

/** Runs one CLI command and returns the exit code: 0 ok, 1 invalid definitions (eval: a failed case), 2 bad usage. */
export async function runDefinitionsCli(args: readonly string[], io: CliIo): Promise<number> {
  const parsed = parseArgs(args);
  const [command, path, ...rest] = parsed?.positional ?? [];
  const options = parsed?.options ?? {};
  if (parsed !== undefined && command === 'schema' && path === undefined && Object.keys(options).length === 0) {
    io.out(`${JSON.stringify(DEFINITIONS_SCHEMA, null, 2)}\n`);
    return 0;
  }
  const evalOnly = EVAL_OPTIONS.some((name) => options[name] !== undefined);
  const tags = options.tags === undefined ? undefined : tagList(options.tags);
  if (
    parsed === undefined ||
    (command !== 'check' && command !== 'print' && command !== 'eval') ||
    path === undefined ||
    rest.length > 0 ||
    (evalOnly && command !== 'eval') ||
    (options.tags !== undefined && tags === undefined) ||
    options.agent === '' ||
    options.junit === ''
  ) {
    io.err(`${USAGE}\n`);
    return 2;
  }
  const chosen = options.env ?? definitionsEnvironment(io.variables);
  const environment = chosen === undefined || chosen.trim() === '' ? undefined : chosen.trim();
  const result = await loadDefinitions(path, { cwd: io.cwd, environment });
  if (!result.ok) {
    io.err(`${formatDiagnostics(result.diagnostics)}\n`);
    const errors = result.diagnostics.filter((d) => d.severity === 'error').length;
    io.err(`${errors} error${errors === 1 ? '' : 's'}\n`);
    return command === 'eval' ? 2 : 1;
  }
  if (result.warnings.length > 0) io.err(`${formatDiagnostics(result.warnings)}\n`);
  if (command === 'eval') {
    return runEvalCommand(result.definitions, { agent: options.agent, tags, junit: options.junit }, io);
  }
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
