/**
 * AI models: their lifecycle (active → deprecated → shut down) and the live list a provider's API
 * serves to a key. Each provider keeps one table of the models it knows (gemini/models.ts,
 * openai/models.ts): ids, what each model accepts and when the provider retires it. Those tables
 * are the only place a model id is written (test/providers/model-tables.test.ts checks it).
 *
 * Models change every few months, so a table is a floor, not a fence: a model the provider lists
 * but the table does not know can still be chosen, with the provider's common parameters only.
 */
import type { Clock } from '../clock.js';
import { ProviderFailure } from './types.js';

export type ModelStatus = 'active' | 'deprecated' | 'shut_down';

export interface ModelLifecycle {
  id: string;
  /** What the provider calls it (e.g. "Nano Banana 2"). */
  title: string;
  /** Deprecated by the provider (implied by a shutdown date; set alone when no date is announced). */
  deprecated?: boolean;
  /** The day the provider stops serving it (UTC, YYYY-MM-DD), when announced. */
  shutdownDate?: string;
  /** The provider's documented replacement. */
  replacement?: string;
  /** Served by the provider before a general release (may change without notice). */
  preview?: boolean;
  /** One line for the operator: speed, price, what it is for. */
  note?: string;
}

/** The table of one provider's known models. */
export interface ModelTable<M extends ModelLifecycle> {
  provider: string;
  /** The company that serves the models, for messages ("Google", "OpenAI"). */
  vendor: string;
  /** What a new slot gets: a current model. */
  defaultModel: string;
  models: readonly M[];
  /** Where the facts come from and when they were read (docs/providers.md repeats it). */
  sources: readonly { url: string; read: string }[];
  /** Whether a model id from the provider's live list is an image model this driver can use. */
  isImageModel(id: string, entry: LiveModelEntry): boolean;
}

export function findModel<M extends ModelLifecycle>(table: ModelTable<M>, id: string): M | undefined {
  return table.models.find((m) => m.id === id);
}

/** A known model's status on a day: deprecated once a shutdown is announced, shut down from that day. */
export function modelStatus(model: Pick<ModelLifecycle, 'deprecated' | 'shutdownDate'>, now: Date): ModelStatus {
  if (!model.shutdownDate) return model.deprecated ? 'deprecated' : 'active';
  return now.getTime() >= Date.parse(`${model.shutdownDate}T00:00:00Z`) ? 'shut_down' : 'deprecated';
}

/**
 * The model to move a slot to: follows the documented replacements to the first active one (a
 * replacement may itself have been deprecated since), else the last one still served, else the
 * table's default. An active model is its own answer.
 */
export function replacementFor<M extends ModelLifecycle>(table: ModelTable<M>, id: string, now: Date): string {
  let current = findModel(table, id);
  let served: string | undefined;
  for (let hops = 0; current && hops <= table.models.length; hops++) {
    const status = modelStatus(current, now);
    if (status === 'active') return current.id;
    if (status === 'deprecated' && hops > 0) served ??= current.id;
    current = current.replacement ? findModel(table, current.replacement) : undefined;
  }
  return served ?? table.defaultModel;
}

/** One model as a provider's listing call returns it. */
export interface LiveModelEntry {
  id: string;
  displayName?: string;
  description?: string;
  /** The shutdown the provider announces in its listing (OpenAI's `shutdown_date`). */
  shutdownDate?: string;
}

/** A provider that can list the models its key may use (Gemini GET /v1beta/models, OpenAI GET /v1/models). */
export interface ModelLister {
  readonly modelTable: ModelTable<ModelLifecycle>;
  /** Every model the key can use, as the provider lists it (unfiltered). Throws ProviderFailure. */
  listModels(signal: AbortSignal): Promise<LiveModelEntry[]>;
}

/** A model as the slot editor offers it. */
export interface CatalogModel {
  id: string;
  title: string;
  status: ModelStatus;
  /** In the provider's table (its parameters are known) or only in the live list (common parameters). */
  known: boolean;
  /** Listed by the provider for this key right now (undefined: no live list). */
  live?: boolean;
  shutdown_date?: string;
  replacement?: string;
  preview?: boolean;
  note?: string;
}

export interface ModelCatalogView {
  provider: string;
  default_model: string;
  /** 'live': the provider's own list for the configured key; 'table': our table (no key, or the listing failed). */
  source: 'live' | 'table';
  fetched_at?: string;
  /** Why there is no live list (no key, the provider's answer). */
  live_error?: { reason: string; message: string };
  models: CatalogModel[];
}

