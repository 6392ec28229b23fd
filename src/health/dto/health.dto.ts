export class HealthChecksDto {
  /** `ok` or `unavailable`. */
  database!: 'ok' | 'unavailable';
  /** Only with OIDC_ISSUER set: whether the issuer's signing keys are at hand. Never changes `status`. */
  oidc?: 'ok' | 'unavailable';
}

export class LivenessDto {
  /** @example ok */
  status!: 'ok';
  /** @example 0.1.0 */
  version!: string;
  uptime_seconds!: number;
}

export class HealthDto {
  /** `ok` (200) or `degraded` (503). */
  status!: 'ok' | 'degraded';
  /** @example 0.1.0 */
  version!: string;
  uptime_seconds!: number;
  checks!: HealthChecksDto;
}
