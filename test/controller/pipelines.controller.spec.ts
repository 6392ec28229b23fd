import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ForbiddenError, NotFoundError, UnavailableError } from '../../src/common/errors/domain-errors.js';
import type { AcceptedRunDto, RunDocumentDto, RunStatusDto } from '../../src/pipelines/dto/pipeline.dto.js';
import { PipelinesController } from '../../src/pipelines/pipelines.controller.js';
import { PipelinesService } from '../../src/pipelines/pipelines.service.js';
import { AUTH, expectError, expectUnauthorized, KEY_PRINCIPAL, startSlice, type Slice, USER_AUTH, USER_PRINCIPAL } from './slice.js';
import { strictFake } from './strict-fake.js';

const pipelines = strictFake<PipelinesService>('PipelinesService')('list', 'runSync', 'runAsync', 'status', 'listRuns', 'cancel');

const RUN_ID = 'run_01JD2X3Y4Z5A6B7C8D9E0F1G2H';
const STARTED_AT = '2030-01-01T00:00:00.000Z';
const usage = () => ({ input_tokens: 4, output_tokens: 6, total_tokens: 10 });

function runDocument(overrides: Partial<RunDocumentDto> = {}): RunDocumentDto {
  return {
    pipeline: 'research',
    run_id: RUN_ID,
    status: 'completed',
    steps: [{ name: 'draft', agent: 'writer', status: 'completed', output: 'Echo: topic', usage: usage(), duration_ms: 5 }],
    output: 'Echo: topic',
    total_duration_ms: 9,
    usage: usage(),
    ...overrides,
  };
}

function runStatus(overrides: Partial<RunStatusDto> = {}): RunStatusDto {
  return {
    pipeline: 'research',
    run_id: RUN_ID,
    status: 'running',
    steps: [{ name: 'draft', status: 'running', duration_ms: null }],
    started_at: STARTED_AT,
    elapsed_ms: 120,
    ...overrides,
  };
}

