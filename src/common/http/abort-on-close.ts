import type { Request } from 'express';

/** A signal that fires when the client of a JSON request goes away before its answer. */
export function abortOnClose(request: Request): AbortSignal {
  const controller = new AbortController();
  // The client may already be gone while earlier steps (auth, a session claim) were awaited.
  // Not `request.destroyed`: a request whose body has been read is destroyed on Node 20.
  if (request.socket?.destroyed || request.res?.destroyed) controller.abort(new Error('client disconnected'));
  request.res?.once('close', () => {
    if (!request.res?.writableFinished) controller.abort(new Error('client disconnected'));
  });
  return controller.signal;
}
