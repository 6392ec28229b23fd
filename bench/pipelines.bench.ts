import pg from 'pg';
import { benchDatabase, startServer, type Figures, type ServerProcess } from './support.js';

const API_KEY = 'bench-key-0123456789abcdef';
const HEADERS = { 'content-type': 'application/json', 'X-API-Key': API_KEY };

/** Asynchronous three-step runs on two replicas sharing one database: all complete, how fast. */
export async function benchPipelines(): Promise<Figures> {
  const database = await benchDatabase();
  const env = { DATABASE_URL: database.url, AGENTSPEC_API_KEY: API_KEY, AGENTSPEC_DEFINITIONS: 'bench/fixtures/bench.ias' };
  const servers: ServerProcess[] = [];
  const count = Number(process.env.BENCH_RUNS ?? 200);
  try {
    servers.push(await startServer(env), await startServer(env));
    const started = performance.now();
    const runIds = await Promise.all(
      Array.from({ length: count }, async (_, index) => {
        const server = servers[index % servers.length];
        const response = await fetch(`${server.url}/v1/pipelines/bench-three/run`, {
          method: 'POST',
          headers: HEADERS,
          body: JSON.stringify({ input: `run ${index}`, options: { async: true } }),
        });
        if (response.status !== 202) throw new Error(`run ${index}: HTTP ${response.status}`);
        return ((await response.json()) as { run_id: string }).run_id;
      }),
    );
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      const deadline = Date.now() + 120_000;
      let finished = 0;
      while (Date.now() < deadline) {
        const { rows } = await client.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM pipeline_runs WHERE run_id = ANY($1) AND status IN ('completed', 'failed', 'cancelled')",
          [runIds],
        );
        finished = rows[0].n;
        if (finished === count) break;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      const wall = (performance.now() - started) / 1000;
      const { rows } = await client.query<{ status: string; owner: string | null; seconds: number; executions: number }>(
        `SELECT r.status, r.owner, EXTRACT(EPOCH FROM (r.finished_at - r.created_at))::float AS seconds,
                (SELECT max(s.executions) FROM pipeline_run_steps s WHERE s.run_id = r.run_id)::int AS executions
           FROM pipeline_runs r WHERE r.run_id = ANY($1)`,
        [runIds],
      );
      const durations = rows.map((row) => row.seconds * 1000).sort((x, y) => x - y);
      const percentile = (p: number) => durations[Math.min(durations.length - 1, Math.ceil((p / 100) * durations.length) - 1)];
      const owners = new Set(rows.map((row) => row.owner));
      return {
        name: `pipelines (${count} async runs of a 3-step pipeline, mock model, 2 replicas, one database)`,
        figures: {
          'runs completed': `${rows.filter((row) => row.status === 'completed').length} / ${count}`,
          'replicas that executed runs': owners.size,
          'steps executed more than once': rows.filter((row) => row.executions > 1).length,
          'wall time (s)': wall.toFixed(2),
          'runs/s': (count / wall).toFixed(1),
          'run duration p50 / p99 (ms, queue time included)': `${Math.round(percentile(50))} / ${Math.round(percentile(99))}`,
        },
      };
    } finally {
      await client.end();
    }
  } finally {
    for (const server of servers) await server.stop();
    await database.stop();
  }
}
