import { AsyncLocalStorage } from 'node:async_hooks';

/** What the context keeps of the caller once authenticated: its stable, non-secret id (auth's Principal has it). */
export interface RequestCaller {
  readonly id: string;
}

/** What is known about the request being served; lives for the request's async lifetime. */
export interface RequestContext {
  correlationId: string;
  principal?: RequestCaller;
}

const storage = new AsyncLocalStorage<RequestContext>();

export const requestContext = {
  run<T>(context: RequestContext, fn: () => T): T {
    return storage.run(context, fn);
  },
  current(): RequestContext | undefined {
    return storage.getStore();
  },
  correlationId(): string | undefined {
    return storage.getStore()?.correlationId;
  },
  principal(): RequestCaller | undefined {
    return storage.getStore()?.principal;
  },
};
