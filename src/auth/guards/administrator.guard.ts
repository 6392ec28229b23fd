import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { ForbiddenError } from '../../common/errors/domain-errors.js';
import { mayAdminister } from '../access.js';
import type { Principal } from '../principal.js';

/**
 * Lets only administrators through (`@UseGuards(AdministratorGuard)`). It runs after the global
 * AuthenticationGuard, so the caller is known, and before validation: a non-admin learns nothing
 * about the route's body rules.
 */
@Injectable()
export class AdministratorGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const principal = context.switchToHttp().getRequest<Request & { user?: Principal }>().user;
    if (!principal || !mayAdminister(principal.access)) throw new ForbiddenError('Only an administrator may do this.');
    return true;
  }
}
