import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsOptional, registerDecorator } from 'class-validator';

/** Plain decimal digits: no sign, exponent, hex prefix, spaces or fraction (docs/api.md §1.6). */
const DECIMAL = /^[0-9]{1,16}$/;

/**
 * A query parameter holding a whole number from `min` to `max`, written in decimal digits and
 * given once. Anything else stays as sent, so that the check below refuses it by name.
 */
function IsQueryInteger(min: number, max: number): PropertyDecorator {
  const toNumber = Transform(({ value }: { value: unknown }) => (typeof value === 'string' && DECIMAL.test(value) ? Number(value) : value));
  return (target, propertyName) => {
    toNumber(target, propertyName);
    const name = String(propertyName);
    registerDecorator({
      name: 'isQueryInteger',
      target: target.constructor,
      propertyName: name,
      validator: {
        validate: (value: unknown) => typeof value === 'number' && Number.isSafeInteger(value) && value >= min && value <= max,
        defaultMessage: (args) =>
          Array.isArray(args?.value)
            ? `${name} must be given at most once`
            : `${name} must be a whole number from ${min} to ${max}, written in decimal digits only`,
      },
    });
  };
}

/** `?limit=&offset=` of list routes: limit 1..100 (default 20), offset ≥ 0 (default 0). */
export class PaginationQueryDto {
  /** 1..100, default 20. */
  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 100 })
  @IsOptional()
  @IsQueryInteger(1, 100)
  limit?: number;

  /** ≥ 0, default 0. */
  @ApiPropertyOptional({ type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER })
  @IsOptional()
  @IsQueryInteger(0, Number.MAX_SAFE_INTEGER)
  offset?: number;
}

export const DEFAULT_PAGE_LIMIT = 20;
