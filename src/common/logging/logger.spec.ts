import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { requestContext } from '../request-context/request-context.js';
import { censorCredentials, createLogger, NestPinoLogger } from './logger.js';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { lines, logger: createLogger('info', stream) };
}

describe('createLogger', () => {
  it('adds the correlation id and principal of the request being served', () => {
    const { lines, logger } = capture();
    requestContext.run({ correlationId: 'c-1', principal: { id: 'key:ab' } }, () => logger.info('inside'));
    logger.info('outside');
    expect(lines[0]).toMatchObject({ msg: 'inside', correlation_id: 'c-1', principal: 'key:ab' });
    expect(lines[1]).not.toHaveProperty('correlation_id');
  });

  it("drops a failed query's bound parameters and redacts credentials", () => {
    const { lines, logger } = capture();
    const failed = Object.assign(new Error('duplicate key'), {
      query: 'INSERT INTO invocations VALUES ($1, $2)',
      parameters: ['someone else’s prompt', 'secret answer'],
      driverError: { code: '23505', parameters: ['again'] },
    });
    logger.error({ err: failed, headers: { authorization: 'Bearer sk-live-123', 'x-api-key': 'k-123' } }, 'failed');
    const text = JSON.stringify(lines[0]);
    expect(text).toContain('INSERT INTO invocations');
    expect(text).not.toMatch(/someone else|secret answer|again|sk-live-123|k-123/);
  });

  it('censors credential fields up to three levels deep, in any case, without touching the logged object', () => {
    const { lines, logger } = capture();
    const logged = {
      req: { headers: { Authorization: 'Bearer sk-1', 'X-API-Key': 'k-2', accept: 'application/json' } },
      provider: { apiKey: 'sk-3', api_key: 'sk-4', name: 'openai' },
      user: { password: 'hunter2' },
    };
    logger.info(logged, 'with credentials');
    expect(lines[0]).toMatchObject({
      req: { headers: { Authorization: '[redacted]', 'X-API-Key': '[redacted]', accept: 'application/json' } },
      provider: { apiKey: '[redacted]', api_key: '[redacted]', name: 'openai' },
      user: { password: '[redacted]' },
    });
    expect(logged.req.headers.Authorization).toBe('Bearer sk-1');
    expect(logged.provider.apiKey).toBe('sk-3');
  });

  it('returns a line without credentials as it is, copying nothing', () => {
    const line = { agent: 'a', usage: { input_tokens: 1 }, nested: { deeper: { value: 1 } } };
    expect(censorCredentials(line)).toBe(line);
    const censored = censorCredentials({ ...line, headers: { authorization: 'x' } });
    expect(censored.usage).toBe(line.usage);
    expect(censored.headers).toEqual({ authorization: '[redacted]' });
  });
});

describe('NestPinoLogger', () => {
  it("writes Nest's start-up narration at debug, its warnings and errors at their level", () => {
    const lines: Record<string, unknown>[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line));
        done();
      },
    });
    const nest = new NestPinoLogger(createLogger('debug', stream));
    nest.log('AppModule dependencies initialized', 'InstanceLoader');
    nest.log('Mapped {/v1/agents, GET} route', 'RouterExplorer');
    nest.warn('deprecated option', 'NestFactory');
    nest.error(new Error('boom'), undefined, 'ExceptionsHandler');
    expect(lines.map(({ level, context, msg }) => ({ level, context, msg }))).toEqual([
      { level: 'debug', context: 'InstanceLoader', msg: 'AppModule dependencies initialized' },
      { level: 'debug', context: 'RouterExplorer', msg: 'Mapped {/v1/agents, GET} route' },
      { level: 'warn', context: 'NestFactory', msg: 'deprecated option' },
      { level: 'error', context: 'ExceptionsHandler', msg: 'boom' },
    ]);
  });
});
