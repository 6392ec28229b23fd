import express from 'express';
import { NestApplication } from '@nestjs/core';
import { InvocationsRepository } from '../src/agents/invocations.repository.js';
import { ADMIN_ACCESS } from '../src/auth/access.js';
import { AuthenticationGuard } from '../src/auth/guards/authentication.guard.js';
import type { Principal } from '../src/auth/principal.js';
import { requestContext } from '../src/common/request-context/request-context.js';
import { MetricsService } from '../src/metrics/metrics.service.js';
import { AgentRunner, type PreparedRun, type RunResult } from '../src/runtime/agent-runner.js';

/**
 * Benchmark-only preload (`node --import ./dist/bench/feature-off.js`, used by
 * bench/instructions-features.sh): BENCH_FEATURES_OFF=auth,metrics,… switches features of the
 * invoke path off by replacing them before the app starts, so that the instructions a feature
 * costs show as the difference to the run with everything on. Never loaded by the server itself.
 */
export const FEATURES = [
  'logs',
  'metrics',
  'correlation',
  'auth',
  'validation',
  'audit-row',
  'helmet',
  'refusal-audit',
  'body-checks',
  'agent-run',
] as const;

type Feature = (typeof FEATURES)[number];

const off = new Set(
  (process.env.BENCH_FEATURES_OFF ?? '')
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean),
);
for (const name of off) {
  if (!(FEATURES as readonly string[]).includes(name))
    throw new Error(`BENCH_FEATURES_OFF: unknown feature "${name}" (${FEATURES.join(', ')})`);
}
const isOff = (feature: Feature) => off.has(feature);

const SERVICE_PRINCIPAL: Principal = { kind: 'api_key', id: 'key:bench', name: 'API key key:bench', roles: [], access: ADMIN_ACCESS };

if (isOff('logs')) process.env.LOG_LEVEL = 'warn';

if (isOff('metrics')) {
  const noop = () => undefined;
  Object.assign(MetricsService.prototype, { recordRequest: noop, recordError: noop, recordTokens: noop, recordModelCall: noop });
}

// The request context's scope around the middleware chain and the access line (the logger's
// mixin reads it). The id itself is still made, echoed and passed on: the audit rows need it.
if (isOff('correlation')) {
  requestContext.run = <T>(_context: unknown, fn: () => T): T => fn();
}

if (isOff('auth')) {
  AuthenticationGuard.prototype.canActivate = function canActivate(context) {
    context.switchToHttp().getRequest<{ user?: Principal }>().user = SERVICE_PRINCIPAL;
    return Promise.resolve(true);
  };
}

if (isOff('validation')) {
  // The whole global pipe: class-transformer, class-validator and the storable-text walk.
  NestApplication.prototype.useGlobalPipes = function useGlobalPipes() {
    return this;
  };
}

if (isOff('audit-row')) {
  InvocationsRepository.prototype.record = () => Promise.resolve();
}

if (isOff('agent-run')) {
  AgentRunner.prototype.run = (prepared: PreparedRun): Promise<RunResult> =>
    Promise.resolve({
      output: `Echo: ${prepared.call.input}`,
      usage: { inputTokens: 7, outputTokens: 5, totalTokens: 12 },
      toolCalls: [],
      turns: 1,
      finishReason: 'stop',
      durationMs: 0,
      guardrails: [],
      storedInput: prepared.call.input,
      warnings: [],
    });
}

/** Middleware recognised by a piece of its source: the factories return anonymous functions. */
const MIDDLEWARE: Partial<Record<Feature, ((fn: { name: string; toString(): string }) => boolean)[]>> = {
  helmet: [(fn) => fn.toString().includes('DOCS.test(req.path)')],
  'refusal-audit': [(fn) => fn.toString().includes('REFUSED.has')],
  'body-checks': [
    (fn) => fn.name === 'requireJsonBody',
    (fn) => fn.name === 'requireJsonObject',
    (fn) => fn.toString().includes('rawLimit'),
  ],
};
const dropped = new Map<Feature, number>();
const application = express.application as unknown as { use: (...args: unknown[]) => unknown };
const use = application.use;
application.use = function (this: unknown, ...args: unknown[]) {
  const fn = args[args.length - 1];
  if (typeof fn === 'function') {
    for (const [feature, matchers] of Object.entries(MIDDLEWARE) as [
      Feature,
      ((fn: { name: string; toString(): string }) => boolean)[],
    ][]) {
      if (isOff(feature) && matchers.some((matches) => matches(fn))) {
        dropped.set(feature, (dropped.get(feature) ?? 0) + 1);
        return this;
      }
    }
  }
  return use.apply(this, args);
};
// A feature asked off whose middleware was not found would measure nothing: the first request says so.
const handle = (express.application as unknown as { handle: (...args: unknown[]) => unknown }).handle;
let checked = false;
(express.application as unknown as { handle: (...args: unknown[]) => unknown }).handle = function (this: unknown, ...args: unknown[]) {
  if (!checked) {
    checked = true;
    for (const [feature, matchers] of Object.entries(MIDDLEWARE) as [Feature, unknown[]][]) {
      if (isOff(feature) && dropped.get(feature) !== matchers.length) {
        process.stderr.write(`feature-off: ${feature}: removed ${dropped.get(feature) ?? 0} of ${matchers.length} middleware\n`);
        process.exit(3);
      }
    }
  }
  return handle.apply(this, args);
};