interface CacheEntry {
  at: number;
  keyFingerprint: string;
  models: LiveModelEntry[];
  /** The image model ids among them, made once when the list is stored (the booth's path reads it). */
  imageIds: Set<string>;
}

/** The image model ids of a provider's live list. */
function imageIdsOf(lister: ModelLister, models: readonly LiveModelEntry[]): Set<string> {
  return new Set(models.filter((m) => lister.modelTable.isImageModel(m.id, m)).map((m) => m.id));
}

export interface ModelCatalogOptions {
  clock: Clock;
  /** How long a live list is used before it is asked again (default 1 h). */
  ttlMs?: number;
  /** A fingerprint of the provider's current key: a changed key lists again at once. */
  keyFingerprint(providerId: string): Promise<string | undefined>;
  /** Bound on one listing call. */
  timeoutMs?: number;
}

/**
 * The models of each provider: its table merged with what its API lists for the configured key,
 * cached per provider (and per key) for an hour. A failed listing is not cached for long (a minute),
 * so a key fixed in Settings shows its models at once.
 */
export class ModelCatalog {
  private readonly cache = new Map<string, CacheEntry>();
  private readonly failures = new Map<
    string,
    { at: number; keyFingerprint: string; error: { reason: string; message: string } }
  >();
  private readonly inFlight = new Map<string, Promise<LiveModelEntry[]>>();
  private readonly ttlMs: number;

  constructor(private readonly options: ModelCatalogOptions) {
    this.ttlMs = options.ttlMs ?? 60 * 60 * 1000;
  }

  /** Drops the cached list (after a key change). */
  invalidate(providerId?: string): void {
    if (providerId === undefined) {
      this.cache.clear();
      this.failures.clear();
    } else {
      this.cache.delete(providerId);
      this.failures.delete(providerId);
    }
  }

  /**
   * The image model ids of the provider's last live list while it is fresh (never a network call:
   * the booth's path asks this); undefined when there is none. A key change drops it (invalidate).
   */
  cachedLiveIds(lister: ModelLister): ReadonlySet<string> | undefined {
    const cached = this.cache.get(lister.modelTable.provider);
    if (!cached || this.options.clock.now().getTime() - cached.at >= this.ttlMs) return undefined;
    return cached.imageIds;
  }

  /**
   * A table model the key's fresh live list no longer offers, as the failure a call to it would
   * bring (model_unavailable with the replacement), without the call; undefined when it is listed
   * or there is no fresh list. The live list is the authority over our table.
   */
  unlisted(lister: ModelLister, model: string, request: { slotId: string; clock: Clock }): ProviderFailure | undefined {
    const live = this.cachedLiveIds(lister);
    if (!live || live.has(model)) return undefined;
    return modelUnavailable(lister.modelTable, model, request);
  }

  /** The image model ids the provider lists for the key (cached); undefined without a key or on failure. */
  async liveIds(lister: ModelLister): Promise<Set<string> | undefined> {
    const live = await this.live(lister);
    return 'models' in live ? imageIdsOf(lister, live.models) : undefined;
  }

  async view(lister: ModelLister): Promise<ModelCatalogView> {
    const table = lister.modelTable;
    const now = this.options.clock.now();
    const live = await this.live(lister);
    const liveImage = 'models' in live ? live.models.filter((m) => table.isImageModel(m.id, m)) : undefined;
    const liveIds = liveImage ? new Set(liveImage.map((m) => m.id)) : undefined;
    const models: CatalogModel[] = table.models
      .map((m) => ({
        // (a live shutdown date for a known model wins over ours: the provider announced it since)
        ...m,
        ...(liveImage?.find((l) => l.id === m.id)?.shutdownDate
          ? { shutdownDate: liveImage.find((l) => l.id === m.id)!.shutdownDate }
          : {}),
      }))
      .map((m) => ({
        id: m.id,
        title: m.title,
        status: modelStatus(m, now),
        known: true,
        ...(liveIds ? { live: liveIds.has(m.id) } : {}),
        ...(m.shutdownDate ? { shutdown_date: m.shutdownDate } : {}),
        ...(m.replacement ? { replacement: m.replacement } : {}),
        ...(m.preview ? { preview: true } : {}),
        ...(m.note ? { note: m.note } : {}),
      }));
    for (const entry of liveImage ?? []) {
      if (findModel(table, entry.id)) continue;
      models.push({
        id: entry.id,
        title: entry.displayName ?? entry.id,
        status: modelStatus({ ...(entry.shutdownDate ? { shutdownDate: entry.shutdownDate } : {}) }, now),
        known: false,
        live: true,
        ...(entry.shutdownDate ? { shutdown_date: entry.shutdownDate } : {}),
      });
    }
    return {
      provider: table.provider,
      default_model: table.defaultModel,
      source: 'models' in live ? 'live' : 'table',
      ...('models' in live ? { fetched_at: new Date(live.at).toISOString() } : { live_error: live.error }),
      models,
    };
  }

