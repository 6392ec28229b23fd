import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import { ANONYMOUS_PRINCIPAL, type Principal } from '../principal.js';

/** The authenticated caller of this request. */
export const CurrentPrincipal = createParamDecorator((_: unknown, context: ExecutionContext): Principal => {
  const request = context.switchToHttp().getRequest<Request & { user?: Principal }>();
  return request.user ?? ANONYMOUS_PRINCIPAL;
});