describe('PipelinesController slice', () => {
  let slice: Slice;

  beforeAll(async () => {
    slice = await startSlice({
      controllers: [PipelinesController],
      providers: [{ provide: PipelinesService, useValue: pipelines.instance }],
    });
  });
  afterAll(() => slice?.close());
  afterEach(() => {
    try {
      pipelines.verify();
    } finally {
      pipelines.reset();
    }
  });

  describe('GET /v1/pipelines', () => {
    it('lists what the service returns', async () => {
      const list = { pipelines: [{ name: 'research', steps: [{ name: 'draft', agent: 'writer', depends_on: [] }] }] };
      pipelines.on('list', () => list);

      const response = await slice.http().get('/v1/pipelines').set(AUTH);

      expect(response.status).toBe(200);
      expect(response.body).toEqual(list);
      expect(pipelines.callsTo('list')[0].args).toEqual([KEY_PRINCIPAL]);
    });

    it('takes no input: an unsupported method is answered 405 with Allow', async () => {
      const response = await slice.http().put('/v1/pipelines').set(AUTH).send({});

      expectError(response, 405, 'method_not_allowed');
      expect(response.headers.allow).toBe('GET, HEAD');
      expect(pipelines.calls).toEqual([]);
    });

    it('refuses a request without credentials', async () => {
      expectUnauthorized(await slice.http().get('/v1/pipelines'));
      expect(pipelines.calls).toEqual([]);
    });

    it('answers 503 with Retry-After when the service reports the database down', async () => {
      pipelines.on('list', () => {
        throw new UnavailableError();
      });

      const response = await slice.http().get('/v1/pipelines').set(AUTH);

      expectError(response, 503, 'unavailable');
      expect(response.headers['retry-after']).toBe('5');
    });
  });

  describe('POST /v1/pipelines/:name/run', () => {
    it('runs synchronously by default: 200 with the run document, as the caller', async () => {
      pipelines.on('runSync', async () => runDocument());

      const response = await slice
        .http()
        .post('/v1/pipelines/research/run')
        .set(AUTH)
        .set('X-Correlation-ID', 'slice-run-1')
        .send({ input: 'topic' });

      expect(response.status).toBe(200);
      expect(response.body).toEqual(runDocument());
      const [run] = pipelines.callsTo('runSync');
      expect(run.args.slice(0, 4)).toEqual(['research', 'topic', KEY_PRINCIPAL, 'slice-run-1']);
      expect(run.args[4]).toBeInstanceOf(AbortSignal);
      expect((run.args[4] as AbortSignal).aborted).toBe(false);
    });

    it('answers a failed run with 500 and the run document', async () => {
      const failed = runDocument({ status: 'failed', output: null, error: { code: 'pipeline_error', message: "Step 'draft' failed." } });
      pipelines.on('runSync', async () => failed);

      const response = await slice.http().post('/v1/pipelines/research/run').set(AUTH).send({ input: 'topic' });

      expect(response.status).toBe(500);
      expect(response.body).toEqual(failed);
    });

    it('with options.async answers 202 at once, and a trigger object becomes the JSON input', async () => {
      const accepted: AcceptedRunDto = { pipeline: 'research', run_id: RUN_ID, status: 'running', started_at: STARTED_AT };
      pipelines.on('runAsync', async () => accepted);

      const response = await slice
        .http()
        .post('/v1/pipelines/research/run')
        .set(AUTH)
        .send({ trigger: { topic: 'storage', year: 2026 }, options: { async: true } });

      expect(response.status).toBe(202);
      expect(response.body).toEqual(accepted);
      expect(pipelines.callsTo('runAsync')[0].args).toEqual([
        'research',
        '{"topic":"storage","year":2026}',
        KEY_PRINCIPAL,
        response.headers['x-correlation-id'],
      ]);
      expect(pipelines.callsTo('runSync')).toEqual([]);
    });

    it.each([
      ['neither input nor trigger', {}, 'input'],
      ['a number as input', { input: 42 }, 'input'],
      ['a null trigger', { trigger: null }, 'trigger'],
      ['a null input beside a null trigger', { input: null, trigger: null }, 'input'],
      ['a non-boolean async', { input: 'x', options: { async: 'yes' } }, 'options.async'],
      ['an unknown field', { input: 'x', priority: 1 }, 'priority'],
    ])('refuses %s with 400 naming the field', async (_label, body, field) => {
      const response = await slice.http().post('/v1/pipelines/research/run').set(AUTH).send(body);

      const error = expectError(response, 400, 'invalid_request');
      expect(error.details?.map((detail) => detail.field)).toContain(field);
      expect(pipelines.calls).toEqual([]);
    });

    it('refuses a request without credentials', async () => {
      expectUnauthorized(await slice.http().post('/v1/pipelines/research/run').send({ input: 'x' }));
      expect(pipelines.calls).toEqual([]);
    });

    it('answers 404 for an unknown pipeline', async () => {
      pipelines.on('runSync', async () => {
        throw new NotFoundError("Pipeline 'ghost' does not exist.");
      });

      const response = await slice.http().post('/v1/pipelines/ghost/run').set(AUTH).send({ input: 'x' });

      expect(expectError(response, 404, 'not_found').message).toBe("Pipeline 'ghost' does not exist.");
    });
  });

  describe('GET /v1/pipelines/:name/status', () => {
    it('asks for the most recent run without run_id', async () => {
      pipelines.on('status', async () => runStatus());

      const response = await slice.http().get('/v1/pipelines/research/status').set(AUTH);

      expect(response.status).toBe(200);
      expect(response.body).toEqual(runStatus());
      expect(pipelines.callsTo('status')[0].args).toEqual(['research', undefined, KEY_PRINCIPAL]);
    });

    it('asks for the run named by run_id', async () => {
      pipelines.on('status', async () => runStatus({ status: 'completed', finished_at: STARTED_AT, output: 'done', usage: usage() }));

      const response = await slice.http().get(`/v1/pipelines/research/status?run_id=${RUN_ID}`).set(AUTH);

      expect(response.status).toBe(200);
      expect(response.body.status).toBe('completed');
      expect(pipelines.callsTo('status')[0].args).toEqual(['research', RUN_ID, KEY_PRINCIPAL]);
    });

    it.each([
      ['run_id given twice', 'run_id=a&run_id=b', 'run_id'],
      ['an unknown parameter', 'run=a', 'run'],
    ])('refuses %s with 400', async (_label, query, field) => {
      const response = await slice.http().get(`/v1/pipelines/research/status?${query}`).set(AUTH);

      const error = expectError(response, 400, 'invalid_request');
      expect(error.details?.map((detail) => detail.field)).toContain(field);
      expect(pipelines.calls).toEqual([]);
    });

    it('refuses a request without credentials', async () => {
      expectUnauthorized(await slice.http().get('/v1/pipelines/research/status'));
      expect(pipelines.calls).toEqual([]);
    });

    it('answers 404 for an unknown run', async () => {
      pipelines.on('status', async () => {
        throw new NotFoundError("Run 'run_x' of pipeline 'research' does not exist.");
      });

      const response = await slice.http().get('/v1/pipelines/research/status?run_id=run_x').set(AUTH);

      expect(expectError(response, 404, 'not_found').message).toBe("Run 'run_x' of pipeline 'research' does not exist.");
    });
  });

  describe('GET /v1/pipelines/:name/runs', () => {
    it('passes the page, with defaults for what the query leaves out', async () => {
      const page = {
        runs: [
          {
            run_id: RUN_ID,
            pipeline: 'research',
            status: 'completed' as const,
            mode: 'sync' as const,
            started_at: STARTED_AT,
            finished_at: STARTED_AT,
            elapsed_ms: 9,
            usage: usage(),
          },
        ],
        total: 1,
      };
      pipelines.on('listRuns', async () => page);

      const response = await slice.http().get('/v1/pipelines/research/runs?offset=3').set(AUTH);

      expect(response.status).toBe(200);
      expect(response.body).toEqual(page);
      expect(pipelines.callsTo('listRuns')[0].args).toEqual(['research', KEY_PRINCIPAL, 20, 3]);
    });

    it.each([
      ['limit=0', 'limit'],
      ['limit=2.5', 'limit'],
      ['offset=x', 'offset'],
    ])('refuses ?%s with 400', async (query, field) => {
      const response = await slice.http().get(`/v1/pipelines/research/runs?${query}`).set(AUTH);

      const error = expectError(response, 400, 'invalid_request');
      expect(new Set(error.details?.map((detail) => detail.field))).toEqual(new Set([field]));
      expect(pipelines.calls).toEqual([]);
    });

    it('refuses a request without credentials', async () => {
      expectUnauthorized(await slice.http().get('/v1/pipelines/research/runs'));
      expect(pipelines.calls).toEqual([]);
    });

    it('answers 404 for an unknown pipeline', async () => {
      pipelines.on('listRuns', async () => {
        throw new NotFoundError("Pipeline 'ghost' does not exist.");
      });

      expectError(await slice.http().get('/v1/pipelines/ghost/runs').set(AUTH), 404, 'not_found');
    });
  });

  describe('POST /v1/pipelines/:name/runs/:run_id/cancel', () => {
    it('cancels the run and answers its status', async () => {
      const cancelled = runStatus({ status: 'cancelled', finished_at: STARTED_AT });
      pipelines.on('cancel', async () => cancelled);

      const response = await slice.http().post(`/v1/pipelines/research/runs/${RUN_ID}/cancel`).set(AUTH);

      expect(response.status).toBe(200);
      expect(response.body).toEqual(cancelled);
      expect(pipelines.callsTo('cancel')[0].args).toEqual(['research', RUN_ID, KEY_PRINCIPAL]);
    });

    it('refuses a run id holding a NUL character', async () => {
      const response = await slice.http().post('/v1/pipelines/research/runs/run%00x/cancel').set(AUTH);

      expectError(response, 400, 'invalid_request');
      expect(pipelines.calls).toEqual([]);
    });

    it('refuses a request without credentials', async () => {
      expectUnauthorized(await slice.http().post(`/v1/pipelines/research/runs/${RUN_ID}/cancel`));
      expect(pipelines.calls).toEqual([]);
    });

    it('answers 404 for an unknown run', async () => {
      pipelines.on('cancel', async () => {
        throw new NotFoundError(`Run 'run_x' of pipeline 'research' does not exist.`);
      });

      expectError(await slice.http().post('/v1/pipelines/research/runs/run_x/cancel').set(AUTH), 404, 'not_found');
    });
  });

  describe('403 forbidden: the service decides, as the caller', () => {
    const refuse = async (): Promise<never> => {
      throw new ForbiddenError("You may not run pipeline 'research'.");
    };
    it.each([
      ['runSync', 'post', '/v1/pipelines/research/run', { input: 'x' }, 2],
      ['runAsync', 'post', '/v1/pipelines/research/run', { input: 'x', options: { async: true } }, 2],
      ['status', 'get', '/v1/pipelines/research/status', undefined, 2],
      ['listRuns', 'get', '/v1/pipelines/research/runs', undefined, 1],
      ['cancel', 'post', `/v1/pipelines/research/runs/${RUN_ID}/cancel`, undefined, 2],
    ] as const)('%s answers the envelope with 403 and hands the service the principal', async (method, verb, path, body, principalAt) => {
      pipelines.on(method, refuse);

      const request = slice.http()[verb](path).set(USER_AUTH);
      const response = await (body ? request.send(body) : request);

      expect(expectError(response, 403, 'forbidden').message).toBe("You may not run pipeline 'research'.");
      expect(pipelines.callsTo(method)[0].args[principalAt]).toEqual(USER_PRINCIPAL);
    });
  });
});
