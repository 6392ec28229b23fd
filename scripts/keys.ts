import 'reflect-metadata';
import { userInfo } from 'node:os';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { plainToInstance } from 'class-transformer';
import { validateSync, type ValidationError } from 'class-validator';
import { DomainError } from '../src/common/errors/domain-errors.js';
import { ConfigError, loadConfig } from '../src/config/configuration.js';
import { createDataSource, runMigrations } from '../src/database/data-source.js';
import { type EmbeddedDatabase, runningEmbeddedDatabaseUrl, startEmbeddedDatabase } from '../src/database/embedded-database.js';
import { ApiKeysRepository } from '../src/keys/api-keys.repository.js';
import { CreateKeyDto, type KeyDto } from '../src/keys/dto/key.dto.js';
import { KeysService } from '../src/keys/keys.service.js';

const USAGE = `usage: npm run keys -- <command>

  create --name <name> [--role user|admin|auditor] [--agents a,b] [--expires 30d] [--json]
      creates a key and prints it once (role user by default)
  list [--json]
      every key, without secrets
  revoke <id|prefix>
      revokes a key by its id (mk_…) or prefix (ask_…)

Uses DATABASE_URL, or the embedded PostgreSQL under AGENTSPEC_DATA_DIR (./.data), and applies
pending migrations first.
`;

export interface KeysCliOptions {
  /** The environment the configuration is read from; default process.env. */
  env?: Record<string, string | undefined>;
  stdout?: (text: string) => void;
  stderr?: (text: string) => void;
}

class UsageError extends Error {}

type Command = { name: 'create'; request: CreateKeyDto; json: boolean } | { name: 'list'; json: boolean } | { name: 'revoke'; ref: string };

/** `npm run keys -- create|list|revoke …`; resolves to the exit code (0, 1 failed, 2 usage). */
export async function runKeysCli(args: readonly string[], options: KeysCliOptions = {}): Promise<number> {
  const out = options.stdout ?? ((text: string) => process.stdout.write(text));
  const err = options.stderr ?? ((text: string) => process.stderr.write(text));
  let command: Command;
  let config: ReturnType<typeof loadConfig>;
  try {
    command = parseCommand(args);
    config = loadConfig(options.env ?? process.env);
  } catch (error) {
    if (error instanceof UsageError) {
      err(`${error.message}\n\n${USAGE}`);
      return 2;
    }
    if (error instanceof ConfigError) {
      err(`${error.message}\n`);
      return 2;
    }
    throw error;
  }

  let embedded: EmbeddedDatabase | undefined;
  const url =
    config.databaseUrl ??
    (await runningEmbeddedDatabaseUrl(config.dataDir)) ??
    (embedded = await startEmbeddedDatabase({ dataDir: config.dataDir })).url;
  const dataSource = createDataSource({ url, poolSize: 2, applicationName: 'agentspec-keys' });
  try {
    await dataSource.initialize();
    const applied = await runMigrations(dataSource);
    if (applied.length > 0) err(`applied migrations: ${applied.join(', ')}\n`);
    const keys = new KeysService(new ApiKeysRepository(dataSource));
    switch (command.name) {
      case 'create': {
        const created = await keys.create(command.request, creator());
        if (command.json) out(`${JSON.stringify(created, null, 2)}\n`);
        else {
          out(details(created) + `key      ${created.key}\n`);
          err('The key is shown only this once: only its SHA-256 digest is stored.\n');
        }
        break;
      }
      case 'list': {
        const { keys: list } = await keys.list();
        out(command.json ? `${JSON.stringify(list, null, 2)}\n` : table(list));
        break;
      }
      case 'revoke': {
        const revoked = await keys.revoke(command.ref);
        out(`revoked ${revoked.id} (${revoked.prefix}, "${revoked.name}") at ${revoked.revoked_at}\n`);
        break;
      }
    }
    return 0;
  } catch (error) {
    err(`${error instanceof DomainError ? error.message : `error: ${(error as Error).message}`}\n`);
    return 1;
  } finally {
    if (dataSource.isInitialized) await dataSource.destroy();
    await embedded?.stop();
  }
}

