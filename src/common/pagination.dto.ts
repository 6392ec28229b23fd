import { Type } from 'class-transformer';
import { IsInt, IsOptional, Max, Min } from 'class-validator';

/** `?limit=&offset=` of list routes: limit 1..100 (default 20), offset ≥ 0 (default 0). */
export class PaginationQueryDto {
  /** 1..100, default 20. */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  limit?: number;

  /** ≥ 0, default 0. */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  offset?: number;
}

export const DEFAULT_PAGE_LIMIT = 20;
