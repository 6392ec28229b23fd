import { describe, expect, it } from 'vitest';
import { redactSecrets } from './secrets.js';

describe('redactSecrets', () => {
  const secret = 'tok+en/with "quotes" & spaces';

  it('replaces the value as written', () => {
    expect(redactSecrets(`key=${secret}.`, [secret])).toBe('key=[redacted].');
  });

  it('replaces the spellings a URL, a form and a JSON body give it, as an echoing server would return them', () => {
    const url = `https://api.example/q?key=${encodeURIComponent(secret)}`;
    const form = `key=${encodeURIComponent(secret).replace(/%20/g, '+')}`;
    const json = JSON.stringify({ key: secret });

    expect(redactSecrets(url, [secret])).toBe('https://api.example/q?key=[redacted]');
    expect(redactSecrets(form, [secret])).toBe('key=[redacted]');
    expect(redactSecrets(json, [secret])).toBe('{"key":"[redacted]"}');
  });

  it('leaves values shorter than 4 characters alone, so that ordinary words survive', () => {
    expect(redactSecrets('abc abcd', ['abc'])).toBe('abc abcd');
  });
});
