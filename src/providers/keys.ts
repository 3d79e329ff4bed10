import type { Config } from '../config.js';
import { ProviderFailure } from './types.js';

/**
 * Where a driver reads its provider's API key, at the moment of each call (so a key changed in the
 * admin settings takes effect without a restart). The settings-backed source (encrypted keys with
 * the environment as fallback) implements the same interface.
 */
export interface ProviderKeySource {
  get(providerId: string): Promise<string | undefined>;
}

/** Keys from PHOTOCHANGER_{GEMINI,OPENAI,TURBOTEXT}_API_KEY. */
export function envKeySource(config: Pick<Config, 'providers'>): ProviderKeySource {
  return {
    get: async (providerId) => {
      const entry = (config.providers as Record<string, { apiKey: string | undefined } | undefined>)[providerId];
      const key = entry?.apiKey?.trim();
      return key === undefined || key === '' ? undefined : key;
    },
  };
}

/** A fixed map of keys (tests, scripts). */
export function staticKeySource(keys: Record<string, string | undefined>): ProviderKeySource {
  return { get: async (providerId) => keys[providerId] };
}

/** The key, or the typed failure every driver raises when none is configured. */
export async function requireKey(keys: ProviderKeySource, providerId: string, title: string): Promise<string> {
  const key = (await keys.get(providerId))?.trim();
  if (!key) throw new ProviderFailure('provider_not_configured', `No API key configured for ${title}`);
  return key;
}

/**
 * The key and the result of `work` (preparing the images) at once: the key's read from the
 * settings waits behind the image work instead of before it. A missing key is still the failure
 * reported, whatever the work did (as if the key had been read first); nothing else changes.
 */
export async function requireKeyAlongside<T>(
  keys: ProviderKeySource,
  providerId: string,
  title: string,
  work: () => Promise<T>,
): Promise<[string, T]> {
  const key = requireKey(keys, providerId, title);
  key.catch(() => undefined);
  try {
    const value = await work();
    return [await key, value];
  } catch (err) {
    await key;
    throw err;
  }
}

/** Whether a non-blank key is configured (for readiness). */
export async function hasKey(keys: ProviderKeySource, providerId: string): Promise<boolean> {
  return Boolean((await keys.get(providerId))?.trim());
}
