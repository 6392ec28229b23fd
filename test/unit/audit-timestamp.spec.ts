import { describe, expect, it } from 'vitest';
import { parseTimestamp } from '../../src/audit/audit-timestamp.js';

const us = (iso: string): bigint => BigInt(Date.parse(iso)) * 1000n;

describe('parseTimestamp (audit since/until)', () => {
  it.each([
    ['2026-11-30T00:00:00Z', us('2026-11-30T00:00:00Z')],
    ['2026-11-30t00:00:00z', us('2026-11-30T00:00:00Z')],
    ['2026-11-30 01:30:00+01:30', us('2026-11-30T00:00:00Z')],
    ['2026-11-29T19:00:00-05:00', us('2026-11-30T00:00:00Z')],
    ['2026-11-30', us('2026-11-30T00:00:00Z')],
    ['2024-02-29T12:00:00Z', us('2024-02-29T12:00:00Z')],
    ['2026-11-30T00:00:00.5Z', us('2026-11-30T00:00:00Z') + 500_000n],
    ['2026-11-30T00:00:00.123456Z', us('2026-11-30T00:00:00Z') + 123_456n],
    ['0001-01-01T00:00:00Z', -62_135_596_800_000_000n],
    ['0099-06-01T00:00:00Z', BigInt(new Date('0099-06-01T00:00:00Z').getTime()) * 1000n],
    ['9999-12-31T23:59:59.999999Z', 253_402_300_799_999_999n],
  ])('reads %s exactly, to the microsecond', (text, expected) => {
    expect(parseTimestamp(text)).toBe(expected);
  });

  it.each([
    ['2026-01-01T00:00:60Z', 'a leap second'],
    ['0000-01-01T00:00:00Z', 'year 0'],
    ['2026-02-31', 'a day February does not have'],
    ['2026-02-29T00:00:00Z', 'February 29 of a common year'],
    ['1900-02-29T00:00:00Z', 'February 29 of a century year'],
    ['2026-04-31T00:00:00Z', 'April 31'],
    ['2026-13-01T00:00:00Z', 'month 13'],
    ['2026-00-10T00:00:00Z', 'month 0'],
    ['2026-01-01T24:00:00Z', 'hour 24'],
    ['2026-01-01T00:60:00Z', 'minute 60'],
    ['2026-01-01T00:00:00+24:00', 'an offset of 24 hours'],
    ['2026-01-01T00:00:00.1234567Z', 'seven fractional digits (would be rounded)'],
    ['2026-01-01T00:00:00', 'no offset'],
    ['2026-01-01T00:00Z', 'no seconds'],
    ['yesterday', 'words'],
    ['2026-01-01T00:00:00Z\n', 'a trailing newline'],
  ])('refuses %s (%s)', (text) => {
    expect(parseTimestamp(text)).toBeUndefined();
  });
});
