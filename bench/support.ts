import { freePort } from '../src/common/free-port.js';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startEmbeddedDatabase, type EmbeddedDatabase } from '../src/database/embedded-database.js';

export { freePort };

export interface Figures {
  name: string;
  figures: Record<string, number | string>;
  /** A table to paste into the README, printed after the figures. */
  markdown?: string;
}

/** A process's name and the fields after it in /proc/<pid>/stat (so `fields[11]` is utime); undefined once it is gone. */
async function procStat(pid: number | string): Promise<{ name: string; fields: string[] } | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  const close = stat?.lastIndexOf(')') ?? -1;
  if (!stat || close < 0) return undefined;
  return { name: stat.slice(stat.indexOf('(') + 1, close), fields: stat.slice(close + 2).split(' ') };
}

/** CPU time (user + system, ms) a process has used so far, from /proc. */
export async function processCpuMs(pid: number): Promise<number> {
  const stat = await procStat(pid);
  if (!stat) throw new Error(`process ${pid} is gone`);
  return ((Number(stat.fields[11]) + Number(stat.fields[12])) * 1000) / CLOCK_TICKS;
}

/**
 * CPU time (ms) of every PostgreSQL process on this machine, ended backends included (their
 * time is added to the postmaster's children's time when reaped); undefined when none is
 * visible (a database on another host).
 */
export async function postgresCpuMs(): Promise<number | undefined> {
  const postgres = new Map<string, string[]>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await procStat(entry);
    if (stat?.name === 'postgres') postgres.set(entry, stat.fields);
  }
  if (postgres.size === 0) return undefined;
  let total = 0;
  for (const fields of postgres.values()) {
    total += Number(fields[11]) + Number(fields[12]);
    // The postmaster (its parent is not a postgres process) also carries its reaped children.
    if (!postgres.has(fields[1])) total += Number(fields[13]) + Number(fields[14]);
  }
  return (total * 1000) / CLOCK_TICKS;
}

/** USER_HZ: Linux reports process times in 1/100 s on every architecture Node.js runs on. */
const CLOCK_TICKS = 100;

export async function rssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb * 1024;
}

export async function waitForHttp(url: string, timeoutMs = 60_000): Promise<void> {
  const started = Date.now();
  for (;;) {
    try {
      const response = await fetch(url);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() - started > timeoutMs) throw new Error(`${url} did not answer within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A database for the benchmark: a fresh one on DATABASE_URL's server, or an embedded server. */
export async function benchDatabase(): Promise<{ url: string; stop: () => Promise<void> }> {
  const given = process.env.BENCH_DATABASE_URL ?? process.env.DATABASE_URL;
  let embedded: EmbeddedDatabase | undefined;
  let adminUrl = given;
  if (!adminUrl) {
    const dataDir = await mkdtemp(join(tmpdir(), 'agentspec-bench-pg-'));
    const fs = await import('node:fs/promises');
    await fs.chmod(dataDir, 0o755);
    embedded = await startEmbeddedDatabase({ dataDir, persistent: false });
    adminUrl = embedded.url;
  }
  const name = `agentspec_bench_${Date.now().toString(36)}`;
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  await client.query(`CREATE DATABASE ${name}`);
  await client.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    stop: async () => {
      const admin = new pg.Client({ connectionString: adminUrl });
      await admin.connect();
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
      await embedded?.stop();
    },
  };
}

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Starts the built server with the given environment; its logs go nowhere but are still written.
 * `cwd`: another checkout's build (bench/compare-turns.ts), this one's by default.
 */
export async function startServer(env: Record<string, string>, nodeArgs: string[] = [], cwd?: string): Promise<ServerProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, [...nodeArgs, 'dist/src/main.js'], {
    ...(cwd !== undefined ? { cwd } : {}),
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: String(port), ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/livez`);
  return { url, child, stop: () => stopChild(child) };
}

/**
 * Runs a floor server in its own process, like the app, for a fair comparison: a small module
 * given as source, or a built file given as `{ file }`.
 */
export async function startScript(source: string | { file: string }, port: number): Promise<ServerProcess> {
  const args = typeof source === 'string' ? ['--input-type=module', '-e', source] : [source.file];
  const child = spawn(process.execPath, args, {
    env: { PATH: process.env.PATH ?? '', PORT: String(port), NODE_PATH: join(process.cwd(), 'node_modules') },
    stdio: ['ignore', 'ignore', 'inherit'],
    cwd: process.cwd(),
  });
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/ping`);
  return { url, child, stop: () => stopChild(child) };
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 15_000).unref();
  });
}

export function printFigures(result: Figures): void {
  process.stdout.write(`\n== ${result.name}\n`);
  for (const [key, value] of Object.entries(result.figures)) process.stdout.write(`  ${key.padEnd(44)} ${value}\n`);
  if (result.markdown) process.stdout.write(`\n${result.markdown}\n`);
}

export interface RetainedMemory {
  rss: number;
  heapUsed: number;
}

/**
 * Memory the server keeps: asks the gc-probe preload (see gc-probe.ts) for two full collections,
 * then reads what it reports. The server must have been started with `gcProbeArgs(file)`.
 */
export async function retainedMemory(server: ServerProcess, file: string): Promise<RetainedMemory> {
  await rm(file, { force: true });
  server.child.kill('SIGUSR2');
  for (let waited = 0; waited < 10_000; waited += 50) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    const text = await readFile(file, 'utf8').catch(() => undefined);
    if (text) return JSON.parse(text) as RetainedMemory;
  }
  throw new Error('the server did not answer the memory probe within 10 s');
}

export function gcProbeArgs(): string[] {
  return ['--import', './dist/bench/gc-probe.js'];
}
