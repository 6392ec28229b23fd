import type { IncomingMessage } from 'node:http';
import type { Request } from 'express';

/** What the context keeps of the caller once authenticated: its stable, non-secret id (auth's Principal has it). */
export interface RequestCaller {
  readonly id: string;
}

/** What is known about the request being served: made by the first middleware, kept on the request. */
export interface RequestContext {
  correlationId: string;
  principal?: RequestCaller;
}

const CONTEXT = Symbol('agentspec.requestContext');

type WithContext = IncomingMessage & { [CONTEXT]?: RequestContext };

/** The context of the code running right now, for the synchronous extent of `requestContext.run` only. */
let active: RequestContext | undefined;

/**
 * The request context, passed explicitly rather than through AsyncLocalStorage: on Node 20
 * AsyncLocalStorage turns on promise hooks for the whole process, and with them every promise
 * of every request paid for the propagation (about a seventh of an invoke's instructions,
 * issue 16). So the context lives on the request (`of`), code that has the request reads it
 * there, and services get the correlation id in their call's origin.
 *
 * `run` makes a context current for the synchronous part of a function only (the logger's mixin
 * reads it). Nothing that runs later (after an await, in a timer) sees it, so a line is never
 * attributed to the wrong request; code that logs after an await names the request itself
 * (`logFields`).
 */
export const requestContext = {
  /** Calls `fn` with `context` current until it returns (not across its awaits). */
  run<T>(context: RequestContext, fn: () => T): T {
    const previous = active;
    active = context;
    try {
      return fn();
    } finally {
      active = previous;
    }
  },
  /** The context made current by an enclosing `run`, if any. */
  current(): RequestContext | undefined {
    return active;
  },
  /** Gives a new request the (empty) slot `attach` fills: see `presetRequestShape`. */
  reserve(request: IncomingMessage): void {
    (request as WithContext)[CONTEXT] = undefined;
  },
  /** Keeps `context` on the request, for everything later in the request's life. */
  attach(request: Request, context: RequestContext): void {
    (request as WithContext)[CONTEXT] = context;
  },
  /** The context the first middleware attached to the request. */
  of(request: Request): RequestContext | undefined {
    return (request as WithContext)[CONTEXT];
  },
};

/** The request's correlation id ('' for a request that never passed the request middleware). */
export function correlationIdOf(request: Request): string {
  return requestContext.of(request)?.correlationId ?? '';
}

export interface RequestLogFields {
  correlation_id: string;
  principal?: string;
}

/** The fields a log line of a request carries: its correlation id, and the caller once known. */
export function requestLogFields(correlationId: string, principal: string | undefined): RequestLogFields {
  return principal === undefined ? { correlation_id: correlationId } : { correlation_id: correlationId, principal };
}

/** `requestLogFields` of a request's context; nothing outside a request. */
export function logFields(context: RequestContext | undefined): RequestLogFields | Record<string, never> {
  return context ? requestLogFields(context.correlationId, context.principal?.id) : {};
}
