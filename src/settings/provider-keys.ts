import type { Config } from '../config.js';
import { envKeySource, type ProviderKeySource } from '../providers/keys.js';
import type { SecretBox } from './secrets.js';
import type { SettingsStore } from './store.js';

/** Providers whose API key an administrator can set. */
export const KEYED_PROVIDERS = ['gemini', 'openai', 'turbotext'] as const;
export type KeyedProvider = (typeof KEYED_PROVIDERS)[number];

export const providerKeySetting = (provider: string) => `provider_key.${provider}`;

export interface ProviderKeyStatus {
  configured: boolean;
  source: 'settings' | 'environment' | null;
  updated_at: string | null;
}

/**
 * Provider API keys: the one stored (encrypted) in the settings wins over the environment. Read at
 * each provider call, so a key saved in the admin settings works on the next job, on every
 * instance, without a restart.
 */
export class StoredProviderKeys implements ProviderKeySource {
  private readonly env: ProviderKeySource;

  constructor(
    private readonly settings: SettingsStore,
    private readonly box: SecretBox,
    config: Pick<Config, 'providers'>,
  ) {
    this.env = envKeySource(config);
  }

  async get(providerId: string): Promise<string | undefined> {
    const row = await this.settings.get(providerKeySetting(providerId));
    const stored = row ? this.box.open(providerKeySetting(providerId), row.value) : undefined;
    return stored?.trim() ? stored.trim() : this.env.get(providerId);
  }

  async set(providerId: KeyedProvider, key: string | null, updatedBy: string): Promise<void> {
    const name = providerKeySetting(providerId);
    if (key === null || key.trim() === '') await this.settings.remove(name);
    else await this.settings.set(name, this.box.seal(name, key.trim()), updatedBy);
  }

  async status(providerId: KeyedProvider): Promise<ProviderKeyStatus> {
    const row = await this.settings.get(providerKeySetting(providerId));
    if (row && this.box.open(providerKeySetting(providerId), row.value)) {
      return { configured: true, source: 'settings', updated_at: row.updatedAt.toISOString() };
    }
    const fromEnv = await this.env.get(providerId);
    return {
      configured: fromEnv !== undefined,
      source: fromEnv !== undefined ? 'environment' : null,
      updated_at: null,
    };
  }
}
