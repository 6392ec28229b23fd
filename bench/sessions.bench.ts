import { loadavg, cpus } from 'node:os';
import autocannon from 'autocannon';
import pg from 'pg';
import { createDataSource } from '../src/database/data-source.js';
import { SessionsRepository } from '../src/sessions/sessions.repository.js';
import { benchDatabase, postgresCpuMs, processCpuMs, startServer, type Figures, type ServerProcess } from './support.js';

export const ADMIN_KEY = 'bench-key-0123456789abcdef';
const USER_KEY = 'bench-user-key-0123456789abcdef';
const USER_PRINCIPAL = 'user:bench-user';
export const ADMIN = { 'content-type': 'application/json', 'X-API-Key': ADMIN_KEY };
const USER = { 'content-type': 'application/json', 'X-API-Key': USER_KEY };
const AGENT = 'bench-echo';

function run(options: autocannon.Options): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => autocannon(options, (error, result) => (error ? reject(error) : resolve(result))));
}

function quantile(sorted: readonly number[], q: number): number {
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN);
}

async function newSession(url: string, headers: Record<string, string> = USER): Promise<string> {
  const response = await fetch(`${url}/v1/agents/${AGENT}/sessions`, { method: 'POST', headers, body: '{}' });
  return ((await response.json()) as { session_id: string }).session_id;
}

async function turn(url: string, id: string): Promise<number> {
  const response = await fetch(`${url}/v1/agents/${AGENT}/sessions/${id}/continue`, {
    method: 'POST',
    headers: USER,
    body: '{"input":"one more turn"}',
  });
  await response.arrayBuffer();
  return response.status;
}

/** Turns on each of `ids` one after the other (turns of one session are sequential by contract), all sessions at once. */
async function turnLoops(
  url: string,
  ids: readonly string[],
  durationMs: number,
): Promise<{ latencies: number[]; statuses: Map<number, number> }> {
  const latencies: number[] = [];
  const statuses = new Map<number, number>();
  const until = Date.now() + durationMs;
  await Promise.all(
    ids.map(async (id) => {
      while (Date.now() < until) {
        const started = performance.now();
        const status = await turn(url, id);
        latencies.push(performance.now() - started);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      }
    }),
  );
  latencies.sort((x, y) => x - y);
  return { latencies, statuses };
}

/**
 * Session turns from `connections` connections for `seconds`, each connection continuing its own
 * session of `ids` turn after turn: autocannon keeps one request in flight per connection, and
 * turns of one session are sequential by contract, so every answer should be a 200. Its own cost
 * per request is a fraction of fetch's, which matters on a machine whose cores the client shares
 * with the server and PostgreSQL.
 */
function continueLoad(url: string, ids: readonly string[], seconds: number, headers: Record<string, string>): Promise<autocannon.Result> {
  let next = 0;
  return run({
    url,
    connections: ids.length,
    duration: seconds,
    setupClient: (client) => {
      const id = ids[next++ % ids.length];
      client.setRequests([
        { method: 'POST', path: `/v1/agents/${AGENT}/sessions/${id}/continue`, headers, body: '{"input":"one more turn"}' },
      ]);
    },
  });
}

interface CpuReading {
  server: number;
  postgres: number | undefined;
  client: number;
}

/** CPU used so far (ms) by the server (when given), PostgreSQL (when local) and this process. */
async function cpuNow(serverPid?: number): Promise<CpuReading> {
  const own = process.cpuUsage();
  return {
    server: serverPid === undefined ? 0 : await processCpuMs(serverPid),
    postgres: await postgresCpuMs(),
    client: (own.user + own.system) / 1000,
  };
}

/** Milliseconds of CPU per turn between two readings, of the parts named. */
function cpuPerTurn(before: CpuReading, after: CpuReading, turns: number, parts: (keyof CpuReading)[]): string {
  const each = (part: keyof CpuReading) => {
    const [from, to] = [before[part], after[part]];
    return from === undefined || to === undefined || turns === 0 ? 'n/a' : ((to - from) / turns).toFixed(2);
  };
  return parts.map(each).join(' / ');
}

/**
 * Continue throughput as `npm run bench -- sessions` and `npm run bench:compare` measure it: one
 * new session per connection, `warmupS` of turns, a pause, then `seconds` of turns with the CPU
 * each cost the server, PostgreSQL and this process (as "server / postgres / client" ms).
 */
