import http from 'node:http';
import autocannon from 'autocannon';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import {
  benchDatabase,
  freePort,
  gcProbeArgs,
  retainedMemory,
  rssBytes,
  startScript,
  startServer,
  type Figures,
  type ServerProcess,
} from './support.js';

const API_KEY = 'bench-key-0123456789abcdef';
const BODY = JSON.stringify({ input: 'hello from the benchmark' });

/** The limit: node:http reading the body and answering the same JSON. */
const HTTP_FLOOR = `
import http from 'node:http';
http.createServer((req, res) => {
  if (req.method === 'GET') { res.setHeader('content-type', 'application/json'); return res.end('{"ok":true}'); }
  let text = '';
  req.on('data', (chunk) => (text += chunk));
  req.on('end', () => { const body = JSON.parse(text); res.setHeader('content-type', 'application/json'); res.end(JSON.stringify({ output: 'Echo: ' + body.input, usage: { input_tokens: 7, output_tokens: 5, total_tokens: 12 } })); });
}).listen(Number(process.env.PORT), '127.0.0.1');
`;

interface LoadResult {
  requestsPerSecond: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
}

function load(url: string, options: { connections: number; durationS?: number; amount?: number; headers?: Record<string, string> }): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url: `${url}/v1/agents/bench-echo/invoke`,
        method: 'POST',
        body: BODY,
        headers: { 'content-type': 'application/json', ...options.headers },
        connections: options.connections,
        // autocannon refuses an explicit undefined duration next to amount.
        ...(options.amount !== undefined ? { amount: options.amount } : { duration: options.durationS }),
      },
      (error, result) => {
        if (error) return reject(error);
        resolve({
          requestsPerSecond: Math.round(result.requests.average),
          p50: result.latency.p50,
          p99: result.latency.p99,
          errors: result.errors,
          non2xx: result.non2xx,
        });
      },
    );
  });
}

async function measure(url: string, headers?: Record<string, string>): Promise<LoadResult> {
  const durationS = Number(process.env.BENCH_DURATION ?? 10);
  await load(url, { connections: 50, durationS: 2, headers });
  return load(url, { connections: 50, durationS, headers });
}

export async function benchInvoke(): Promise<Figures> {
  const database = await benchDatabase();
  const servers: ServerProcess[] = [];
  try {
    const express = await startScript({ file: 'dist/bench/express-floor.js' }, await freePort());
    servers.push(express);
    const bare = await startScript(HTTP_FLOOR, await freePort());
    servers.push(bare);
    const nest = await startScript({ file: 'dist/bench/nest-floor.js' }, await freePort());
    servers.push(nest);
    const app = await startServer({ DATABASE_URL: database.url, AGENTSPEC_API_KEY: API_KEY, AGENTSPEC_DEFINITIONS: 'bench/fixtures/bench.ias' });
    servers.push(app);
    // Side by side, one after the other on the same machine, each after its own warm-up.
    const expressResult = await measure(express.url);
    const bareResult = await measure(bare.url);
    const nestResult = await measure(nest.url);
    const appResult = await measure(app.url, { 'X-API-Key': API_KEY });
    return {
      name: 'invoke (mock model, 50 connections; app with auth, validation, metrics, logs, correlation, audit row)',
      figures: {
        'app requests/s': appResult.requestsPerSecond,
        'app latency p50 / p99 (ms)': `${appResult.p50} / ${appResult.p99}`,
        'app errors / non-2xx': `${appResult.errors} / ${appResult.non2xx}`,
        'minimal Express requests/s': expressResult.requestsPerSecond,
        'minimal Express p50 / p99 (ms)': `${expressResult.p50} / ${expressResult.p99}`,
        'bare Nest (same JSON, nothing of ours) req/s': nestResult.requestsPerSecond,
        'bare Nest p50 / p99 (ms)': `${nestResult.p50} / ${nestResult.p99}`,
        'bare node:http requests/s': bareResult.requestsPerSecond,
        'bare node:http p50 / p99 (ms)': `${bareResult.p50} / ${bareResult.p99}`,
        // Issue 16 withdrew the 70 % target; the invoke target is instructions per request (bench/instructions.sh).
        'app / Express': `${Math.round((100 * appResult.requestsPerSecond) / expressResult.requestsPerSecond)} %`,
        'bare Nest / Express': `${Math.round((100 * nestResult.requestsPerSecond) / expressResult.requestsPerSecond)} %`,
        'app / node:http': `${Math.round((100 * appResult.requestsPerSecond) / bareResult.requestsPerSecond)} %`,
      },
    };
  } finally {
    for (const server of servers) await server.stop();
    await database.stop();
  }
}

