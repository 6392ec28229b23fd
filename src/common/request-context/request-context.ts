import { AsyncLocalStorage } from 'node:async_hooks';
import type { Principal } from '../../auth/principal.js';

/** What is known about the request being served; lives for the request's async lifetime. */
export interface RequestContext {
  correlationId: string;
  principal?: Principal;
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
  principal(): Principal | undefined {
    return storage.getStore()?.principal;
  },
};
