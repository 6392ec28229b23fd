import { ValidateBy, type ValidationOptions } from 'class-validator';

/** RFC 3339 (section 5.6) date-time, or a full-date alone (midnight UTC). */
const RFC3339 =
  /^([0-9]{4})-([0-9]{2})-([0-9]{2})(?:[Tt ]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,6}))?(?:([Zz])|([+-])([0-9]{2}):([0-9]{2})))?$/;

/**
 * The instant an RFC 3339 timestamp names, in microseconds since the epoch (PostgreSQL's
 * precision), or undefined when the text is not one: a day the month does not have, a leap
 * second (60, which neither JavaScript nor PostgreSQL represents), year 0000, or more than six
 * fractional digits (they could only be rounded, moving an inclusive/exclusive boundary).
 */
export function parseTimestamp(text: string): bigint | undefined {
  const match = RFC3339.exec(text);
  if (!match) return undefined;
  const [, year, month, day, hour = '00', minute = '00', second = '00', fraction = '', , sign, offsetHour, offsetMinute] = match;
  const y = Number(year);
  const m = Number(month);
  const d = Number(day);
  if (y < 1 || m < 1 || m > 12 || d < 1 || d > daysIn(y, m)) return undefined;
  if (Number(hour) > 23 || Number(minute) > 59 || Number(second) > 59) return undefined;
  let offsetMinutes = 0;
  if (sign !== undefined) {
    if (Number(offsetHour) > 23 || Number(offsetMinute) > 59) return undefined;
    offsetMinutes = (sign === '-' ? -1 : 1) * (Number(offsetHour) * 60 + Number(offsetMinute));
  }
  // setUTCFullYear, not Date.UTC: Date.UTC reads years 0..99 as 1900..1999.
  const date = new Date(0);
  date.setUTCFullYear(y, m - 1, d);
  date.setUTCHours(Number(hour), Number(minute) - offsetMinutes, Number(second), 0);
  return BigInt(date.getTime()) * 1000n + BigInt(fraction.padEnd(6, '0'));
}

function daysIn(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/** An RFC 3339 timestamp that names a real instant (parseTimestamp). */
export function IsAuditTimestamp(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isAuditTimestamp',
      validator: {
        validate: (value: unknown) => typeof value === 'string' && parseTimestamp(value) !== undefined,
        defaultMessage: (args) =>
          `${args?.property ?? 'value'} must be an RFC 3339 timestamp of a real instant (e.g. 2026-11-30T00:00:00Z), at most microsecond precision`,
      },
    },
    options,
  );
}