/** 1,000 streams held open at once against the slow mock model; memory per open stream. */
export async function benchStreams(): Promise<Figures> {
  const database = await benchDatabase();
  const app = await startServer({
    DATABASE_URL: database.url,
    AGENTSPEC_DEFINITIONS: 'bench/fixtures/bench.ias',
    AGENTSPEC_API_KEY: API_KEY,
  });
  const count = Number(process.env.BENCH_STREAMS ?? 1000);
  try {
    await load(app.url, { connections: 20, amount: 2_000, headers: { 'X-API-Key': API_KEY } });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const baseline = await rssBytes(app.child.pid!);
    let peak = baseline;
    const sampler = setInterval(() => void rssBytes(app.child.pid!).then((rss) => (peak = Math.max(peak, rss))), 100);
    const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
    const started = performance.now();
    const input = JSON.stringify({ input: 'one two three four five six seven eight' });
    const outcomes = await Promise.all(
      Array.from({ length: count }, () => openStream(`${app.url}/v1/agents/bench-slow-stream/stream`, input, agent)),
    );
    clearInterval(sampler);
    const completed = outcomes.filter((outcome) => outcome === 'done').length;
    return {
      name: `streams (${count} concurrent SSE streams, mock model at 250 ms per token)`,
      figures: {
        'streams completed with done': `${completed} / ${count}`,
        'wall time (s)': ((performance.now() - started) / 1000).toFixed(1),
        'server RSS before (MB)': (baseline / 1e6).toFixed(1),
        'server RSS peak (MB)': (peak / 1e6).toFixed(1),
        'RSS per open stream (KB, target ≤ 64)': ((peak - baseline) / count / 1024).toFixed(1),
      },
    };
  } finally {
    await app.stop();
    await database.stop();
  }
}

function openStream(url: string, body: string, agent: http.Agent): Promise<'done' | 'failed'> {
  return new Promise((resolve) => {
    const request = http.request(
      url,
      { method: 'POST', agent, headers: { 'content-type': 'application/json', 'X-API-Key': API_KEY } },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => resolve(text.includes('"type":"done"') ? 'done' : 'failed'));
        response.on('error', () => resolve('failed'));
      },
    );
    request.on('error', () => resolve('failed'));
    request.end(body);
  });
}

/**
 * Memory after 100,000 invokes compared with after a warm-up. V8 leaves garbage in the heap
 * until its next full collection (under this load the old generation swings between about 55
 * and 230 MB), so a resident size read at a random moment says more about that sawtooth than
 * about what the server keeps. The target is judged on retained memory: resident size after
 * two forced full collections (bench/gc-probe.ts). The sawtooth is reported beside it.
 */
export async function benchMemory(): Promise<Figures> {
  const database = await benchDatabase();
  const probeFile = join(await mkdtemp(join(tmpdir(), 'agentspec-bench-gc-')), 'memory.json');
  const app = await startServer(
    { DATABASE_URL: database.url, AGENTSPEC_DEFINITIONS: 'bench/fixtures/bench.ias', AGENTSPEC_API_KEY: API_KEY, BENCH_GC_PROBE_FILE: probeFile },
    gcProbeArgs(),
  );
  const total = Number(process.env.BENCH_REQUESTS ?? 100_000);
  const mb = (bytes: number) => (bytes / 1e6).toFixed(1);
  try {
    const headers = { 'X-API-Key': API_KEY };
    await load(app.url, { connections: 50, amount: 5_000, headers });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const before = await retainedMemory(app, probeFile);
    // In quarters, so a steady climb (a leak) can be told from a heap that settles.
    const raw: number[] = [];
    const retained: number[] = [];
    let errors = 0;
    let non2xx = 0;
    for (let quarter = 0; quarter < 4; quarter++) {
      const result = await load(app.url, { connections: 50, amount: Math.round(total / 4), headers });
      errors += result.errors;
      non2xx += result.non2xx;
      raw.push(await rssBytes(app.child.pid!));
      retained.push((await retainedMemory(app, probeFile)).rss);
    }
    const after = await retainedMemory(app, probeFile);
    return {
      name: `memory (${total} invokes after a 5,000-request warm-up)`,
      figures: {
        'retained RSS after warm-up (MB)': mb(before.rss),
        [`retained RSS after ${total} requests (MB)`]: mb(after.rss),
        'retained growth (MB, target ≤ 30)': mb(after.rss - before.rss),
        'heap used after full GC, before / after (MB)': `${mb(before.heapUsed)} / ${mb(after.heapUsed)}`,
        'retained RSS after each quarter (MB)': retained.map(mb).join(' / '),
        'RSS under load, before GC, each quarter (MB)': raw.map(mb).join(' / '),
        'errors / non-2xx': `${errors} / ${non2xx}`,
      },
    };
  } finally {
    await app.stop();
    await database.stop();
    await rm(dirname(probeFile), { recursive: true, force: true });
  }
}
