import { writeFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * Benchmark-only preload (`node --import dist/bench/gc-probe.js`): on SIGUSR2 the server runs two
 * full garbage collections and writes its resident and heap memory to BENCH_GC_PROBE_FILE, so a
 * memory figure counts what the process keeps, not garbage V8 has not collected yet.
 */
setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc') as () => void;
const target = process.env.BENCH_GC_PROBE_FILE;

if (target) {
  process.on('SIGUSR2', () => {
    collect();
    collect();
    // Let freed pages go back before reading the resident size.
    setTimeout(() => {
      const memory = process.memoryUsage();
      writeFileSync(target, JSON.stringify({ rss: memory.rss, heapUsed: memory.heapUsed }));
    }, 200);
  });
}