export async function measureTurns(
  app: ServerProcess,
  headers: Record<string, string>,
  options: { connections: number; warmupS: number; seconds: number },
): Promise<{ ids: string[]; result: autocannon.Result; cpu: string }> {
  const ids: string[] = [];
  for (let i = 0; i < options.connections; i++) ids.push(await newSession(app.url, headers));
  await continueLoad(app.url, ids, options.warmupS, headers);
  // Turns cut off by the end of the warm-up release their sessions when they notice.
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  const before = await cpuNow(app.child.pid);
  const result = await continueLoad(app.url, ids, options.seconds, headers);
  const cpu = cpuPerTurn(before, await cpuNow(app.child.pid), result.requests.total, ['server', 'postgres', 'client']);
  return { ids, result, cpu };
}

/** Claim and store turns straight through the repository, one loop per session, for `durationMs`. */
async function repositoryTurns(url: string, ids: readonly string[], durationMs: number): Promise<{ turnsPerSecond: number; cpu: string }> {
  const dataSource = createDataSource({ url, poolSize: 10, applicationName: 'agentspec-bench' });
  await dataSource.initialize();
  try {
    const repository = new SessionsRepository(dataSource);
    const usage = { input_tokens: 3, output_tokens: 3, total_tokens: 6 };
    let turns = 0;
    const loops = (until: number, count: boolean) =>
      Promise.all(
        ids.map(async (id) => {
          while (Date.now() < until) {
            const claim = await repository.claimTurn(AGENT, id, USER_PRINCIPAL, {
              leaseMs: 60_000,
              idleTimeoutMs: 30 * 60_000,
              memoryMessages: 50,
            });
            if (claim.status === 'busy') {
              // A turn the HTTP load left running still holds it.
              await new Promise((resolve) => setTimeout(resolve, 50));
              continue;
            }
            if (claim.status !== 'claimed') throw new Error(`session ${id} was not found`);
            await repository.appendTurn(id, claim.lease.token, {
              user: { content: 'one more turn' },
              assistant: { content: 'one more turn', usage },
              principal: USER_PRINCIPAL,
              correlationId: 'bench-statements',
            });
            if (count) turns++;
          }
        }),
      );
    await loops(Date.now() + 2_000, false);
    const before = await cpuNow();
    const started = Date.now();
    await loops(started + durationMs, true);
    const seconds = (Date.now() - started) / 1000;
    return { turnsPerSecond: Math.round(turns / seconds), cpu: cpuPerTurn(before, await cpuNow(), turns, ['postgres', 'client']) };
  } finally {
    await dataSource.destroy();
  }
}

/**
 * Continue throughput on real Postgres (one session per connection, the mock model), continue
 * latency with a long history, and list latency with 100,000 live sessions, as the admin (every
 * principal's sessions of the agent) and as the one principal that owns them.
 */
