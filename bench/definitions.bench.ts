import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { formatDiagnostics, loadDefinitions, memorySourceHost } from '../src/definitions/index.js';

const TARGET_BYTES = 1_000_000;
const WARMUP_RUNS = 3;
const RUNS = 9;
const TARGET_MS = 200;

/** One "unit" of definitions: a prompt, two skills, two agents and a three-step pipeline. */
function unit(i: number): string {
  return `
# unit ${i}
prompt "prompt-${i}" {
  description "System prompt number ${i}"
  content "You are assistant ${i} of {{company}}. Answer in {{language}}.
Keep answers short and cite the tools you used."
  variables {
    company string required default "Acme"
    language string default "English"
  }
}

skill "search-${i}" {
  description "Search the index of team ${i}"
  input {
    query string required
    limit int
  }
  output { results string }
  tool http {
    method "POST"
    url "https://search.example.com/teams/${i}/query"
    headers { Accept "application/json" }
    body_template "{\\"q\\": \\"{{query}}\\"}"
    timeout "10s"
  }
}

skill "count-${i}" {
  input { text string required }
  tool command { binary "wc" args ["-w"] timeout "2s" env { LC_ALL "C" } }
}

agent "agent-${i}" {
  uses prompt "prompt-${i}"
  uses skill "search-${i}"
  uses skill "count-${i}"
  models ["mock/echo", "mock/backup"]
  strategy "react"
  max_turns 8
  token_budget 20000
  temperature 0.3
  timeout "30s"
  on_error "fallback"
  fallback "helper-${i}"
  memory { strategy "sliding" max_messages 40 }
  metadata { team "team-${i}" }
}

agent "helper-${i}" {
  uses prompt "prompt-${i}"
  model "mock/echo"
}

pipeline "flow-${i}" {
  step "a" { agent "agent-${i}" parallel true }
  step "b" { agent "helper-${i}" parallel true }
  step "c" { agent "agent-${i}" depends_on ["a", "b"] input "{{steps.a.output}} {{steps.b.output}}" }
}
`;
}

export function generateDefinitions(targetBytes = TARGET_BYTES): { text: string; units: number } {
  const parts = ['package "bench" version "1.0.0" lang "2.0"\n', 'deploy "local" target "process" { port 8080 default true }\n'];
  let size = parts[0].length + parts[1].length;
  let units = 0;
  while (size < targetBytes) {
    const u = unit(units++);
    parts.push(u);
    size += u.length;
  }
  return { text: parts.join(''), units };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const round = (n: number): number => Math.round(n * 10) / 10;

/**
 * Loads a generated ~1 MB definitions set (lexing, parsing, validation and lowering, from an
 * in-memory file) several times and reports the median, plus the first (cold) run.
 */
export async function benchDefinitions(): Promise<{ name: string; figures: Record<string, number | string> }> {
  const { text, units } = generateDefinitions();
  const host = memorySourceHost({ '/bench/definitions.ias': text });
  const load = () => loadDefinitions('/bench/definitions.ias', { host, cwd: '/bench' });

  const coldStart = performance.now();
  const first = await load();
  const coldMs = performance.now() - coldStart;
  if (!first.ok) throw new Error(`generated definitions do not load:\n${formatDiagnostics(first.diagnostics.slice(0, 5))}`);
  // The first runs also compile the loader's code; the median is over the runs after them.
  for (let i = 1; i < WARMUP_RUNS; i++) await load();
  const times: number[] = [];
  const cpuTimes: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const cpu = process.cpuUsage();
    const started = performance.now();
    await load();
    times.push(performance.now() - started);
    const used = process.cpuUsage(cpu);
    cpuTimes.push((used.user + used.system) / 1000);
  }
  const med = median(times);
  return {
    name: 'definitions: parse + validate + lower 1 MB of .ias',
    figures: {
      bytes: Buffer.byteLength(text),
      agents: first.definitions.agents.length,
      prompts: first.definitions.prompts.length,
      skills: first.definitions.skills.length,
      pipelines: first.definitions.pipelines.length,
      units,
      runs: RUNS,
      first_run_ms: round(coldMs),
      median_ms: round(med),
      min_ms: round(Math.min(...times)),
      max_ms: round(Math.max(...times)),
      // CPU time of the process (garbage collection threads included): steadier than wall
      // time when other work shares the machine.
      median_cpu_ms: round(median(cpuTimes)),
      target_ms: TARGET_MS,
      within_target: med < TARGET_MS ? 'yes' : 'no',
    },
  };
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (invokedDirectly) {
  benchDefinitions().then(
    (r) => process.stdout.write(`${JSON.stringify(r, null, 2)}\n`),
    (e: unknown) => {
      process.stderr.write(`${String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
