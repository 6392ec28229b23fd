import { CreateInvocations1764460800000 } from './1764460800000-create-invocations.js';

/** Every migration, oldest first. `npm run migration:create` appends here. */
export const MIGRATIONS = [CreateInvocations1764460800000];
