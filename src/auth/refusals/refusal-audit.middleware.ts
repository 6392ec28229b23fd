import type { NextFunction, Request, Response } from 'express';
import { ERROR_CODE_LOCAL } from '../../common/http/request-middleware.js';
import { requestContext } from '../../common/request-context/request-context.js';
import type { Principal } from '../principal.js';
import { clientAddress } from '../throttling/client-address.js';
import type { RefusalAudit } from './refusal-audit.js';
import { markedRefusal, presentsCredentials, type RefusalReason } from './refusal.js';

const REFUSED = new Set([401, 403, 429]);

/**
 * Records every 401, 403 and 429 once its answer is sent, whoever refused it (the guards, a
 * service's access check, a rate limit). Mounted right after the request middleware.
 */
export function refusalAuditMiddleware(audit: Pick<RefusalAudit, 'record'>) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const context = requestContext.of(req);
    let seen = false;
    const done = () => {
      if (seen) return;
      seen = true;
      if (!REFUSED.has(res.statusCode) || !context) return;
      const refusal = {
        at: new Date(),
        status: res.statusCode,
        code: (res.locals[ERROR_CODE_LOCAL] as string | undefined) ?? 'unknown',
        reason: markedRefusal(res) ?? reasonOf(res.statusCode, req),
        principal: (req as Request & { user?: Principal }).user?.id,
        ip: clientAddress(req),
        method: req.method,
        route: (req.route as { path?: string } | undefined)?.path,
        correlationId: context.correlationId,
      };
      requestContext.run(context, () => audit.record(refusal));
    };
    res.once('finish', done);
    res.once('close', done);
    next();
  };
}

function reasonOf(status: number, req: Request): RefusalReason {
  if (status === 403) return 'forbidden';
  if (status === 429) return 'rate_limited';
  return presentsCredentials(req) ? 'invalid_credentials' : 'missing_credentials';
}
