import autocannon from 'autocannon';
import pg from 'pg';
import type { AuditFilter } from '../src/audit/audit-events.repository.js';
import { benchDatabase, rssBytes, startServer, type Figures } from './support.js';

const API_KEY = 'bench-key-0123456789abcdef';
const HEADERS = { 'X-API-Key': API_KEY };
const DAY = 86_400_000;

/**
 * `count` audit events spread over the last 90 days, shaped like a busy deployment: mostly
 * session turns and invocations, 200 principals, 30 agents, 10 pipelines, rare refusals and
 * governance events. Inserted straight into audit_events (unsealed) with every index in place.
 */
export async function generateAuditEvents(client: pg.Client, count: number): Promise<void> {
  await client.query(
    `INSERT INTO audit_events (at, kind, outcome, principal, agent, pipeline, session_id, run_id, correlation_id, detail)
     SELECT date_trunc('milliseconds', now() - (n::double precision / $1) * interval '90 days'), k.kind,
            CASE WHEN k.kind = 'auth_refusal' THEN 'refused'
                 WHEN k.kind = 'guardrail' THEN CASE WHEN n % 2 = 0 THEN 'blocked' ELSE 'warned' END
                 WHEN k.kind IN ('budget', 'validation') THEN 'refused'
                 WHEN n % 50 = 0 THEN 'error'
                 WHEN n % 97 = 0 THEN 'cancelled'
                 ELSE 'ok' END,
            'key:' || lpad(((n / 100) % 200)::text, 4, '0'),
            CASE WHEN k.kind NOT IN ('pipeline_run', 'auth_refusal') THEN 'agent-' || ((n / 7) % 30) END,
            CASE WHEN k.kind = 'pipeline_run' THEN 'pipeline-' || ((n / 3) % 10) END,
            CASE WHEN k.kind IN ('session_turn', 'session_created', 'session_deleted') THEN 'sess_' || (n / 10) END,
            CASE WHEN k.kind = 'pipeline_run' THEN 'run_' || lpad(n::text, 16, '0') END,
            'c-' || n,
            '{"input_tokens": 12, "output_tokens": 40}'::jsonb
     FROM generate_series(1, $1::int) AS n,
          LATERAL (SELECT CASE WHEN n % 100 < 40 THEN 'session_turn' WHEN n % 100 < 70 THEN 'invocation'
                               WHEN n % 100 < 80 THEN 'pipeline_run' WHEN n % 100 < 85 THEN 'session_created'
                               WHEN n % 100 < 88 THEN 'session_deleted' WHEN n % 100 < 95 THEN 'auth_refusal'
                               WHEN n % 100 < 97 THEN 'guardrail' WHEN n % 100 < 98 THEN 'budget'
                               WHEN n % 100 < 99 THEN 'validation' ELSE 'delegation' END AS kind) AS k`,
    [count],
  );
  // What autovacuum does on a live system; without it a bulk load has no statistics.
  await client.query('VACUUM ANALYZE audit_events');
}

/** The filtered first pages measured here and whose plans test/integration/audit-indexes.spec.ts checks. */
export function auditPageFilters(now = Date.now()): { name: string; query: string; filter: AuditFilter }[] {
  const since = new Date(now - 7 * DAY);
  const until = new Date(now - 6 * DAY);
  return [
    { name: 'no filter', query: '', filter: {} },
    { name: 'principal', query: 'principal=key:0042', filter: { principal: 'key:0042' } },
    { name: 'agent', query: 'agent=agent-7', filter: { agent: 'agent-7' } },
    { name: 'pipeline', query: 'pipeline=pipeline-3', filter: { pipeline: 'pipeline-3' } },
    { name: 'rare kind', query: 'kind=delegation', filter: { kinds: ['delegation'] } },
    { name: 'two kinds', query: 'kind=guardrail,budget', filter: { kinds: ['guardrail', 'budget'] } },
    { name: 'outcome', query: 'outcome=error', filter: { outcomes: ['error'] } },
    { name: 'one day', query: `since=${since.toISOString()}&until=${until.toISOString()}`, filter: { since, until } },
    {
      name: 'principal + kind + outcome',
      query: 'principal=key:0042&kind=auth_refusal&outcome=refused',
      filter: { principal: 'key:0042', kinds: ['auth_refusal'], outcomes: ['refused'] },
    },
    { name: 'agent + kind', query: 'agent=agent-7&kind=guardrail', filter: { agent: 'agent-7', kinds: ['guardrail'] } },
    {
      name: 'agent + one day',
      query: `agent=agent-7&since=${since.toISOString()}&until=${until.toISOString()}`,
      filter: { agent: 'agent-7', since, until },
    },
  ];
}

