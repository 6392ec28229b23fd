import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH, expectError, expectUnauthorized, startSlice, type Slice } from './slice.js';

// MetricsModule (part of every slice) brings the controller and the real registry: nothing to fake.
describe('MetricsController slice', () => {
  describe('by default (AGENTSPEC_METRICS_AUTH unset)', () => {
    let slice: Slice;
    beforeAll(async () => {
      slice = await startSlice({});
    });
    afterAll(() => slice?.close());

    it('serves Prometheus text without credentials', async () => {
      // One answered request, so the counter has a sample to show.
      await slice.http().get('/no-such-route');
      const response = await slice.http().get('/v1/metrics');

      expect(response.status).toBe(200);
      expect(response.headers['content-type']).toMatch(/^text\/plain/);
      expect(response.text).toMatch(/^# HELP agentspec_requests_total /m);
      expect(response.text).toMatch(/^agentspec_requests_total\{agent="none",endpoint="[^"]+",status="404"\} \d+$/m);
    });

    it('takes no input: an unsupported method is answered 405 with Allow', async () => {
      const response = await slice.http().post('/v1/metrics').send({});

      expectError(response, 405, 'method_not_allowed');
      expect(response.headers.allow).toBe('GET, HEAD');
    });
  });

  describe('with AGENTSPEC_METRICS_AUTH=true', () => {
    let slice: Slice;
    beforeAll(async () => {
      slice = await startSlice({ env: { AGENTSPEC_METRICS_AUTH: 'true' } });
    });
    afterAll(() => slice?.close());

    it('refuses a request without credentials', async () => {
      expectUnauthorized(await slice.http().get('/v1/metrics'));
    });

    it('serves the metrics to a caller with a key', async () => {
      const response = await slice.http().get('/v1/metrics').set(AUTH);

      expect(response.status).toBe(200);
      expect(response.text).toMatch(/^# TYPE agentspec_tokens_total counter$/m);
    });
  });
});
