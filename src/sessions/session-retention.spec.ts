import type { Logger } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SessionRetention, type SessionRetentionOptions } from './session-retention.js';
import type { SessionsRepository } from './sessions.repository.js';

function fakeLogger() {
  return { info: vi.fn(), warn: vi.fn(), error: vi.fn() };
}

function retentionWith(purgeExpired: SessionsRepository['purgeExpired'], options: SessionRetentionOptions) {
  const logger = fakeLogger();
  const repository = { purgeExpired: vi.fn(purgeExpired) };
  const retention = new SessionRetention(repository as unknown as SessionsRepository, options, logger as unknown as Logger);
  return { retention, repository, logger };
}

describe('SessionRetention', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('never purges when no retention is configured', async () => {
    const { retention, repository } = retentionWith(async () => 3, { intervalMs: 1_000, initialDelayMs: 10 });
    retention.onModuleInit();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(await retention.runOnce()).toBe(0);
    expect(repository.purgeExpired).not.toHaveBeenCalled();
  });

  it('purges after the initial delay, then every interval, with the configured retention and batch size', async () => {
    const { retention, repository, logger } = retentionWith(async () => 2, {
      retentionMs: 90 * 86_400_000,
      intervalMs: 1_000,
      initialDelayMs: 100,
      batchSize: 25,
    });
    retention.onModuleInit();
    await vi.advanceTimersByTimeAsync(99);
    expect(repository.purgeExpired).toHaveBeenCalledTimes(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(repository.purgeExpired).toHaveBeenCalledTimes(1);
    expect(repository.purgeExpired).toHaveBeenCalledWith(90 * 86_400_000, 25, { signal: expect.any(AbortSignal) });
    await vi.advanceTimersByTimeAsync(2_000);
    expect(repository.purgeExpired).toHaveBeenCalledTimes(3);
    expect(logger.info).toHaveBeenCalledWith(expect.objectContaining({ purged: 2 }), 'purged expired sessions');
    await retention.onModuleDestroy();
  });

  it('does not start a second purge while one is running', async () => {
    let finish!: (purged: number) => void;
    const { retention, repository } = retentionWith(() => new Promise<number>((resolve) => (finish = resolve)), {
      retentionMs: 1_000,
    });
    const first = retention.runOnce();
    const second = retention.runOnce();
    expect(repository.purgeExpired).toHaveBeenCalledTimes(1);
    finish(4);
    expect(await first).toBe(4);
    expect(await second).toBe(4);
  });

  it('logs a failed purge as a warning when the database is down, and tries again at the next interval', async () => {
    const outage = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    const purge = vi.fn<SessionsRepository['purgeExpired']>().mockRejectedValueOnce(outage).mockResolvedValue(1);
    const { retention, repository, logger } = retentionWith(purge, { retentionMs: 1_000, intervalMs: 500, initialDelayMs: 0 });
    retention.onModuleInit();
    await vi.advanceTimersByTimeAsync(0);
    expect(logger.warn).toHaveBeenCalledWith({ err_message: outage.message }, 'session purge skipped: database unavailable');
    expect(logger.error).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(500);
    expect(repository.purgeExpired).toHaveBeenCalledTimes(2);
    await retention.onModuleDestroy();
  });

  it('logs other failures as errors', async () => {
    const { retention, logger } = retentionWith(async () => {
      throw new Error('relation "sessions" does not exist');
    }, { retentionMs: 1_000 });
    expect(await retention.runOnce()).toBe(0);
    expect(logger.error).toHaveBeenCalledWith({ err_message: 'relation "sessions" does not exist' }, 'session purge failed');
  });

  it('stops on shutdown: aborts the running purge, waits for it, and schedules nothing more', async () => {
    let signal: AbortSignal | undefined;
    let finish!: () => void;
    const { retention, repository } = retentionWith(
      (_retention, _batch, options) => {
        signal = options?.signal;
        return new Promise<number>((resolve) => (finish = () => resolve(0)));
      },
      { retentionMs: 1_000, intervalMs: 100, initialDelayMs: 0 },
    );
    retention.onModuleInit();
    await vi.advanceTimersByTimeAsync(0);
    expect(repository.purgeExpired).toHaveBeenCalledTimes(1);

    let stopped = false;
    const destroy = retention.onModuleDestroy().then(() => (stopped = true));
    expect(signal?.aborted).toBe(true);
    await vi.advanceTimersByTimeAsync(0);
    expect(stopped).toBe(false);
    finish();
    await destroy;
    await vi.advanceTimersByTimeAsync(1_000);
    expect(repository.purgeExpired).toHaveBeenCalledTimes(1);
  });
});
