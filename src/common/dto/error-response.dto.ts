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
  /** Per-field problems, on some `invalid_request` answers. */
  details?: ErrorDetailDto[];
}

/** The envelope of every error answer (docs/api.md §2). */
export class ErrorResponseDto {
  error!: ErrorBodyDto;
}
