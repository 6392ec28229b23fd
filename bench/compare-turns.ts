import { existsSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { ADMIN, ADMIN_KEY, measureTurns } from './sessions.bench.js';
import { benchDatabase, startServer, type ServerProcess } from './support.js';

/**
 * Session turns of another checkout's build and of this one under the same load, alternating:
 * `npm run bench:compare -- <checkout> [pairs]`. The other checkout must be built (`npm ci &&
 * npm run build` there). Both serve this checkout's bench/fixtures/bench.ias with an admin key,
 * each on a new database: 50 connections with one session each, as the sessions scenario, but
 * with 5 s of warm-up (2 s there) and the rate as all turns over BENCH_DURATION seconds (10)
 * rather than the mean of autocannon's per-second samples. On a shared machine the rate moves
 * by 10–15 % from run to run and both builds move together, so only neighbouring runs compare;
 * each pair after the first swaps the order (ABBA), so a drift favours neither build.
 */
const CONNECTIONS = 50;
const WARMUP_S = 5;

async function measure(checkout: string, seconds: number): Promise<string> {
  const database = await benchDatabase();
  let app: ServerProcess | undefined;
  try {
    const definitions = resolve('bench/fixtures/bench.ias');
    app = await startServer({ DATABASE_URL: database.url, AGENTSPEC_API_KEY: ADMIN_KEY, AGENTSPEC_DEFINITIONS: definitions }, [], checkout);
    const { result, cpu } = await measureTurns(app, ADMIN, { connections: CONNECTIONS, warmupS: WARMUP_S, seconds });
    const rate = Math.round(result.requests.total / seconds);
    const failures = `non-2xx ${result.non2xx}, errors ${result.errors}`;
    return `${rate} turns/s, p50 / p99 ${result.latency.p50} / ${result.latency.p99} ms, ${failures}, CPU per turn ${cpu} ms`;
  } finally {
    await app?.stop();
    await database.stop();
  }
}

async function main(): Promise<void> {
  const [other, pairsText = '3'] = process.argv.slice(2);
  const pairs = Number(pairsText);
  if (!other || !existsSync(join(other, 'dist/src/main.js')) || !Number.isInteger(pairs) || pairs < 1) {
    process.stderr.write('usage: npm run bench:compare -- <another checkout, built> [pairs, a whole number ≥ 1]\n');
    process.exit(2);
  }
  const seconds = Number(process.env.BENCH_DURATION ?? 10);
  const builds = [
    { label: `other (${other})`, checkout: resolve(other) },
    { label: 'this checkout', checkout: process.cwd() },
  ];
  const width = Math.max(...builds.map((build) => build.label.length));
  process.stdout.write(
    `session turns, ${CONNECTIONS} connections, one session each (${cpus().length} cores, load average ${loadavg()[0].toFixed(1)})\n`,
  );
  process.stdout.write('CPU per turn: server / PostgreSQL / load generator\n');
  for (let pair = 1; pair <= pairs; pair++) {
    const order = pair % 2 === 1 ? builds : [...builds].reverse();
    for (const build of order) {
      process.stdout.write(`  pair ${pair}, ${build.label.padEnd(width)}  ${await measure(build.checkout, seconds)}\n`);
    }
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
