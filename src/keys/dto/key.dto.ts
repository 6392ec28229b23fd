import { ArrayMaxSize, IsArray, IsIn, IsISO8601, IsNotEmpty, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import type { Role } from '../../auth/access.js';
import type { ApiKeyStatus } from '../api-keys.repository.js';

const ROLE_VALUES = ['admin', 'auditor', 'user'];

/** `POST /v1/keys`: at most one of `expires_in` and `expires_at`; neither means the key never expires. */
export class CreateKeyDto {
  /**
   * For people: who or what uses the key.
   * @example ci-pipeline
   */
  @IsString()
  @Matches(/\S/, { message: 'name must not be empty' })
  @MaxLength(200)
  name!: string;

  /** Default `user`. */
  @IsOptional()
  @IsIn(ROLE_VALUES)
  role?: Role;

  /**
   * The agents a `user` key may use (and the pipelines made only of them). Not allowed for the
   * other roles, which do not use it.
   * @example ["support-assistant"]
   */
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(1000)
  @IsString({ each: true })
  @IsNotEmpty({ each: true })
  @MaxLength(200, { each: true })
  agents?: string[];

  /**
   * Lifetime from now: a number and `s`, `m`, `h` or `d`.
   * @example 30d
   */
  @IsOptional()
  @IsString()
  @Matches(/^\d{1,9}(s|m|h|d)$/, { message: 'expires_in must be a duration such as 3600s, 90m, 12h or 30d' })
  expires_in?: string;

  /**
   * Expiry time, RFC 3339 with a time zone; must be in the future.
   * @example 2030-01-01T00:00:00Z
   */
  @IsOptional()
  @IsISO8601({ strict: true, strictSeparator: true })
  @Matches(/(Z|[+-]\d\d:\d\d)$/i, { message: 'expires_at must state its time zone (Z or ±hh:mm)' })
  expires_at?: string;
}

/** A managed key without its secret. */
export class KeyDto {
  /** @example mk_01JD3Q8Z4N5V6W7X8Y9Z0A1B2C */
  id!: string;
  /** @example ci-pipeline */
  name!: string;
  /**
   * The start of the key, enough to recognise it.
   * @example ask_Q2xhdWRl
   */
  prefix!: string;
  role!: Role;
  /** The agents of a `user` key; empty for the other roles. */
  agents!: string[];
  /** `revoked` wins over `expired`. */
  status!: ApiKeyStatus;
  /** RFC 3339, UTC; null: never expires. */
  expires_at!: string | null;
  /** RFC 3339, UTC. */
  created_at!: string;
  /**
   * The principal that created the key: `key:…`, `mkey:…`, `anonymous`, or `cli:<user>`.
   * @example key:3f2a9c0d1e4b5a6f
   */
  created_by!: string;
  /** RFC 3339, UTC; null while the key is not revoked. */
  revoked_at!: string | null;
}

export class CreatedKeyDto extends KeyDto {
  /**
   * The key. This answer is the only place it ever appears: only its SHA-256 digest is stored.
   * @example ask_Q2xhdWRlIGlzIG5vdCBhIHJlYWwga2V5IGJ1dCBsb29rcyBsaWtl
   */
  key!: string;
}

export class ListKeysResponseDto {
  /** Every key, revoked and expired ones included, newest first. */
  keys!: KeyDto[];
}
