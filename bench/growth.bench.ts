import http from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { formatDiagnostics, loadDefinitions, memorySourceHost } from '../src/definitions/index.js';
import { generateDefinitions } from './definitions.bench.js';
import { benchDatabase, gcProbeArgs, retainedMemory, startServer, type Figures, type ServerProcess } from './support.js';

const API_KEY = 'bench-key-0123456789abcdef';
const HEADERS = { 'content-type': 'application/json', 'X-API-Key': API_KEY };

/**
 * How costs grow with size (issue 16): continue latency against the length of a session's
 * history, pipeline run time against its number of steps (a chain and a fan-out), definitions
 * load time against their size, memory per idle session, and streams held per GB. Each row
 * gives the measured points and the growth they show: the exponent k of cost ∝ size^k between
 * the two largest points (flat below 0.3, linear up to 1.3, worse above).
 *
 * The largest sizes are configurable, to keep a run to a few minutes on a small machine:
 * BENCH_GROWTH_HISTORY (messages, default 10,000), BENCH_GROWTH_STEPS (default 100),
 * BENCH_GROWTH_DEFINITIONS_MB (default 10), BENCH_GROWTH_SESSIONS (idle sessions, default
 * 2,000), BENCH_GROWTH_STREAMS (default 1,000).
 */
export async function benchGrowth(): Promise<Figures> {
  const rows: GrowthRow[] = [];
  rows.push(...(await definitionsGrowth()));
  const database = await benchDatabase();
  const work = await mkdtemp(join(tmpdir(), 'agentspec-bench-growth-'));
  try {
    const definitions = join(work, 'growth.ias');
    await writeFile(definitions, growthDefinitions(Number(process.env.BENCH_GROWTH_STEPS ?? 100)));
    const probeFile = join(work, 'memory.json');
    const env = { DATABASE_URL: database.url, AGENTSPEC_API_KEY: API_KEY, AGENTSPEC_DEFINITIONS: definitions, BENCH_GC_PROBE_FILE: probeFile };
    const app = await startServer(env, gcProbeArgs());
    try {
      rows.push(await continueGrowth(app));
      rows.push(...(await pipelineGrowth(app)));
      rows.push(await idleSessionMemory(app, probeFile));
      rows.push(await streamsPerGigabyte(app, probeFile));
    } finally {
      await app.stop();
    }
  } finally {
    await database.stop();
    await rm(work, { recursive: true, force: true });
  }
  return {
    name: 'growth (cost against size; k: cost ∝ size^k between the two largest sizes)',
    figures: Object.fromEntries(rows.map((row) => [row.what, `${row.points.join(' | ')}  → ${row.growth}`])),
    markdown: markdownTable(rows),
  };
}

interface GrowthRow {
  what: string;
  /** The measured points, as printed: `size: value`. */
  points: string[];
  growth: string;
}