function parseCommand(args: readonly string[]): Command {
  const [name, ...rest] = args;
  let parsed;
  try {
    parsed = parseArgs({
      args: rest,
      allowPositionals: true,
      strict: true,
      options: {
        name: { type: 'string' },
        role: { type: 'string' },
        agents: { type: 'string' },
        expires: { type: 'string' },
        json: { type: 'boolean', default: false },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (name === undefined) throw new UsageError('a command is required');
  if (!isCommandName(name)) throw new UsageError(`unknown command '${name}'`);
  const unexpected = Object.entries(values)
    .filter(([option, value]) => value !== undefined && value !== false && !OPTIONS[name].includes(option))
    .map(([option]) => `--${option}`);
  if (unexpected.length > 0) throw new UsageError(`${name} does not take ${unexpected.join(', ')}`);
  if (name === 'revoke') {
    if (positionals.length !== 1) throw new UsageError('revoke takes one key id or prefix');
    return { name, ref: positionals[0] };
  }
  if (positionals.length > 0) throw new UsageError(`${name} takes no argument '${positionals[0]}'`);
  if (name === 'list') return { name, json: values.json };
  if (values.name === undefined) throw new UsageError('create needs --name');
  const request = plainToInstance(CreateKeyDto, {
    name: values.name,
    role: values.role,
    agents: values.agents
      ?.split(',')
      .map((agent) => agent.trim())
      .filter((agent) => agent.length > 0),
    expires_in: values.expires,
  });
  const problems = validateSync(request, { whitelist: true, forbidNonWhitelisted: true });
  if (problems.length > 0) throw new UsageError(problems.flatMap(describeProblem).join('\n'));
  return { name, request, json: values.json };
}

const OPTIONS: Record<Command['name'], string[]> = { create: ['name', 'role', 'agents', 'expires', 'json'], list: ['json'], revoke: [] };

function isCommandName(name: string): name is Command['name'] {
  return Object.hasOwn(OPTIONS, name);
}

const OPTION_OF_FIELD: Record<string, string> = { name: '--name', role: '--role', agents: '--agents', expires_in: '--expires' };

function describeProblem(problem: ValidationError): string[] {
  const option = OPTION_OF_FIELD[problem.property] ?? problem.property;
  return Object.values(problem.constraints ?? {}).map((message) => `${option}: ${message}`);
}

/** Who the key's `created_by` names: the operating-system user running the CLI. */
function creator(): string {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    // A uid without a passwd entry (some containers) has no name.
    return `cli:uid-${process.getuid?.() ?? 'unknown'}`;
  }
}

function details(key: KeyDto): string {
  return [
    ['id', key.id],
    ['prefix', key.prefix],
    ['name', key.name],
    ['role', key.role],
    ['agents', key.role === 'user' ? key.agents.join(', ') || '(none)' : '(all, by role)'],
    ['expires', key.expires_at ?? 'never'],
  ]
    .map(([label, value]) => `${label.padEnd(8)} ${value}\n`)
    .join('');
}

function table(keys: KeyDto[]): string {
  if (keys.length === 0) return 'no keys\n';
  const header = ['ID', 'PREFIX', 'NAME', 'ROLE', 'AGENTS', 'STATUS', 'EXPIRES', 'CREATED', 'CREATED BY'];
  const rows = keys.map((key) => [
    key.id,
    key.prefix,
    key.name,
    key.role,
    key.agents.join(',') || '-',
    key.status,
    key.expires_at ?? 'never',
    key.created_at,
    key.created_by,
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column].length)));
  return [header, ...rows]
    .map(
      (row) =>
        `${row
          .map((cell, column) => cell.padEnd(widths[column]))
          .join('  ')
          .trimEnd()}\n`,
    )
    .join('');
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (invokedDirectly) {
  runKeysCli(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
