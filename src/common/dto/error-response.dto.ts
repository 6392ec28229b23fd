export class ErrorDetailDto {
  /** @example options.temperature */
  field!: string;
  /** @example options.temperature must not be greater than 2 */
  message!: string;
}

export class ErrorBodyDto {
  /** @example not_found */
  code!: string;
  /** @example Agent 'unknown-agent' does not exist. */
  message!: string;
  /** Per-field problems on `invalid_request` answers of field validation; the broken rules on `validation_failed`. */
  details?: ErrorDetailDto[];
}

/** The envelope of every error answer (docs/api.md §2). */
export class ErrorResponseDto {
  error!: ErrorBodyDto;
}
