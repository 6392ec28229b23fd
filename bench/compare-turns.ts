import { existsSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { continueLoad, cpuNow, cpuPerTurn, newSession } from './sessions.bench.js';
import { benchDatabase, startServer } from './support.js';

/**
 * Session turns of this build and of another checkout's, measured alternately under the same
 * load: `npm run bench:compare -- <checkout> [pairs]`. The other checkout must be built
 * (`npm ci && npm run build` there). Both serve this checkout's bench/fixtures/bench.ias with an
 * admin key, each on a new database, 50 connections with one session each (as `npm run bench --
 * sessions`), 5 s of warm-up then BENCH_DURATION seconds (10) counted. On a shared machine the
 * rate moves by 10–15 % from run to run, and both builds move together, so only pairs run one
 * after the other compare.
 */
const KEY = 'bench-key-0123456789abcdef';
const HEADERS = { 'content-type': 'application/json', 'X-API-Key': KEY };
const CONNECTIONS = 50;

async function measure(checkout: string, seconds: number): Promise<string> {
  const database = await benchDatabase();
  const app = await startServer(
    { DATABASE_URL: database.url, AGENTSPEC_API_KEY: KEY, AGENTSPEC_DEFINITIONS: resolve('bench/fixtures/bench.ias') },
    [],
    checkout,
  );
  try {
    const ids: string[] = [];
    for (let i = 0; i < CONNECTIONS; i++) ids.push(await newSession(app.url, HEADERS));
    await continueLoad(app.url, ids, 5, HEADERS);
    // Turns cut off by the end of the warm-up release their sessions when they notice.
    await new Promise((done) => setTimeout(done, 1_500));
    const before = await cpuNow(app.child.pid);
    const result = await continueLoad(app.url, ids, seconds, HEADERS);
    const cpu = cpuPerTurn(before, await cpuNow(app.child.pid), result.requests.total, ['server', 'postgres', 'client']);
    const rate = Math.round(result.requests.total / seconds);
    return `${rate} turns/s, p50 / p99 ${result.latency.p50} / ${result.latency.p99} ms, non-2xx ${result.non2xx}, CPU per turn ${cpu} ms`;
  } finally {
    await app.stop();
    await database.stop();
  }
}

async function main(): Promise<void> {
  const [other, pairsText = '3'] = process.argv.slice(2);
  if (!other || !existsSync(join(other, 'dist/src/main.js'))) {
    process.stderr.write('usage: npm run bench:compare -- <another checkout, built> [pairs]\n');
    process.exit(2);
  }
  const pairs = Number(pairsText);
  const seconds = Number(process.env.BENCH_DURATION ?? 10);
  const builds = [
    { label: `other (${other})`, checkout: resolve(other) },
    { label: 'this checkout', checkout: process.cwd() },
  ];
  process.stdout.write(
    `session turns, ${CONNECTIONS} connections, one session each (${cpus().length} cores, load average ${loadavg()[0].toFixed(1)})\n`,
  );
  process.stdout.write('CPU per turn: server / PostgreSQL / load generator\n');
  for (let pair = 1; pair <= pairs; pair++) {
    for (const build of builds)
      process.stdout.write(`  pair ${pair}, ${build.label.padEnd(24)} ${await measure(build.checkout, seconds)}\n`);
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
