import { TerminusModule } from '@nestjs/terminus';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { UnavailableError } from '../../src/common/errors/domain-errors.js';
import { DatabaseHealthIndicator } from '../../src/health/database.health.js';
import { HealthController } from '../../src/health/health.controller.js';
import { AUTH, expectError, startSlice, type Slice } from './slice.js';
import { strictFake } from './strict-fake.js';

const database = strictFake<DatabaseHealthIndicator>('DatabaseHealthIndicator')('check');

type CheckResult = Awaited<ReturnType<DatabaseHealthIndicator['check']>>;
const up = (): CheckResult => ({ database: { status: 'up' } });
const down = (message: string): CheckResult => ({ database: { status: 'down', message } });

describe('HealthController slice', () => {
  let slice: Slice;

  beforeAll(async () => {
    // Metrics behind auth too: health must stay public whatever that setting says.
    slice = await startSlice({
      imports: [TerminusModule.forRoot({ logger: false })],
      controllers: [HealthController],
      providers: [{ provide: DatabaseHealthIndicator, useValue: database.instance }],
      env: { AGENTSPEC_METRICS_AUTH: 'true' },
    });
  });
  afterAll(() => slice?.close());
  afterEach(() => {
    try {
      database.verify();
    } finally {
      database.reset();
    }
  });

  describe.each(['/healthz', '/readyz'])('GET %s', (path) => {
    it('answers ok without credentials, checking the database with a bounded timeout', async () => {
      database.on('check', async () => up());

      const response = await slice.http().get(path);

      expect(response.status).toBe(200);
      expect(response.headers['cache-control']).toBe('no-store');
      expect(response.body).toEqual({ status: 'ok', version: slice.config.version, uptime_seconds: expect.any(Number), checks: { database: 'ok' } });
      expect(database.callsTo('check').map((call) => call.args)).toEqual([['database', 1_000]]);
    });

    it('is public: a wrong key is not even looked at', async () => {
      database.on('check', async () => up());

      expect((await slice.http().get(path).set('X-API-Key', 'not-the-key-at-all')).status).toBe(200);
    });

    it('answers 503 degraded while the database is down', async () => {
      database.on('check', async () => down('no answer within 1000 ms'));

      const response = await slice.http().get(path);

      expect(response.status).toBe(503);
      expect(response.body).toEqual({ status: 'degraded', version: slice.config.version, uptime_seconds: expect.any(Number), checks: { database: 'unavailable' } });
    });

    it('answers 503 degraded when the check itself fails', async () => {
      database.on('check', async () => {
        throw new UnavailableError();
      });

      const response = await slice.http().get(path);

      expect(response.status).toBe(503);
      expect(response.body.checks).toEqual({ database: 'unavailable' });
    });

    it('takes no input: an unsupported method is answered 405 with Allow', async () => {
      const response = await slice.http().post(path).send({});

      expectError(response, 405, 'method_not_allowed');
      expect(response.headers.allow).toBe('GET, HEAD');
      expect(database.calls).toEqual([]);
    });
  });

  describe('GET /livez', () => {
    it('answers without credentials and without touching the database', async () => {
      const response = await slice.http().get('/livez');

      expect(response.status).toBe(200);
      expect(response.body).toEqual({ status: 'ok', version: slice.config.version, uptime_seconds: expect.any(Number) });
      expect(Number.isInteger(response.body.uptime_seconds)).toBe(true);
      expect(database.calls).toEqual([]);
    });

    it('takes no input: an unsupported method is answered 405 with Allow', async () => {
      const response = await slice.http().delete('/livez').set(AUTH);

      expectError(response, 405, 'method_not_allowed');
      expect(response.headers.allow).toBe('GET, HEAD');
    });
  });
});
