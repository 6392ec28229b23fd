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
    let next = 0;
    // One session per connection: turns of a session are sequential by contract.
    const continued = await run({
      url: app.url,
      connections,
      duration: durationS,
      requests: [
        {
          method: 'POST',
          headers: HEADERS,
          setupRequest: (request, context) => {
            const state = context as { session?: string };
            state.session ??= ids[next++ % ids.length];
            return { ...request, path: `/v1/agents/bench-echo/sessions/${state.session}/continue`, body: '{"input":"one more turn"}' };
          },
        },
      ],
    });

    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    await client.query(
      `INSERT INTO sessions (id, agent, metadata, principal, correlation_id, created_at, last_active_at)
       SELECT 'sess_bench' || lpad(n::text, 22, '0'), 'bench-echo', '{}'::jsonb, 'bench', 'bench',
              now() - n * interval '10 ms', now() - n * interval '10 ms'
         FROM generate_series(1, $1::int) AS n`,
      [stored],
    );
    await client.query('ANALYZE sessions');
    await client.end();
    const listed = await run({
      url: `${app.url}/v1/agents/bench-echo/sessions?limit=20&offset=0`,
      headers: HEADERS,
      connections: 10,
      duration: durationS,
    });
    return {
      name: `sessions (mock model on PostgreSQL; ${connections} connections, one session each)`,
      figures: {
        'continue requests/s': Math.round(continued.requests.average),
        'continue p50 / p99 (ms)': `${continued.latency.p50} / ${continued.latency.p99}`,
        'continue errors / non-2xx': `${continued.errors} / ${continued.non2xx}`,
        [`list with ${stored + connections} sessions: requests/s`]: Math.round(listed.requests.average),
        'list p50 / p99 (ms, target p99 < 50)': `${listed.latency.p50} / ${listed.latency.p99}`,
        'list errors / non-2xx': `${listed.errors} / ${listed.non2xx}`,
      },
    };
  } finally {
    await app.stop();
    await database.stop();
  }
}
