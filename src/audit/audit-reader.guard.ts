import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { mayReadAudit } from '../auth/access.js';
import type { Principal } from '../auth/principal.js';
import { ForbiddenError } from '../common/errors/domain-errors.js';

/**
 * Lets only administrators and auditors through. Runs after the global authentication guard
 * and before validation, so another caller learns nothing about the filters.
 */
@Injectable()
export class AuditReaderGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const principal = context.switchToHttp().getRequest<Request & { user?: Principal }>().user;
    if (!principal || !mayReadAudit(principal.access)) throw new ForbiddenError('Only an administrator or an auditor may read the audit.');
    return true;
  }
}
