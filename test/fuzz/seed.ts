/**
 * The fuzz suite's seed and size: `FUZZ_SEED` replays a run, otherwise a random seed is drawn and
 * printed; `FUZZ_RUNS` scales the number of generated requests.
 */
export const SEED = process.env.FUZZ_SEED ? Number.parseInt(process.env.FUZZ_SEED, 10) : (Math.random() * 2 ** 31) | 0;
export const RUNS = process.env.FUZZ_RUNS ? Number.parseInt(process.env.FUZZ_RUNS, 10) : 1_000;

if (!Number.isSafeInteger(SEED)) throw new Error(`FUZZ_SEED must be an integer, not '${process.env.FUZZ_SEED}'`);
if (!Number.isSafeInteger(RUNS) || RUNS < 1) throw new Error(`FUZZ_RUNS must be a positive integer, not '${process.env.FUZZ_RUNS}'`);

export const REPLAY = `FUZZ_SEED=${SEED} npm run test:fuzz`;