/** The exponent between the two largest points, and what it means. */
function growthOf(sizes: number[], values: number[]): string {
  const n = sizes.length;
  const k = Math.log(Math.max(values[n - 1], 1e-9) / Math.max(values[n - 2], 1e-9)) / Math.log(sizes[n - 1] / sizes[n - 2]);
  const kind = k < 0.3 ? 'flat' : k <= 1.3 ? 'linear' : 'worse than linear';
  return `${kind} (k = ${k.toFixed(2)})`;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const ms = (value: number) => (value < 10 ? value.toFixed(2) : value.toFixed(0));

/** Parse, validate and lower generated definitions of 0.1, 1 and 10 MB, in memory. */
async function definitionsGrowth(): Promise<GrowthRow[]> {
  const largest = Number(process.env.BENCH_GROWTH_DEFINITIONS_MB ?? 10);
  const megabytes = [largest / 100, largest / 10, largest];
  const times: number[] = [];
  // The loader's code compiled first, so that the smallest size is not timed cold.
  const warm = generateDefinitions(megabytes[1] * 1_000_000).text;
  for (let i = 0; i < 3; i++) await loadDefinitions('/bench/definitions.ias', { host: memorySourceHost({ '/bench/definitions.ias': warm }), cwd: '/bench' });
  for (const size of megabytes) {
    const { text } = generateDefinitions(size * 1_000_000);
    const host = memorySourceHost({ '/bench/definitions.ias': text });
    const load = () => loadDefinitions('/bench/definitions.ias', { host, cwd: '/bench' });
    const first = await load();
    if (!first.ok) throw new Error(`generated definitions do not load:\n${formatDiagnostics(first.diagnostics.slice(0, 5))}`);
    const runs = size >= 5 ? 2 : 5;
    const measured: number[] = [];
    for (let i = 0; i < runs; i++) {
      const started = performance.now();
      await load();
      measured.push(performance.now() - started);
    }
    times.push(median(measured));
  }
  return [
    {
      what: 'definitions load time (parse, validate, lower)',
      points: megabytes.map((size, index) => `${size} MB: ${ms(times[index])} ms`),
      growth: growthOf(megabytes, times),
    },
  ];
}

/** The bench agent, and pipelines of 1, 10 and `steps` steps: chains, and fan-outs joined by nothing. */
function growthDefinitions(steps: number): string {
  const sizes = [1, Math.max(2, Math.round(steps / 10)), steps];
  const parts = [
    'package "growth" version "1.0.0" lang "2.0"',
    'prompt "growth-system" { content "You answer briefly." }',
    'agent "growth-echo" { uses prompt "growth-system" model "mock/echo" }',
    'agent "growth-stream" { uses prompt "growth-system" model "mock/echo?token_delay=250ms" }',
  ];
  for (const size of sizes) {
    const chain = Array.from({ length: size }, (_, i) => `  step "s${i}" { agent "growth-echo"${i > 0 ? ` depends_on "s${i - 1}"` : ''} }`);
    parts.push(`pipeline "chain-${size}" {\n${chain.join('\n')}\n}`);
    const fan = Array.from({ length: size }, (_, i) => `  step "s${i}" { agent "growth-echo" parallel true }`);
    parts.push(`pipeline "fan-${size}" {\n${fan.join('\n')}\n}`);
  }
  return `${parts.join('\n\n')}\n`;
}

async function post(url: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url, { method: 'POST', headers: HEADERS, body: JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/**
 * Continue latency (one client, turns one after another) on sessions whose history holds 2,
 * 100 and 10,000 messages, the history written through the API, two messages per turn.
 */
async function continueGrowth(app: ServerProcess): Promise<GrowthRow> {
  const largest = Number(process.env.BENCH_GROWTH_HISTORY ?? 10_000);
  const messages = [2, Math.max(4, Math.round(largest / 100)), largest];
  const base = `${app.url}/v1/agents/growth-echo/sessions`;
  const latencies: number[] = [];
  for (const size of [20, ...messages]) {
    const created = await post(base, {});
    if (created.status !== 200 && created.status !== 201) throw new Error(`session create: HTTP ${created.status}`);
    const id = created.body.session_id as string;
    const turn = async () => {
      const answer = await post(`${base}/${id}/continue`, { input: 'one more turn' });
      if (answer.status !== 200) throw new Error(`continue: HTTP ${answer.status} ${JSON.stringify(answer.body)}`);
    };
    for (let i = 0; i < size / 2; i++) await turn();
    const measured: number[] = [];
    for (let i = 0; i < 50; i++) {
      const started = performance.now();
      await turn();
      measured.push(performance.now() - started);
    }
    latencies.push(median(measured));
  }
  latencies.shift(); // the warm-up session
  return {
    what: 'continue latency (median of 50 turns, 1 client)',
    points: messages.map((size, index) => `${size.toLocaleString('en')} messages: ${ms(latencies[index])} ms`),
    growth: growthOf(messages, latencies),
  };
}

/** Synchronous runs of chains and fan-outs of 1, 10 and 100 steps; median of three runs each, after one. */
async function pipelineGrowth(app: ServerProcess): Promise<GrowthRow[]> {
  const steps = Number(process.env.BENCH_GROWTH_STEPS ?? 100);
  const sizes = [1, Math.max(2, Math.round(steps / 10)), steps];
  const rows: GrowthRow[] = [];
  for (const shape of ['chain', 'fan'] as const) {
    const times: number[] = [];
    for (const size of sizes) {
      const measured: number[] = [];
      for (let i = 0; i < 4; i++) {
        const started = performance.now();
        const run = await post(`${app.url}/v1/pipelines/${shape}-${size}/run`, { input: 'go' });
        if (run.status !== 200 || run.body.status !== 'completed') throw new Error(`${shape}-${size}: HTTP ${run.status} ${JSON.stringify(run.body).slice(0, 300)}`);
        // The first run of each pipeline is a warm-up.
        if (i > 0) measured.push(performance.now() - started);
      }
      times.push(median(measured));
    }
    rows.push({
      what: shape === 'chain' ? 'pipeline run time, chain (each step after the previous)' : 'pipeline run time, fan-out (every step in parallel)',
      points: sizes.map((size, index) => `${size} steps: ${ms(times[index])} ms`),
      growth: growthOf(sizes, times),
    });
  }
  return rows;
}

/**
 * Retained memory of the process (V8 heap after full collections) as idle sessions are created:
 * after a first batch (which also compiles the route's code and fills its caches), then after
 * as many again, twice. Sessions live in PostgreSQL, so the heap should not follow them.
 */
async function idleSessionMemory(app: ServerProcess, probeFile: string): Promise<GrowthRow> {
  const count = Number(process.env.BENCH_GROWTH_SESSIONS ?? 2_000);
  const sizes = [count / 2, count, (count * 3) / 2];
  const retained: number[] = [];
  for (let created = 0, step = 0; step < sizes.length; step++) {
    for (; created < sizes[step]; created += 20) {
      await Promise.all(
        Array.from({ length: 20 }, async () => {
          const answer = await post(`${app.url}/v1/agents/growth-echo/sessions`, {});
          if (answer.status !== 200 && answer.status !== 201) throw new Error(`session create: HTTP ${answer.status}`);
        }),
      );
    }
    retained.push((await retainedMemory(app, probeFile)).heapUsed);
  }
  const perSession = (retained[2] - retained[0]) / (sizes[2] - sizes[0]);
  // Two readings of the heap differ by a few hundred kilobytes whatever is created in between.
  const noise = 500_000 / (sizes[2] - sizes[0]);
  return {
    what: 'memory per idle session (V8 heap after full collections)',
    points: sizes.map((size, index) => `${size.toLocaleString('en')} sessions: ${(retained[index] / 1e6).toFixed(1)} MB`),
    growth:
      Math.abs(perSession) <= noise
        ? `flat: ${perSession.toFixed(0)} bytes per session, within the heap's noise of ±${noise.toFixed(0)} (sessions live in PostgreSQL)`
        : `linear: ${perSession.toFixed(0)} bytes per session`,
  };
}

/**
 * Memory kept while streams are held open against the slow mock model (about 6 s each): the
 * process is asked for its memory after full collections once every stream has its headers,
 * and compared with the same reading before; streams per GB from the resident growth.
 */
async function streamsPerGigabyte(app: ServerProcess, probeFile: string): Promise<GrowthRow> {
  const largest = Number(process.env.BENCH_GROWTH_STREAMS ?? 1_000);
  const counts = [largest / 4, largest];
  const growth: number[] = [];
  const heap: number[] = [];
  // One batch first, not measured: the stream path's first compilations, and whatever the rows
  // before left to settle (idle pooled connections, sockets closing), would otherwise land in
  // the first reading and make the smaller count look cheaper per stream than it is.
  await holdStreams(app, counts[0], () => Promise.resolve());
  for (const count of counts) {
    const before = await retainedMemory(app, probeFile);
    const during = await holdStreams(app, count, () => retainedMemory(app, probeFile));
    growth.push(Math.max(during.rss - before.rss, 1));
    heap.push(during.heapUsed - before.heapUsed);
  }
  // Resident memory comes back from pages the process touched before, so it understates small
  // counts; the heap says how memory follows the number of streams, the larger of the two how much.
  const perStream = Math.max(growth[1], heap[1]) / counts[1];
  return {
    what: 'streams held open per GB (memory after full collections, all streams open)',
    points: counts.map(
      (count, index) => `${count} streams: +${(growth[index] / 1e6).toFixed(1)} MB resident, +${(heap[index] / 1e6).toFixed(1)} MB heap`,
    ),
    growth: `${growthOf(counts, heap)}; ${(perStream / 1024).toFixed(1)} KB per stream, ≈ ${Math.round(1e9 / perStream).toLocaleString('en')} streams per GB`,
  };
}

/** Opens `count` streams, calls `whileOpen` once every one has its headers, and waits until all end with `done`. */
async function holdStreams<T>(app: ServerProcess, count: number, whileOpen: () => Promise<T>): Promise<T> {
  const words = Array.from({ length: 24 }, (_, i) => `word${i}`).join(' ');
  const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
  try {
    let open = 0;
    let allOpen: () => void = () => undefined;
    const opened = new Promise<void>((resolve) => (allOpen = resolve));
    const streams = Array.from({ length: count }, () =>
      openStream(`${app.url}/v1/agents/growth-stream/stream`, JSON.stringify({ input: words }), agent, () => {
        if (++open === count) allOpen();
      }),
    );
    const failed = () => new Error(`streams: ${count - open} of ${count} failed before their headers`);
    // A stream refused before its headers never counts as open: stop waiting once all have ended.
    await Promise.race([opened, Promise.all(streams).then(() => (open === count ? undefined : Promise.reject(failed())))]);
    const result = await whileOpen();
    const done = await Promise.all(streams);
    if (done.some((ok) => !ok)) throw new Error(`streams: ${done.filter((ok) => !ok).length} of ${count} did not end with done`);
    return result;
  } finally {
    agent.destroy();
  }
}

function openStream(url: string, body: string, agent: http.Agent, onOpen: () => void): Promise<boolean> {
  return new Promise((resolve) => {
    const request = http.request(url, { method: 'POST', agent, headers: HEADERS }, (response) => {
      onOpen();
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => resolve(text.includes('"type":"done"')));
      response.on('error', () => resolve(false));
    });
    request.on('error', () => resolve(false));
    request.end(body);
  });
}

function markdownTable(rows: GrowthRow[]): string {
  const lines = ['| what grows | measured | growth |', '|---|---|---|'];
  for (const row of rows) lines.push(`| ${row.what} | ${row.points.join('; ')} | ${row.growth} |`);
  return lines.join('\n');
}
