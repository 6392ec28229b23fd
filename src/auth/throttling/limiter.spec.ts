import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { exactSeconds, Limiter } from './limiter.js';
import { secondsUntil, windowMs } from './rate-limits.js';

const logger = pino({ level: 'silent' });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the window of rate:burst', () => {
  it.each([
    [{ ratePerSecond: 10, burst: 20 }, 2_000],
    [{ ratePerSecond: 3, burst: 5 }, 1_667],
    [{ ratePerSecond: 0.5, burst: 3 }, 6_000],
    [{ ratePerSecond: 1000, burst: 1 }, 1],
  ])('%j lasts %d ms', (limit, ms) => expect(windowMs(limit)).toBe(ms));

  it('is handed to rate-limiter-flexible as seconds that are whole milliseconds again', () => {
    for (let ms = 1; ms < 20_000; ms += 7) {
      const seconds = exactSeconds(ms);
      expect(Number.isInteger(seconds * 1000)).toBe(true);
      expect(seconds * 1000 - ms).toBeGreaterThanOrEqual(0);
      expect(seconds * 1000 - ms).toBeLessThanOrEqual(2);
    }
  });

  it('rounds waits up to whole seconds, at least one', () => {
    expect([secondsUntil(0), secondsUntil(1), secondsUntil(1000), secondsUntil(1001)]).toEqual([1, 1, 1, 2]);
  });
});

describe('Limiter (memory)', () => {
  it('admits `points` per window, then refuses until the window ends', async () => {
    const limiter = new Limiter({ name: 't', points: 2, windowMs: 300, store: 'memory', logger });
    const first = await limiter.consume('k');
    expect(first).toEqual({ allowed: true, limit: 2, remaining: 1, msBeforeReset: 300 });
    expect((await limiter.consume('k')).remaining).toBe(0);
    const refused = await limiter.consume('k');
    expect(refused).toMatchObject({ allowed: false, remaining: 0 });
    expect(refused.msBeforeReset).toBeGreaterThan(200);
    expect((await limiter.consume('other')).allowed).toBe(true);
    await sleep(320);
    expect(await limiter.consume('k')).toMatchObject({ allowed: true, remaining: 1 });
  });

  it('blocks for blockMs once over the limit, and says for how long', async () => {
    const limiter = new Limiter({ name: 't', points: 1, windowMs: 100, blockMs: 400, store: 'memory', logger });
    expect(await limiter.blockedForMs('k')).toBe(0);
    await limiter.consume('k');
    expect(await limiter.blockedForMs('k')).toBe(0);
    const over = await limiter.consume('k');
    expect(over.allowed).toBe(false);
    expect(over.msBeforeReset).toBe(400);
    await sleep(150);
    const left = await limiter.blockedForMs('k');
    expect(left).toBeGreaterThan(150);
    expect(left).toBeLessThanOrEqual(250);
    await sleep(left + 20);
    expect(await limiter.blockedForMs('k')).toBe(0);
  });
});
