/**
 * The AI model a slot uses, seen from the slot: its lifecycle for the slot list and editor, and the
 * start-up move of slots off models their provider has shut down (to the documented replacement,
 * with an audit entry, a log line and a notice on the slot).
 */
import { audit } from '../auth/accounts.js';
import type { Clock } from '../clock.js';
import type { Db } from '../db/database.js';
import type { SlotNotice } from '../db/schema.js';
import type { Logger } from '../logger.js';
import { findModel, modelStatus, replacementFor, type ModelLister, type ModelStatus } from '../providers/models.js';
import type { ProviderRegistry } from '../providers/registry.js';
import { listSlotSettingsForProvider, replaceSlotSettingsWithNotice } from './statements.js';

export interface SlotModelView {
  id: string;
  title: string;
  status: ModelStatus;
  /** In the provider's table; false: chosen from the live list (common parameters only). */
  known: boolean;
  shutdown_date?: string;
  /** Where to move (deprecated, shut-down or unavailable models). */
  replacement?: string;
  /** false: the key's live model list no longer offers it (whatever our table says): its jobs fail at once. */
  available?: false;
}

/**
 * The model of a slot's settings, when its provider has models. With the key's live list at hand
 * (`liveIds`, the catalog's fresh cache), a model it no longer offers is marked unavailable, with
 * where to move.
 */
export function slotModelView(
  providers: ProviderRegistry,
  provider: string,
  settings: Record<string, unknown>,
  now: Date,
  liveIds?: (lister: ModelLister) => ReadonlySet<string> | undefined,
): SlotModelView | undefined {
  const lister = providers.models(provider);
  const id = typeof settings.model === 'string' ? settings.model : lister?.modelTable.defaultModel;
  if (!lister || !id) return undefined;
  const known = findModel(lister.modelTable, id);
  const live = liveIds?.(lister);
  const unlisted = live !== undefined && !live.has(id);
  if (!known)
    return {
      id,
      title: id,
      status: 'active',
      known: false,
      ...(unlisted ? { available: false as const, replacement: lister.modelTable.defaultModel } : {}),
    };
  const status = modelStatus(known, now);
  const replacement = replacementFor(lister.modelTable, id, now);
  return {
    id,
    title: known.title,
    status,
    known: true,
    ...(known.shutdownDate ? { shutdown_date: known.shutdownDate } : {}),
    ...(status !== 'active' ? { replacement } : {}),
    ...(unlisted && status !== 'shut_down'
      ? { available: false as const, replacement: replacement === id ? lister.modelTable.defaultModel : replacement }
      : {}),
  };
}

/**
 * Settings moved to another model: the model replaced and every setting the new model does not
 * take removed (as the operation's own checks say), so the slot stays valid.
 */
export function settingsForModel(
  providers: ProviderRegistry,
  provider: string,
  operationId: string,
  settings: Record<string, unknown>,
  model: string,
  now: Date,
): { settings: Record<string, unknown>; dropped: string[] } {
  const next: Record<string, unknown> = { ...settings, model };
  const operation = providers.operation(provider, operationId);
  const dropped: string[] = [];
  for (const problem of operation?.checkSettings?.(next, { now }) ?? []) {
    const field = /^\/([^/]+)$/.exec(problem.path)?.[1];
    if (field && field !== 'model' && field in next) {
      delete next[field];
      dropped.push(field);
    }
  }
  return { settings: next, dropped };
}

/** At start: every slot on a shut-down model moves to its replacement. Returns the slots moved. */
export async function migrateShutDownModels(deps: {
  db: Db;
  clock: Clock;
  log: Logger;
  providers: ProviderRegistry;
}): Promise<string[]> {
  const { db, clock, log, providers } = deps;
  const now = clock.now();
  const moved: string[] = [];
  for (const driver of providers.list()) {
    const lister = providers.models(driver.id);
    if (!lister) continue;
    for (const slot of await listSlotSettingsForProvider(db, driver.id)) {
      const from = typeof slot.settings.model === 'string' ? slot.settings.model : undefined;
      const known = from ? findModel(lister.modelTable, from) : undefined;
      if (!from || !known || modelStatus(known, now) !== 'shut_down') continue;
      const to = replacementFor(lister.modelTable, from, now);
      const { settings, dropped } = settingsForModel(providers, driver.id, slot.operation, slot.settings, to, now);
      const notice: SlotNotice = { kind: 'model_migrated', from, to, dropped, at: now.toISOString() };
      if (!(await replaceSlotSettingsWithNotice(db, slot.id, slot.settings, { settings, notice }, now))) continue;
      await audit(db, clock, {
        actor: 'system',
        action: 'slot.model_migrated',
        target: slot.id,
        fields: ['settings.model', ...dropped.map((d) => `settings.${d}`)],
      });
      log.warn(
        { slot_id: slot.id, from, to, dropped },
        `${slot.id}: ${lister.modelTable.vendor} shut down ${from} on ${known.shutdownDate}; the slot now uses ${to}`,
      );
      moved.push(slot.id);
    }
  }
  return moved;
}
