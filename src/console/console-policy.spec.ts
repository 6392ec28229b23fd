import { describe, expect, it } from 'vitest';
import { acceptsGzip, noneMatch } from './console-policy.js';

describe('acceptsGzip', () => {
  it.each([
    ['gzip, deflate, br', true],
    ['br;q=1.0, gzip;q=0.8', true],
    ['gzip;q=0', false],
    ['gzip; q=0.000', false],
    ['deflate, gzip;q=0, *', false],
    ['*', true],
    ['*;q=0', false],
    ['identity', false],
    ['', false],
    [undefined, false],
    ['x-gzip', true],
    ['notgzip', false],
  ])('%j → %s', (header, expected) => expect(acceptsGzip(header)).toBe(expected));
});

describe('noneMatch', () => {
  const etag = '"abc"';
  it.each([
    ['"abc"', true],
    ['W/"abc"', true],
    ['"x", W/"abc"', true],
    ['*', true],
    ['"abc-gz"', false],
    ['"ab"', false],
    [undefined, false],
  ])('%j → %s', (header, expected) => expect(noneMatch(header, etag)).toBe(expected));
});