  private async live(
    lister: ModelLister,
  ): Promise<{ models: LiveModelEntry[]; at: number } | { error: { reason: string; message: string } }> {
    const provider = lister.modelTable.provider;
    const fingerprint = await this.options.keyFingerprint(provider);
    if (!fingerprint)
      return {
        error: {
          reason: 'provider_not_configured',
          message: `No API key is configured for ${provider}: the list below is the built-in table`,
        },
      };
    const now = this.options.clock.now().getTime();
    const cached = this.cache.get(provider);
    if (cached && cached.keyFingerprint === fingerprint && now - cached.at < this.ttlMs)
      return { models: cached.models, at: cached.at };
    const failed = this.failures.get(provider);
    if (failed && failed.keyFingerprint === fingerprint && now - failed.at < 60_000) return { error: failed.error };
    // Joined only by callers with the same key: a listing started with the old key never answers for a new one.
    const flightKey = `${provider}:${fingerprint}`;
    let pending = this.inFlight.get(flightKey);
    if (!pending) {
      pending = lister
        .listModels(AbortSignal.timeout(this.options.timeoutMs ?? 10_000))
        .finally(() => this.inFlight.delete(flightKey));
      this.inFlight.set(flightKey, pending);
    }
    try {
      const models = await pending;
      this.cache.set(provider, { at: now, keyFingerprint: fingerprint, models, imageIds: imageIdsOf(lister, models) });
      this.failures.delete(provider);
      return { models, at: now };
    } catch (err) {
      const error = {
        reason: (err as { reason?: string }).reason ?? 'provider_unreachable',
        message: (err as Error).message,
      };
      this.failures.set(provider, { at: now, keyFingerprint: fingerprint, error });
      return { error };
    }
  }
}

export function isModelLister(driver: unknown): driver is ModelLister {
  return (
    typeof (driver as Partial<ModelLister>)?.listModels === 'function' &&
    (driver as Partial<ModelLister>).modelTable !== undefined
  );
}

/**
 * The rules every provider applies to a slot's `model`: a shut-down model cannot be saved (its
 * replacement is named), and an id our table does not know must be one the provider lists for
 * this key when a live list is at hand.
 */
export function checkModelChoice<M extends ModelLifecycle>(
  table: ModelTable<M>,
  id: string,
  context: { now: Date; liveModelIds?: ReadonlySet<string> },
): { path: string; message: string }[] {
  const known = findModel(table, id);
  if (known) {
    if (modelStatus(known, context.now) === 'shut_down') {
      return [
        {
          path: '/model',
          message: `${id} was shut down by ${table.vendor} on ${known.shutdownDate}: choose ${replacementFor(table, id, context.now)}`,
        },
      ];
    }
    return [];
  }
  if (context.liveModelIds && !context.liveModelIds.has(id)) {
    return [{ path: '/model', message: `${table.vendor} does not offer ${id} to this API key` }];
  }
  return [];
}

/**
 * The provider answered that the slot's model does not exist: one failure the operator can act on
 * ("switch slot-003 to …"), never retried, counted as provider_error / model_unavailable.
 */
export function modelUnavailable<M extends ModelLifecycle>(
  table: ModelTable<M>,
  model: string,
  request: { slotId: string; clock: Clock },
): ProviderFailure {
  const replacement = replacementFor(table, model, request.clock.now());
  const instead = replacement === model ? table.defaultModel : replacement;
  return new ProviderFailure(
    'model_unavailable',
    `The model ${model} no longer exists at ${table.vendor} (or this key cannot use it); switch ${request.slotId} to ${instead}`,
    { httpStatus: 404 },
  );
}
