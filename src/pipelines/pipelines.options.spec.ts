import { describe, expect, it } from 'vitest';
import { resolvePipelinesOptions } from './pipelines.options.js';

describe('pipelines options', () => {
  it('keeps the takeover bounded: the heartbeat must beat at least twice per stale period', () => {
    expect(resolvePipelinesOptions({}).staleAfterMs).toBeLessThan(30_000);
    expect(() => resolvePipelinesOptions({ staleAfterMs: 1_000, heartbeatIntervalMs: 600 })).toThrow(/at most half/);
    expect(resolvePipelinesOptions({ staleAfterMs: 900 }).heartbeatIntervalMs).toBe(300);
    expect(() => resolvePipelinesOptions({ workerConcurrency: 0 })).toThrow(/workerConcurrency/);
  });
});