export async function benchSessions(): Promise<Figures> {
  const database = await benchDatabase();
  const app = await startServer({
    DATABASE_URL: database.url,
    AGENTSPEC_API_KEY: ADMIN_KEY,
    BENCH_USER_KEY: USER_KEY,
    AGENTSPEC_DEFINITIONS: 'bench/fixtures/sessions.ias',
  });
  const durationS = Number(process.env.BENCH_DURATION ?? 10);
  const stored = Number(process.env.BENCH_SESSIONS ?? 100_000);
  const conditions = `${cpus().length} cores, load average ${loadavg()[0].toFixed(1)} at start`;
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    const connections = 50;
    const { ids, result: continued, cpu: continueCpu } = await measureTurns(app, USER, { connections, warmupS: 2, seconds: durationS });
    // The same turns without HTTP and the app: the turn's two statements (SessionsRepository's
    // claimTurn and appendTurn, a 50-message window) from as many connections as the server's
    // pool, one session per loop: what the database sustains on these cores alone.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const statementsOnly = await repositoryTurns(database.url, ids, durationS * 1_000);

    // One session with 10,000 stored messages against a new one, turns one at a time: the
    // memory window is read through its index, so history length should not show.
    const [short, long] = [await newSession(app.url), await newSession(app.url)];
    await client.query(
      `INSERT INTO session_messages (session_id, turn, role, content, principal, correlation_id)
       SELECT $1, (g + 1) / 2, CASE WHEN g % 2 = 1 THEN 'user' ELSE 'assistant' END, 'message ' || g, $2, 'bench'
       FROM generate_series(1, 10000) g ORDER BY g`,
      [long, USER_PRINCIPAL],
    );
    await client.query('UPDATE sessions SET turns = 5000 WHERE id = $1', [long]);
    await client.query('ANALYZE session_messages');
    const shortTurns = await turnLoops(app.url, [short], Math.min(3_000, durationS * 300));
    const longTurns = await turnLoops(app.url, [long], Math.min(3_000, durationS * 300));

    const store = async (spreadMs: number) => {
      await client.query(`DELETE FROM sessions WHERE correlation_id = 'bench-list'`);
      await client.query(
        `INSERT INTO sessions (id, agent, metadata, principal, correlation_id, created_at, last_active_at)
         SELECT 'sess_bench' || lpad(n::text, 22, '0'), $3, '{}'::jsonb, $4, 'bench-list', at, at
           FROM generate_series(1, $1::int) AS n, LATERAL (SELECT now() - n * ($2::double precision / $1) * interval '1 ms' AS at) t`,
        [stored, spreadMs, AGENT, USER_PRINCIPAL],
      );
      // What autovacuum does on a live system; without it a bulk load has no visibility map.
      await client.query('VACUUM ANALYZE sessions');
      await client.query('VACUUM ANALYZE session_counts');
    };
    const list = (headers: Record<string, string>, clients: number, offset = 0) =>
      run({ url: `${app.url}/v1/agents/${AGENT}/sessions?limit=20&offset=${offset}`, headers, connections: clients, duration: durationS });
    const lists: autocannon.Result[] = [];
    const listed = async (headers: Record<string, string>, clients: number, offset = 0) => {
      const result = await list(headers, clients, offset);
      lists.push(result);
      return result;
    };
    // Realistic: created over 30 days, so most have expired (30 min idle).
    await store(30 * 86_400_000);
    const spreadAlone = await listed(ADMIN, 1);
    // Worst case: all of them active within the last 15 minutes.
    await store(15 * 60_000);
    const adminAlone = await listed(ADMIN, 1);
    const adminLoad = await listed(ADMIN, 10);
    const userAlone = await listed(USER, 1);
    const userLoad = await listed(USER, 10);
    const deep = await listed(USER, 1, stored - 20);
    const { rows } = await client.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM sessions WHERE agent = $1 AND status = 'active' AND last_active_at > now() - interval '30 minutes'`,
      [AGENT],
    );
    const totals = await Promise.all(
      [ADMIN, USER].map(async (headers) => {
        const response = await fetch(`${app.url}/v1/agents/${AGENT}/sessions?limit=1`, { headers });
        return ((await response.json()) as { total: number }).total;
      }),
    );

    const p = (result: autocannon.Result) => `${result.latency.p50} / ${result.latency.p99}`;
    return {
      name: `sessions (mock model on PostgreSQL; ${conditions})`,
      figures: {
        [`continue, ${connections} connections, one session each: turns/s (target ≥ 1,000)`]: Math.round(continued.requests.average),
        'continue p50 / p99 (ms)': p(continued),
        'continue 2xx / non-2xx / errors': `${continued['2xx']} / ${continued.non2xx} / ${continued.errors}`,
        'continue CPU per turn: server / PostgreSQL / load generator (ms)': continueCpu,
        "the turn's 2 statements alone (SessionsRepository, 10 connections, no HTTP): turns/s": statementsOnly.turnsPerSecond,
        'the 2 statements alone: CPU per turn, PostgreSQL / client (ms)': statementsOnly.cpu,
        'continue alone, 1 / 10,000 messages of history: p50 (ms)': `${quantile(shortTurns.latencies, 0.5)} / ${quantile(longTurns.latencies, 0.5)}`,
        [`list, ${stored} created over 30 days (most expired), admin, 1 client: p50 / p99 (ms)`]: p(spreadAlone),
        [`list, ${stored} live, admin (every principal), 1 client: p50 / p99 (ms, target p99 < 50)`]: p(adminAlone),
        'list, live, admin, 10 clients: requests/s': Math.round(adminLoad.requests.average),
        'list, live, admin, 10 clients: p50 / p99 (ms)': p(adminLoad),
        [`list, ${stored} live, their owner (user), 1 client: p50 / p99 (ms, target p99 < 50)`]: p(userAlone),
        'list, live, owner, 10 clients: requests/s': Math.round(userLoad.requests.average),
        'list, live, owner, 10 clients: p50 / p99 (ms)': p(userLoad),
        [`list, live, owner, offset ${stored - 20}, 1 client: p50 / p99 (ms)`]: p(deep),
        'list total, admin / owner (live rows counted)': `${totals[0]} / ${totals[1]} (${rows[0].n})`,
        'list errors / non-2xx': `${lists.reduce((sum, r) => sum + r.errors, 0)} / ${lists.reduce((sum, r) => sum + r.non2xx, 0)}`,
      },
    };
  } finally {
    await client.end();
    await app.stop();
    await database.stop();
  }
}
