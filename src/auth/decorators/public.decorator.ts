import { SetMetadata } from '@nestjs/common';

export const IS_PUBLIC = 'agentspec:public';
/** `true`: never needs credentials; `'metrics'`: public unless AGENTSPEC_METRICS_AUTH=true. */
export type PublicScope = true | 'metrics';

/** Opts a route out of authentication (health, docs; metrics by default). */
export const Public = (scope: PublicScope = true) => SetMetadata(IS_PUBLIC, scope);
