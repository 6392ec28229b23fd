import { benchAudit } from './audit.bench.js';
import { benchDefinitions } from './definitions.bench.js';
import { benchGrowth } from './growth.bench.js';
import { benchInvoke, benchMemory, benchStreams } from './invoke.bench.js';
import { benchPipelines } from './pipelines.bench.js';
import { benchSessions } from './sessions.bench.js';
import { printFigures, type Figures } from './support.js';

/**
 * `npm run bench [-- scenario ...]`. Scenarios: definitions, invoke, streams, memory, sessions, pipelines, growth, audit (all by
 * default). Databases: BENCH_DATABASE_URL / DATABASE_URL, else an embedded PostgreSQL.
 */
const SCENARIOS: Record<string, () => Promise<Figures>> = {
  definitions: benchDefinitions,
  invoke: benchInvoke,
  streams: benchStreams,
  memory: benchMemory,
  sessions: benchSessions,
  pipelines: benchPipelines,
  growth: benchGrowth,
  audit: benchAudit,
};

async function main(): Promise<void> {
  const requested = process.argv.slice(2);
  const names = requested.length > 0 ? requested : Object.keys(SCENARIOS);
  for (const name of names) {
    const scenario = SCENARIOS[name];
    if (!scenario) {
      process.stderr.write(`unknown scenario "${name}"; choose from ${Object.keys(SCENARIOS).join(', ')}\n`);
      process.exit(2);
    }
    printFigures(await scenario());
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
