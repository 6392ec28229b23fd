import type { ActiveManagedKey } from './managed-key.js';

/**
 * Where the managed keys live (the `api_keys` table; implemented by the keys feature's
 * repository). Auth only reads, through these two statements.
 */
export interface ManagedKeyStore {
  /** The change counter and the database clock: one cheap statement, run every second. */
  changeVersion(): Promise<{ version: string; now: Date }>;
  /** Every key neither revoked nor expired, and the counter value this snapshot reflects. */
  activeKeys(): Promise<{ version: string; now: Date; keys: ActiveManagedKey[] }>;
}

export const MANAGED_KEY_STORE = Symbol('MANAGED_KEY_STORE');
