import { describe, expect, it } from 'vitest';
import { decodeBase64Strict } from '../../src/providers/http.js';

/** Providers send images as base64; a corrupt answer must be an invalid_response, not a broken photo. */
describe('strict base64 of provider answers', () => {
  const bytes = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 37) % 256));
  const text = bytes.toString('base64');

  it('decodes one unbroken line, padded or not, and a line-wrapped one', () => {
    expect(decodeBase64Strict(text)?.equals(bytes)).toBe(true);
    expect(decodeBase64Strict(Buffer.from('ab').toString('base64'))?.toString()).toBe('ab');
    expect(decodeBase64Strict(text.replace(/(.{76})/g, '$1\r\n'))?.equals(bytes)).toBe(true);
  });

  it('refuses garbage anywhere, padding in the middle, an impossible length and nothing', () => {
    expect(decodeBase64Strict(`${text.slice(0, 100)}!!!!${text.slice(104)}`)).toBeUndefined();
    expect(decodeBase64Strict(`${text.slice(0, 100)}<ht${text.slice(103)}`)).toBeUndefined();
    expect(decodeBase64Strict(`AA==${text}`)).toBeUndefined();
    expect(decodeBase64Strict('A')).toBeUndefined();
    expect(decodeBase64Strict('')).toBeUndefined();
    expect(decodeBase64Strict('====')).toBeUndefined();
  });
});
