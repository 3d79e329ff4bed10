/**
 * Every write of a slot goes through here (the editor's save, the one-click model switch), and the
 * test run's unsaved draft is validated the same way: validation against the provider's schema
 * (with the provider's live model list for an id the table does not know), the conditional update
 * (optimistic concurrency on `updated_at`), the 409 for a stale copy, the audit entry.
 */
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { Db } from '../db/database.js';
import type { Failover } from '../db/schema.js';
import { AppError, invalidFields } from '../errors.js';
import { audit } from '../auth/accounts.js';
import { parseUntrustedJson } from '../json-safety.js';
import { findModel, replacementFor, type ModelCatalog } from '../providers/models.js';
import type { ProviderRegistry } from '../providers/registry.js';
import { settingsForModel } from './models.js';
import { parseEtag, validateSlotInput, type SlotInput, type SlotView } from './service.js';
import type { PublicAddress } from '../ops/public-address.js';
import { updateSlotIfUnchanged, type SlotRecord } from './statements.js';

export interface SlotSaveDeps {
  db: Db;
  clock: Clock;
  config: Config;
  providers: ProviderRegistry;
  models: ModelCatalog;
  publicAddress: PublicAddress;
}

/** The input validated like any save: an unknown model id is checked against the provider's live list (cached). */
export async function validatedSlot(deps: SlotSaveDeps, input: SlotInput): Promise<SlotInput> {
  const lister = deps.providers.models(input.provider);
  const model = input.settings?.model;
  const liveModelIds =
    lister && typeof model === 'string' && !findModel(lister.modelTable, model)
      ? await deps.models.liveIds(lister)
      : undefined;
  const config = { maxUploadBytes: deps.config.maxUploadBytes, publicBaseUrl: deps.publicAddress.configured()?.url };
  return validateSlotInput(input, deps.providers, config, {
    now: deps.clock.now(),
    ...(liveModelIds ? { liveModelIds } : {}),
  });
}

/**
 * Saves a slot if nobody changed it since `expected` (else 409 with the slot as it is now), and
 * audits the fields that changed (`auditFields`, or those that differ from `before`).
 */
export async function saveSlot(
  deps: SlotSaveDeps,
  change: {
    id: string;
    expected: Date;
    before: SlotRecord;
    input: SlotInput;
    actor: string;
    action: string;
    auditFields?: string[];
    current: () => Promise<SlotView>;
  },
): Promise<void> {
  const input = await validatedSlot(deps, change.input);
  const written = await updateSlotIfUnchanged(
    deps.db,
    change.id,
    change.expected,
    {
      name: input.name,
      enabled: input.enabled,
      provider: input.provider,
      operation: input.operation,
      settings: input.settings,
      maxUploadBytes: input.max_upload_bytes,
      ...(input.failover ? { failover: input.failover } : {}),
    },
    deps.clock.now(),
  );
  if (!written) throw slotChangedMeanwhile(await change.current());
  await audit(deps.db, deps.clock, {
    actor: change.actor,
    action: change.action,
    target: change.id,
    fields: change.auditFields ?? changedFields(change.before, input),
  });
}

/** The fields a save changes (names as in the API), for the audit log (never the values). */
function changedFields(before: SlotRecord, input: SlotInput): string[] {
  const old = {
    name: before.name,
    enabled: before.enabled,
    provider: before.provider,
    operation: before.operation,
    settings: before.settings,
    max_upload_bytes: before.maxUploadBytes,
    failover: before.failover,
  };
  return (['name', 'enabled', 'provider', 'operation', 'settings', 'max_upload_bytes', 'failover'] as const).filter(
    (k) => !(k === 'failover' && input.failover === undefined) && JSON.stringify(old[k]) !== JSON.stringify(input[k]),
  );
}

/** 409 `conflict` for a write made on a stale copy of the slot: `details.current` is the slot now. */
function slotChangedMeanwhile(current: SlotView): AppError {
  return new AppError(
    'conflict',
    'The slot was changed by someone else since you loaded it; reload and apply your change again',
    {
      details: { current },
    },
  );
}

