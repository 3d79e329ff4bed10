import { describe, expect, it } from 'vitest';
import { requireKeyAlongside, staticKeySource, type ProviderKeySource } from '../../src/providers/keys.js';
import { ProviderFailure } from '../../src/providers/types.js';

describe('requireKeyAlongside', () => {
  it('reads the key while the work runs, and returns both', async () => {
    let release: (key: string) => void = () => undefined;
    const slowKey: ProviderKeySource = { get: () => new Promise((resolve) => (release = resolve)) };
    const order: string[] = [];
    const pending = requireKeyAlongside(slowKey, 'gemini', 'Gemini', async () => {
      order.push('work started');
      return 42;
    });
    await new Promise((r) => setTimeout(r, 10));
    expect(order).toEqual(['work started']); // the work did not wait for the key
    release('  the-key ');
    expect(await pending).toEqual(['the-key', 42]);
  });

  it('a missing key is the failure, whatever the work did', async () => {
    const failedWork = requireKeyAlongside(staticKeySource({}), 'gemini', 'Gemini', async () => {
      throw new Error('the photo is broken');
    });
    await expect(failedWork).rejects.toMatchObject({
      reason: 'provider_not_configured',
      message: 'No API key configured for Gemini',
    });
    await expect(
      requireKeyAlongside(staticKeySource({ gemini: ' ' }), 'gemini', 'Gemini', async () => 1),
    ).rejects.toBeInstanceOf(ProviderFailure);
  });

  it('with a key, the work’s own failure comes through', async () => {
    await expect(
      requireKeyAlongside(staticKeySource({ gemini: 'k' }), 'gemini', 'Gemini', async () => {
        throw new Error('the photo is broken');
      }),
    ).rejects.toThrow('the photo is broken');
  });
});
