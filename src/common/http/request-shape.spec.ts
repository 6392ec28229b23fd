import { createServer, IncomingMessage, type Server, ServerResponse } from 'node:http';
import { type AddressInfo, Socket } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import express, { type NextFunction, type Request, type Response } from 'express';
import { describe, expect, it } from 'vitest';
import { requestContext } from '../request-context/request-context.js';
import { learnRequestShape, presetRequestShape, presetRequestShapes } from './request-shape.js';

// V8's own check of whether two objects share a hidden class.
setFlagsFromString('--allow-natives-syntax');
// eslint-disable-next-line @typescript-eslint/no-implied-eval
const haveSameMap = new Function('a', 'b', 'return %HaveSameMap(a, b)') as (a: object, b: object) => boolean;

interface Seen {
  req: Request;
  res: Response;
}

/**
 * An Express app shaped like ours (a first middleware, a JSON body parser, a guard that sets
 * `req.user`), which holds each request until two have reached the handler, so that both
 * objects are compared at the same point of their lives.
 */
async function twoConcurrentRequests(preset: boolean): Promise<[Seen, Seen]> {
  const app = express();
  const seen: Seen[] = [];
  let expected = 1;
  let release: () => void = () => undefined;
  let allThere = new Promise<void>((resolve) => (release = resolve));
  app.use((req: Request, _res: Response, next: NextFunction) => {
    learnRequestShape(req);
    requestContext.attach(req, { correlationId: 'shape' });
    next();
  });
  app.use(express.json());
  app.use((req: Request, _res: Response, next: NextFunction) => {
    (req as Request & { user?: unknown }).user = { id: 'key:x' };
    next();
  });
  app.post('/v1/agents/:name/invoke', async (req: Request, res: Response) => {
    seen.push({ req, res });
    if (seen.length === expected) release();
    await allThere;
    res.status(200).json({ ok: true });
  });
  const server: Server = createServer(app);
  if (preset) presetRequestShapes(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const call = () =>
    fetch(`http://127.0.0.1:${port}/v1/agents/a/invoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"input":"x"}',
    });
  try {
    // A first request alone: the router's symbol is learnt from it.
    await call();
    seen.length = 0;
    expected = 2;
    allThere = new Promise<void>((resolve) => (release = resolve));
    const answers = await Promise.all([call(), call()]);
    expect(answers.map((answer) => answer.status)).toEqual([200, 200]);
    return [seen[0], seen[1]];
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

describe('presetRequestShapes', () => {
  it('gives every request and response one hidden class all the way through the chain', async () => {
    const [first, second] = await twoConcurrentRequests(true);
    expect(haveSameMap(first.req, second.req)).toBe(true);
    expect(haveSameMap(first.res, second.res)).toBe(true);
    expect(first.req.body).toEqual({ input: 'x' });
  });

  it('leaves what Express and Node read unchanged: values, listener counting, status', () => {
    const fresh = () => {
      const req = new IncomingMessage(new Socket());
      return { req, res: new ServerResponse(req) };
    };
    const plain = fresh();
    const preset = fresh();
    presetRequestShape(preset.req, preset.res);
    const fields = preset.req as unknown as Record<string, unknown>;
    for (const key of ['res', 'next', 'baseUrl', 'originalUrl', '_parsedUrl', 'params', 'body', 'route', 'user']) {
      expect(Object.hasOwn(preset.req, key), key).toBe(true);
      expect(fields[key], key).toBe((plain.req as unknown as Record<string, unknown>)[key]);
    }
    expect(requestContext.of(preset.req as Request)).toBeUndefined();
    for (const { req, res } of [plain, preset]) {
      req.on('data', () => undefined);
      req.on('end', () => undefined);
      req.removeAllListeners('end');
      res.writeHead(404);
    }
    expect(preset.req.eventNames()).toEqual(plain.req.eventNames());
    expect(preset.req.listenerCount('data')).toBe(1);
    expect((preset.req as unknown as { _eventsCount: number })._eventsCount).toBe(
      (plain.req as unknown as { _eventsCount: number })._eventsCount,
    );
    expect([preset.res.statusCode, preset.res.statusMessage]).toEqual([plain.res.statusCode, plain.res.statusMessage]);
    expect([preset.res.statusCode, preset.res.statusMessage]).toEqual([404, 'Not Found']);
  });
});