function run(options: autocannon.Options): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => autocannon(options, (error, result) => (error ? reject(error) : resolve(result))));
}

/**
 * `GET /v1/audit/events` first pages (limit 50) over BENCH_AUDIT_EVENTS (1,000,000) stored
 * events, one filter at a time, and a full JSON-lines export with the server's memory.
 */
export async function benchAudit(): Promise<Figures> {
  const database = await benchDatabase();
  const stored = Number(process.env.BENCH_AUDIT_EVENTS ?? 1_000_000);
  const durationS = Number(process.env.BENCH_DURATION ?? 5);
  // The sealer is off: sealing a million bulk-loaded rows would compete with the measurement.
  const app = await startServer({
    DATABASE_URL: database.url,
    AGENTSPEC_API_KEY: API_KEY,
    AGENTSPEC_DEFINITIONS: 'bench/fixtures/bench.ias',
    AGENTSPEC_AUDIT_SEAL_INTERVAL: '0',
  });
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    const loadStarted = performance.now();
    await generateAuditEvents(client, stored);
    const figures: Record<string, number | string> = { 'load (s)': ((performance.now() - loadStarted) / 1000).toFixed(1) };
    let worstP99 = 0;
    for (const { name, query } of auditPageFilters()) {
      const result = await run({
        url: `${app.url}/v1/audit/events?limit=50&${query}`,
        headers: HEADERS,
        connections: 1,
        duration: durationS,
      });
      if (result.non2xx > 0 || result.errors > 0) throw new Error(`${name}: ${result.non2xx} non-2xx, ${result.errors} errors`);
      worstP99 = Math.max(worstP99, result.latency.p99);
      figures[`page "${name}": p50 / p99 (ms)`] = `${result.latency.p50} / ${result.latency.p99}`;
    }
    figures['worst filtered page p99 (ms, target < 50)'] = worstP99;

    const rssBefore = await rssBytes(app.child.pid!);
    let rssPeak = rssBefore;
    const sampler = setInterval(() => {
      void rssBytes(app.child.pid!).then((rss) => (rssPeak = Math.max(rssPeak, rss)));
    }, 100);
    const exportStarted = performance.now();
    const response = await fetch(`${app.url}/v1/audit/export?format=jsonl`, { headers: HEADERS });
    let bytes = 0;
    let lines = 0;
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      bytes += chunk.byteLength;
      for (const byte of chunk) if (byte === 10) lines++;
    }
    clearInterval(sampler);
    const exportS = (performance.now() - exportStarted) / 1000;
    figures['export jsonl: events / seconds'] = `${lines} / ${exportS.toFixed(1)}`;
    figures['export jsonl: MB/s'] = (bytes / 1e6 / exportS).toFixed(1);
    figures['export: server RSS before / peak (MB)'] = `${Math.round(rssBefore / 1e6)} / ${Math.round(rssPeak / 1e6)}`;
    return { name: `audit events (${stored} stored, PostgreSQL, limit 50, 1 client)`, figures };
  } finally {
    await client.end();
    await app.stop();
    await database.stop();
  }
}
