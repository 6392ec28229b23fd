import { randomBytes } from 'node:crypto';
import type { Role } from '../access.js';
import { keyDigest } from '../key-digest.js';
import { rolePrincipal, type Principal } from '../principal.js';

/** Every managed key starts with this marker, so it is recognisable in a leak scan or a log. */
export const MANAGED_KEY_MARKER = 'ask_';
/** 256 random bits, base64url: 43 characters after the marker. */
const SECRET_BYTES = 32;
const PREFIX_CHARACTERS = 8;
const MANAGED_KEY_PATTERN = /^ask_[A-Za-z0-9_-]{43}$/;

export const ROLES: readonly Role[] = ['admin', 'auditor', 'user'];

export interface GeneratedKey {
  /** The secret, shown once to whoever created it and never stored. */
  key: string;
  /** SHA-256 of the key, hex: what the database keeps. */
  hash: string;
  /** `ask_` and the next 8 characters: names the key in lists without revealing it. */
  prefix: string;
}

export function generateManagedKey(): GeneratedKey {
  const key = `${MANAGED_KEY_MARKER}${randomBytes(SECRET_BYTES).toString('base64url')}`;
  return { key, hash: hashManagedKey(key), prefix: key.slice(0, MANAGED_KEY_MARKER.length + PREFIX_CHARACTERS) };
}

export function isManagedKeyFormat(presented: string): boolean {
  return MANAGED_KEY_PATTERN.test(presented);
}

export function hashManagedKey(key: string): string {
  return keyDigest(key).toString('hex');
}

/** A usable managed key as the store hands it to the cache (no secret, only its digest). */
export interface ActiveManagedKey {
  id: string;
  name: string;
  hash: string;
  prefix: string;
  role: Role;
  agents: readonly string[];
  expiresAt: Date | null;
}

/** `mkey:<id>`: stable, never a secret, and the row's id for anyone reading an audit record. */
export function managedKeyPrincipal(key: ActiveManagedKey): Principal {
  return rolePrincipal('managed_key', `mkey:${key.id}`, key.name, key.role, key.agents);
}
