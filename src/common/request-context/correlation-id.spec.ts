import { describe, expect, it } from 'vitest';
import { correlationIdFrom } from './correlation-id.js';

describe('correlationIdFrom', () => {
  it.each(['abc', 'A-b_c.d:e', 'x'.repeat(128), '01HZX3K9N4']) ('reuses %j', (id) => expect(correlationIdFrom(id)).toBe(id));
  it.each(['', 'x'.repeat(129), 'has space', 'semi;colon', 'ünïcode', 'new\nline'])('replaces %j with a ULID', (id) => {
    expect(correlationIdFrom(id)).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
  });
  it('makes a new id when the header is missing, and takes the first of repeated headers', () => {
    expect(correlationIdFrom(undefined)).toHaveLength(26);
    expect(correlationIdFrom(['first', 'second'])).toBe('first');
  });
});
