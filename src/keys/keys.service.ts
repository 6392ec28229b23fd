import { Injectable, Optional } from '@nestjs/common';
import type { Role } from '../auth/access.js';
import { ManagedKeyCache } from '../auth/managed-keys/managed-key-cache.js';
import { generateManagedKey } from '../auth/managed-keys/managed-key.js';
import { InvalidRequestError, NotFoundError } from '../common/errors/domain-errors.js';
import { ConfigValueError, parseDuration } from '../config/parsers.js';
import { ApiKeyExpiryInPastError, ApiKeyPrefixTakenError, type ApiKeyRecord, ApiKeysRepository } from './api-keys.repository.js';
import { CreatedKeyDto, CreateKeyDto, KeyDto, ListKeysResponseDto } from './dto/key.dto.js';
import { shorten } from '../common/validation/request-values.js';

/** A key may live at most about 100 years (an expiry past that is a mistake, or "never"). */
const MAX_LIFETIME_MS = 36_500 * 24 * 3_600_000;
const CREATE_ATTEMPTS = 3;

/**
 * Managed keys for the HTTP routes and the `keys` CLI alike. After a change this replica's key
 * cache is refreshed at once; the other replicas notice within a second (ManagedKeyCache).
 */
@Injectable()
export class KeysService {
  constructor(
    private readonly repository: ApiKeysRepository,
    /** Absent in the CLI, which serves no requests. */
    @Optional() private readonly cache?: ManagedKeyCache,
  ) {}

  /**
   * Creates a key and returns it with its secret, the only time the secret is seen.
   * @param createdBy principal id of the creator
   */
  async create(request: CreateKeyDto, createdBy: string): Promise<CreatedKeyDto> {
    const role: Role = request.role ?? 'user';
    const agents = [...new Set(request.agents ?? [])];
    if (role !== 'user' && agents.length > 0) {
      throw invalid('agents', `agents applies only to role user; a ${role} key is not limited to agents`);
    }
    const expiresAt = expiryOf(request);
    for (let attempt = 1; ; attempt++) {
      const generated = generateManagedKey();
      try {
        const record = await this.repository.create({
          name: request.name,
          hash: generated.hash,
          prefix: generated.prefix,
          role,
          agents,
          expiresAt,
          createdBy,
        });
        await this.refreshCache();
        return { ...toKeyDto(record), key: generated.key };
      } catch (error) {
        if (error instanceof ApiKeyExpiryInPastError)
          throw invalid(request.expires_at ? 'expires_at' : 'expires_in', 'the expiry must be in the future');
        if (!(error instanceof ApiKeyPrefixTakenError) || attempt >= CREATE_ATTEMPTS) throw error;
      }
    }
  }

  async list(): Promise<ListKeysResponseDto> {
    return { keys: (await this.repository.list()).map(toKeyDto) };
  }

  /** Revokes by id or prefix; revoking a revoked key changes nothing and is not an error. */
  async revoke(idOrPrefix: string): Promise<KeyDto> {
    const record = idOrPrefix ? await this.repository.revoke(idOrPrefix) : undefined;
    if (!record) throw new NotFoundError(`API key '${shorten(idOrPrefix)}' does not exist.`);
    await this.refreshCache();
    return toKeyDto(record);
  }

  /** The change is committed; if the cache cannot read it now, its next poll will. */
  private async refreshCache(): Promise<void> {
    await this.cache?.refresh().catch(() => undefined);
  }
}

function expiryOf(request: CreateKeyDto): Date | null {
  if (request.expires_in !== undefined && request.expires_at !== undefined) {
    throw invalid('expires_at', 'give expires_in or expires_at, not both');
  }
  if (request.expires_in !== undefined) {
    const ms = parseDurationOrUndefined(request.expires_in);
    if (ms === undefined || ms <= 0 || ms > MAX_LIFETIME_MS) {
      throw invalid('expires_in', 'expires_in must be a duration above 0 and at most 36500d, such as 3600s, 90m, 12h or 30d');
    }
    return new Date(Date.now() + ms);
  }
  if (request.expires_at !== undefined) {
    const at = new Date(request.expires_at);
    if (Number.isNaN(at.getTime())) throw invalid('expires_at', 'expires_at must be an RFC 3339 time');
    if (at.getTime() <= Date.now()) throw invalid('expires_at', 'expires_at must be in the future');
    return at;
  }
  return null;
}

function parseDurationOrUndefined(text: string): number | undefined {
  try {
    return parseDuration(text);
  } catch (error) {
    if (error instanceof ConfigValueError) return undefined;
    throw error;
  }
}

function invalid(field: string, message: string): InvalidRequestError {
  return new InvalidRequestError(`${message}.`, [{ field, message }]);
}

export function toKeyDto(record: ApiKeyRecord): KeyDto {
  return {
    id: record.id,
    name: record.name,
    prefix: record.prefix,
    role: record.role,
    agents: record.agents,
    status: record.status,
    expires_at: record.expiresAt?.toISOString() ?? null,
    created_at: record.createdAt.toISOString(),
    created_by: record.createdBy,
    revoked_at: record.revokedAt?.toISOString() ?? null,
  };
}
