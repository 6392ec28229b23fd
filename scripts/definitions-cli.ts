import { pathToFileURL } from 'node:url';
import { DEFINITIONS_SCHEMA, formatDiagnostics, loadDefinitions } from '../src/definitions/index.js';

export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
  cwd?: string;
}

const USAGE = `usage: npm run definitions -- <command> [path]
  check <path>   validate a .ias file, a folder of .ias files, or a .json/.yaml model; exit 1 on errors
  print <path>   print the lowered model as JSON
  schema         print the JSON Schema of the model`;

/** Runs one CLI command and returns the exit code: 0 ok, 1 invalid definitions, 2 bad usage. */
export async function runDefinitionsCli(args: readonly string[], io: CliIo): Promise<number> {
  const [command, path, ...rest] = args;
  if (command === 'schema' && path === undefined) {
    io.out(`${JSON.stringify(DEFINITIONS_SCHEMA, null, 2)}\n`);
    return 0;
  }
  if ((command !== 'check' && command !== 'print') || path === undefined || rest.length > 0) {
    io.err(`${USAGE}\n`);
    return 2;
  }
  const result = await loadDefinitions(path, { cwd: io.cwd });
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
    `OK ${d.package.name} ${d.package.version}: ${count(result.files.length, 'file')}, ${count(d.agents.length, 'agent')}, ` +
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
