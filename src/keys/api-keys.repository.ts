import { Injectable } from '@nestjs/common';
import { DataSource, QueryFailedError } from 'typeorm';
import type { Role } from '../auth/access.js';
import type { ActiveManagedKey } from '../auth/managed-keys/managed-key.js';
import type { ManagedKeyStore } from '../auth/managed-keys/managed-key-store.port.js';
import { newUlid } from '../common/ids.js';
import { queryRows } from '../database/query-rows.js';

export type ApiKeyStatus = 'active' | 'expired' | 'revoked';

/** A managed key as lists show it: everything but the secret and its digest. */
export interface ApiKeyRecord {
  id: string;
  name: string;
  prefix: string;
  role: Role;
  agents: string[];
  status: ApiKeyStatus;
  expiresAt: Date | null;
  createdAt: Date;
  /** Principal id of the creator (`key:…`, `mkey:…`, `anonymous`, `cli:<user>`). */
  createdBy: string;
  revokedAt: Date | null;
}

/** A key to store: what the auth cache reads back (`hash` is the SHA-256 hex, never the key), plus its creator. */
export type NewApiKey = Omit<ActiveManagedKey, 'id'> & { createdBy: string };

/** Another key already has this display prefix (48 random bits; the caller draws a new key). */
export class ApiKeyPrefixTakenError extends Error {
  constructor() {
    super('another key has the same prefix');
    this.name = 'ApiKeyPrefixTakenError';
  }
}

/** The expiry is not after the database's "now" (the caller's clock may differ from it). */
export class ApiKeyExpiryInPastError extends Error {
  constructor() {
    super('the expiry is not in the future');
    this.name = 'ApiKeyExpiryInPastError';
  }
}

interface ApiKeyRow {
  id: string;
  name: string;
  prefix: string;
  role: Role;
  agents: string[];
  status: ApiKeyStatus;
  expires_at: Date | null;
  created_at: Date;
  created_by: string;
  revoked_at: Date | null;
}

const COLUMNS = `k.id, k.name, k.prefix, k.role, k.agents, k.expires_at, k.created_at, k.created_by, k.revoked_at,
  CASE WHEN k.revoked_at IS NOT NULL THEN 'revoked' WHEN k.expires_at <= now() THEN 'expired' ELSE 'active' END AS status`;

/**
 * Owns every SQL statement on `api_keys` and `api_keys_version`. It is also the store the auth
 * cache reads (ManagedKeyStore): those two statements are the only ones run in the background.
 */
@Injectable()
export class ApiKeysRepository implements ManagedKeyStore {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * @throws ApiKeyPrefixTakenError when another key has the prefix
   * @throws ApiKeyExpiryInPastError when `expiresAt` is not after the database's now
   */
  async create(input: NewApiKey): Promise<ApiKeyRecord> {
    try {
      const [row] = await queryRows<ApiKeyRow>(
        this.dataSource,
        `INSERT INTO api_keys AS k (id, name, hash, prefix, role, agents, expires_at, created_by)
         VALUES ($1, $2, $3, $4, $5, $6::text[], $7, $8)
         RETURNING ${COLUMNS}`,
        [newApiKeyId(), input.name, input.hash, input.prefix, input.role, [...input.agents], input.expiresAt, input.createdBy],
      );
      return toRecord(row);
    } catch (error) {
      const constraint = violatedConstraint(error);
      if (constraint === 'uq_api_keys_prefix') throw new ApiKeyPrefixTakenError();
      if (constraint === 'ck_api_keys_expires_at') throw new ApiKeyExpiryInPastError();
      throw error;
    }
  }

  /** Every key, revoked and expired ones included, newest first. */
  async list(): Promise<ApiKeyRecord[]> {
    const rows = await queryRows<ApiKeyRow>(this.dataSource, `SELECT ${COLUMNS} FROM api_keys k ORDER BY k.created_at DESC, k.id DESC`, []);
    return rows.map(toRecord);
  }

  /**
   * Revokes the key with this id or prefix (`ask_…`). Revoking a revoked key keeps its first
   * revocation time. Undefined when no key matches.
   */
  async revoke(idOrPrefix: string): Promise<ApiKeyRecord | undefined> {
    if (!idOrPrefix) throw new RangeError('a key id or prefix is required');
    const [row] = await queryRows<ApiKeyRow>(
      this.dataSource,
      `UPDATE api_keys k SET revoked_at = coalesce(k.revoked_at, now())
       WHERE k.id = $1 OR k.prefix = $1
       RETURNING ${COLUMNS}`,
      [idOrPrefix],
    );
    return row && toRecord(row);
  }

  async changeVersion(): Promise<{ version: string; now: Date }> {
    const [row] = await queryRows<{ version: string; now: Date }>(
      this.dataSource,
      'SELECT v.version::text AS version, now() AS now FROM api_keys_version v WHERE v.id = 1',
      [],
    );
    if (!row) throw new Error('api_keys_version has no row: the migrations did not run');
    return row;
  }

  async activeKeys(): Promise<{ version: string; now: Date; keys: ActiveManagedKey[] }> {
    // One statement, one snapshot: the keys are exactly those of the version read with them.
    const rows = await queryRows<{ version: string; now: Date } & Partial<ActiveKeyRow>>(
      this.dataSource,
      `SELECT v.version::text AS version, now() AS now,
              k.id, k.name, k.hash, k.prefix, k.role, k.agents, k.expires_at
       FROM api_keys_version v
       LEFT JOIN api_keys k ON k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > now())
       WHERE v.id = 1`,
      [],
    );
    if (rows.length === 0) throw new Error('api_keys_version has no row: the migrations did not run');
    const keys = rows
      .filter((row): row is typeof row & ActiveKeyRow => row.id != null)
      .map((row) => ({
        id: row.id,
        name: row.name,
        hash: row.hash,
        prefix: row.prefix,
        role: row.role,
        agents: row.agents,
        expiresAt: row.expires_at,
      }));
    return { version: rows[0].version, now: rows[0].now, keys };
  }
}

interface ActiveKeyRow {
  id: string;
  name: string;
  hash: string;
  prefix: string;
  role: Role;
  agents: string[];
  expires_at: Date | null;
}

/** `mk_` + a ULID: time-ordered, 80 random bits. */
export function newApiKeyId(): string {
  return `mk_${newUlid()}`;
}

function toRecord(row: ApiKeyRow): ApiKeyRecord {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    role: row.role,
    agents: row.agents,
    status: row.status,
    expiresAt: row.expires_at,
    createdAt: row.created_at,
    createdBy: row.created_by,
    revokedAt: row.revoked_at,
  };
}

function violatedConstraint(error: unknown): string | undefined {
  if (!(error instanceof QueryFailedError)) return undefined;
  const driverError = error.driverError as { code?: string; constraint?: string };
  return driverError.code === '23505' || driverError.code === '23514' ? driverError.constraint : undefined;
}
