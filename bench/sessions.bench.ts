import autocannon from 'autocannon';
import pg from 'pg';
import { benchDatabase, startServer, type Figures } from './support.js';

const API_KEY = 'bench-key-0123456789abcdef';
const HEADERS = { 'content-type': 'application/json', 'X-API-Key': API_KEY };

function run(options: autocannon.Options): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => autocannon(options, (error, result) => (error ? reject(error) : resolve(result))));
}

/** Continue throughput on real Postgres, and list latency with 100,000 stored sessions. */
export async function benchSessions(): Promise<Figures> {
  const database = await benchDatabase();
  const app = await startServer({ DATABASE_URL: database.url, AGENTSPEC_API_KEY: API_KEY, AGENTSPEC_DEFINITIONS: 'bench/fixtures/bench.ias' });
  const durationS = Number(process.env.BENCH_DURATION ?? 10);
  const stored = Number(process.env.BENCH_SESSIONS ?? 100_000);
  try {
    const connections = 50;
    const ids: string[] = [];
    for (let i = 0; i < connections; i++) {
      const response = await fetch(`${app.url}/v1/agents/bench-echo/sessions`, { method: 'POST', headers: HEADERS, body: '{}' });
      ids.push(((await response.json()) as { session_id: string }).session_id);
    }
    // One loop per session, each sending its turns one after the other: turns of one session
    // are sequential by contract, so every answer should be a 200.
    const latencies: number[] = [];
    const statuses = new Map<number, number>();
    const until = Date.now() + durationS * 1000;
    await Promise.all(
      ids.map(async (id) => {
        while (Date.now() < until) {
          const started = performance.now();
          const response = await fetch(`${app.url}/v1/agents/bench-echo/sessions/${id}/continue`, {
            method: 'POST',
            headers: HEADERS,
            body: '{"input":"one more turn"}',
          });
          await response.arrayBuffer();
          latencies.push(performance.now() - started);
          statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        }
      }),
    );
    latencies.sort((x, y) => x - y);
    const at = (q: number) => Math.round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]);

    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    const store = async (spreadMs: number) => {
      await client.query("DELETE FROM sessions WHERE principal = 'bench'");
      await client.query(
        `INSERT INTO sessions (id, agent, metadata, principal, correlation_id, created_at, last_active_at)
         SELECT 'sess_bench' || lpad(n::text, 22, '0'), 'bench-echo', '{}'::jsonb, 'bench', 'bench', at, at
           FROM generate_series(1, $1::int) AS n, LATERAL (SELECT now() - n * ($2::double precision / $1) * interval '1 ms' AS at) t`,
        [stored, spreadMs],
      );
      // What autovacuum does on a live system; without it a bulk load has no visibility map.
      await client.query('VACUUM ANALYZE sessions');
    };
    const listLoad = (connections: number) =>
      run({ url: `${app.url}/v1/agents/bench-echo/sessions?limit=20&offset=0`, headers: HEADERS, connections, duration: durationS });
    // Realistic: 100,000 stored sessions created over 30 days, so most have expired (30 min idle).
    await store(30 * 86_400_000);
    const listedAlone = await listLoad(1);
    const listedSpread = await listLoad(10);
    // Worst case: all of them active within the last 15 minutes, so `total` counts 100,000 rows.
    await store(15 * 60_000);
    const listedLive = await listLoad(10);
    await client.end();
    return {
      name: `sessions (mock model on PostgreSQL; ${connections} connections, one session each)`,
      figures: {
        'continue requests/s': Math.round(latencies.length / durationS),
        'continue p50 / p99 (ms)': `${at(0.5)} / ${at(0.99)}`,
        'continue status codes': [...statuses].map(([code, count]) => `${code}×${count}`).join(' '),
        [`list, ${stored} stored over 30 days, 1 client: p50 / p99 (ms, target p99 < 50)`]: `${listedAlone.latency.p50} / ${listedAlone.latency.p99}`,
        [`list, same, 10 clients: requests/s`]: Math.round(listedSpread.requests.average),
        'list, same, 10 clients: p50 / p99 (ms)': `${listedSpread.latency.p50} / ${listedSpread.latency.p99}`,
        [`list, all ${stored} live (worst case): requests/s`]: Math.round(listedLive.requests.average),
        'list, all live: p50 / p99 (ms)': `${listedLive.latency.p50} / ${listedLive.latency.p99}`,
        'list errors / non-2xx': `${listedAlone.errors + listedSpread.errors + listedLive.errors} / ${listedAlone.non2xx + listedSpread.non2xx + listedLive.non2xx}`,
      },
    };
  } finally {
    await app.stop();
    await database.stop();
  }
}
