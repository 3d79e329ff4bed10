import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { Db } from '../db/database.js';
import { deleteSetting, readSetting, readSettings, upsertSetting } from './statements.js';

/** Names of the global settings rows (table `setting`). */
export const SETTING_KEYS = {
  ingestPassword: 'ingest_password',
  tSyncResponseSeconds: 't_sync_response_seconds',
  resultTtlSeconds: 'result_ttl_seconds',
  publicBaseUrl: 'public_base_url',
} as const;

export interface SettingRow<T = unknown> {
  value: T;
  updatedAt: Date;
  updatedBy: string | null;
}

/** The rows RuntimeSettings is read from. */
export const RUNTIME_SETTING_KEYS: readonly string[] = [
  SETTING_KEYS.ingestPassword,
  SETTING_KEYS.tSyncResponseSeconds,
  SETTING_KEYS.resultTtlSeconds,
];

/** The runtime values an ingest needs, resolved from the settings table over the environment. */
export interface RuntimeSettings {
  tSyncResponseSeconds: number;
  resultTtlSeconds: number;
  ingestPasswordHash: string | undefined;
}

/**
 * Global settings as named JSON rows, read fresh from the database so that a change made on any
 * instance (e.g. a rotated ingest password) takes effect on the next request without a restart.
 */
export class SettingsStore {
  constructor(
    private readonly db: Db,
    private readonly config: Config,
    private readonly clock: Clock,
  ) {}

  async get<T>(key: string): Promise<SettingRow<T> | undefined> {
    const row = await readSetting(this.db, key);
    return row ? { value: row.value as T, updatedAt: row.updated_at, updatedBy: row.updated_by } : undefined;
  }

  async set(key: string, value: unknown, updatedBy: string | null): Promise<void> {
    await upsertSetting(this.db, { key, json: JSON.stringify(value), now: this.clock.now(), updatedBy });
  }

  async remove(key: string): Promise<void> {
    await deleteSetting(this.db, key);
  }

  /** One query for everything the ingest path reads. */
  async runtime(): Promise<RuntimeSettings> {
    const rows = await readSettings(this.db, RUNTIME_SETTING_KEYS);
    return this.runtimeOf(Object.fromEntries(rows.map((r) => [r.key, r.value])));
  }

  /** The runtime settings from the rows of RUNTIME_SETTING_KEYS (by key; absent ones fall back to the environment). */
  runtimeOf(byKey: Readonly<Record<string, unknown>>): RuntimeSettings {
    const tSync = byKey[SETTING_KEYS.tSyncResponseSeconds];
    const ttl = byKey[SETTING_KEYS.resultTtlSeconds];
    const password = byKey[SETTING_KEYS.ingestPassword] as { hash?: unknown } | undefined;
    return {
      tSyncResponseSeconds: typeof tSync === 'number' ? tSync : this.config.tSyncResponseSeconds,
      resultTtlSeconds: typeof ttl === 'number' ? ttl : this.config.resultTtlSeconds,
      ingestPasswordHash: typeof password?.hash === 'string' ? password.hash : undefined,
    };
  }
}

/** The public address saved in Settings (PHOTOCHANGER_PUBLIC_BASE_URL, when set, wins over it). */
export async function savedPublicAddress(settings: Pick<SettingsStore, 'get'>): Promise<string | undefined> {
  const row = await settings.get<unknown>(SETTING_KEYS.publicBaseUrl);
  return typeof row?.value === 'string' && row.value !== '' ? row.value : undefined;
}