/** The saved slot with the editor's unsaved provider, operation and settings (the test run's `draft`, validated like a save). */
export async function draftSlot(deps: SlotSaveDeps, saved: SlotRecord, draftText: string): Promise<SlotRecord> {
  let draft: { provider?: unknown; operation?: unknown; settings?: unknown; failover?: unknown };
  try {
    draft = parseUntrustedJson(draftText) as typeof draft;
  } catch {
    throw new AppError('invalid_request', 'The draft field is not valid JSON');
  }
  if (
    typeof draft !== 'object' ||
    draft === null ||
    typeof draft.provider !== 'string' ||
    typeof draft.operation !== 'string' ||
    typeof draft.settings !== 'object' ||
    draft.settings === null
  ) {
    throw new AppError('invalid_request', 'The draft field must be {provider, operation, settings}');
  }
  const input = await validatedSlot(deps, {
    name: saved.name,
    enabled: true,
    provider: draft.provider,
    operation: draft.operation,
    settings: draft.settings as Record<string, unknown>,
    max_upload_bytes: saved.maxUploadBytes,
    ...(isFailover(draft.failover) ? { failover: draft.failover } : {}),
  });
  return {
    ...saved,
    provider: input.provider,
    operation: input.operation,
    settings: input.settings,
    failover: input.failover ?? saved.failover,
  };
}

function isFailover(value: unknown): value is Failover {
  const f = value as Failover | undefined;
  return (
    typeof f === 'object' &&
    f !== null &&
    typeof f.on_safety === 'boolean' &&
    Array.isArray(f.steps) &&
    f.steps.every(
      (s) =>
        typeof s?.provider === 'string' &&
        typeof s.operation === 'string' &&
        typeof s.settings === 'object' &&
        s.settings !== null,
    )
  );
}

/** The version a write was made on: `If-Match` (the ETag of GET) or `updated_at` in the body; 400 without either. */
export function expectedVersion(ifMatch: string | string[] | undefined, updatedAt: string | undefined): Date {
  const expected = typeof ifMatch === 'string' ? parseEtag(ifMatch) : updatedAt ? new Date(updatedAt) : undefined;
  if (!expected || Number.isNaN(expected.getTime())) {
    throw new AppError(
      'invalid_request',
      'Send If-Match with the slot ETag, or updated_at from GET, so that concurrent edits are detected',
      {
        details: { required: ['If-Match', 'updated_at'] },
      },
    );
  }
  return expected;
}

/**
 * Moves a slot to another model of its provider (`model`, or the documented replacement of its
 * current one), dropping the settings the new model does not take, in one save.
 */
export async function switchSlotModel(
  deps: SlotSaveDeps,
  change: {
    slot: SlotRecord;
    model: string | undefined;
    expected: Date;
    actor: string;
    current: () => Promise<SlotView>;
  },
): Promise<{ current: string; target: string; moved: { settings: Record<string, unknown>; dropped: string[] } }> {
  const { slot } = change;
  const lister = deps.providers.models(slot.provider);
  if (!lister)
    throw invalidFields(`${slot.provider} has no models to choose from`, [{ path: '/provider', message: 'no models' }]);
  const now = deps.clock.now();
  const current = typeof slot.settings.model === 'string' ? slot.settings.model : lister.modelTable.defaultModel;
  const target = change.model ?? replacementFor(lister.modelTable, current, now);
  const moved = settingsForModel(deps.providers, slot.provider, slot.operation, slot.settings, target, now);
  await saveSlot(deps, {
    id: slot.id,
    expected: change.expected,
    before: slot,
    input: {
      name: slot.name,
      enabled: slot.enabled,
      provider: slot.provider,
      operation: slot.operation,
      settings: moved.settings,
      max_upload_bytes: slot.maxUploadBytes,
    },
    actor: change.actor,
    action: 'slot.switch_model',
    auditFields: ['settings.model', ...moved.dropped.map((d) => `settings.${d}`)],
    current: change.current,
  });
  return { current, target, moved };
}
