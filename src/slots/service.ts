import { Value } from 'typebox/value';
import type { Config } from '../config.js';
import { invalidFields, type FieldError } from '../errors.js';
import { NO_FAILOVER, type Failover } from '../db/schema.js';
import type { ProviderRegistry } from '../providers/registry.js';
import type { SettingsCheckContext } from '../providers/types.js';
import type { SlotApiView, TemplateApiView } from './schemas.js';
import { slotCoreOf, type SlotAdminRow, type SlotCore, type TemplateRow } from './statements.js';
import type { SlotModelView } from './models.js';

export interface SlotInput extends Omit<SlotCore, 'id'> {
  max_upload_bytes: number | null;
  /** Providers to try when the slot's own fails (absent: keep the saved ones). */
  failover?: Failover;
}

/** At most this many providers after the slot's own. */
export const MAX_FAILOVER_STEPS = 3;

/**
 * A slot's settings checked against its provider/operation schema (the same schema the catalog
 * shows and the worker applies defaults from). Throws 422 invalid_settings listing every failing
 * field as a JSON pointer into the request body (`/settings/prompt`).
 */
export function validateSlotInput(
  input: SlotInput,
  providers: ProviderRegistry,
  config: Pick<Config, 'maxUploadBytes'> & { publicBaseUrl: string | undefined },
  context: SettingsCheckContext,
): SlotInput {
  const errors: FieldError[] = [];
  const driver = providers.get(input.provider);
  const operation = driver?.operations.find((o) => o.id === input.operation);
  if (!driver)
    errors.push({
      path: '/provider',
      message: `Unknown provider "${input.provider}"; known: ${providers
        .list()
        .map((p) => p.id)
        .join(', ')}`,
    });
  else if (!operation)
    errors.push({
      path: '/operation',
      message: `${driver.title} has no operation "${input.operation}"; known: ${driver.operations.map((o) => o.id).join(', ')}`,
    });
  let settings = input.settings;
  if (operation) {
    settings = Value.Default(operation.settingsSchema, structuredClone(input.settings)) as Record<string, unknown>;
    const schemaErrors = [...Value.Errors(operation.settingsSchema, settings)];
    for (const e of schemaErrors) errors.push({ path: `/settings${e.instancePath}`, message: e.message });
    if (schemaErrors.length === 0) {
      for (const p of operation.checkSettings?.(settings, context) ?? [])
        errors.push({ path: `/settings${p.path}`, message: p.message });
    }
  }
  if (driver?.requiresPublicBaseUrl && !config.publicBaseUrl) {
    errors.push({
      path: '/provider',
      message: `${driver.title} fetches the photo by URL: set this server's public address first (Settings → Public address)`,
    });
  }
  const limit = input.max_upload_bytes;
  if (limit !== null) {
    const cap = Math.min(config.maxUploadBytes, operation?.maxInputBytes ?? Infinity);
    if (limit > cap)
      errors.push({
        path: '/max_upload_bytes',
        message: `At most ${cap} bytes (the server's and the provider's limit)`,
      });
  }
  let failover = input.failover;
  if (failover) {
    if (failover.steps.length > MAX_FAILOVER_STEPS)
      errors.push({ path: '/failover/steps', message: `At most ${MAX_FAILOVER_STEPS} providers after the slot's own` });
    failover = {
      on_safety: failover.on_safety,
      steps: failover.steps.slice(0, MAX_FAILOVER_STEPS).map((step, i) => {
        const base = `/failover/steps/${i}`;
        const stepDriver = providers.get(step.provider);
        const stepOperation = stepDriver?.operations.find((o) => o.id === step.operation);
        if (!stepDriver) {
          errors.push({ path: `${base}/provider`, message: `Unknown provider "${step.provider}"` });
          return step;
        }
        if (!stepOperation) {
          errors.push({
            path: `${base}/operation`,
            message: `${stepDriver.title} has no operation "${step.operation}"`,
          });
          return step;
        }
        if (stepDriver.requiresPublicBaseUrl && !config.publicBaseUrl) {
          errors.push({
            path: `${base}/provider`,
            message: `${stepDriver.title} fetches the photo by URL: set this server's public address first (Settings → Public address)`,
          });
        }
        const stepSettings = Value.Default(stepOperation.settingsSchema, structuredClone(step.settings)) as Record<
          string,
          unknown
        >;
        const stepErrors = [...Value.Errors(stepOperation.settingsSchema, stepSettings)];
        for (const e of stepErrors) errors.push({ path: `${base}/settings${e.instancePath}`, message: e.message });
        if (stepErrors.length === 0) {
          for (const p of stepOperation.checkSettings?.(stepSettings, { now: context.now }) ?? [])
            errors.push({ path: `${base}/settings${p.path}`, message: p.message });
        }
        return { provider: step.provider, operation: step.operation, settings: stepSettings };
      }),
    };
  }
  if (errors.length)
    throw invalidFields(
      `The slot settings are invalid: ${errors.map((e) => `${e.path} ${e.message}`).join('; ')}`,
      errors,
    );
  return { ...input, settings, ...(failover ? { failover } : {}) };
}

/** A slot as the API sends it (the schema in src/slots/schemas.ts is the one definition). */
export type SlotView = SlotApiView;

export type TemplateView = TemplateApiView;

export function templateView(t: TemplateRow): TemplateView {
  const url = `/api/slots/${t.slot_id}/templates/${t.id}`;
  return {
    id: t.id,
    key: t.setting_key,
    mime: t.mime,
    size: t.size,
    width: t.width,
    height: t.height,
    url,
    preview_url: `${url}?preview=1`,
    created_at: t.created_at.toISOString(),
  };
}

/** The weak ETag of a slot version (its updated_at to the millisecond). */
export function slotEtag(updatedAt: Date): string {
  return `W/"${updatedAt.getTime()}"`;
}

export function parseEtag(value: string): Date | undefined {
  const m = /^(?:W\/)?"(\d{1,15})"$/.exec(value.trim());
  return m ? new Date(Number(m[1])) : undefined;
}

export function slotView(
  row: SlotAdminRow,
  templates: TemplateRow[],
  baseUrl: string,
  readiness: { configured: boolean; reason?: string },
  model: SlotModelView | undefined,
): Omit<SlotView, 'guest_qr'> {
  return {
    ...slotCoreOf(row),
    max_upload_bytes: row.max_upload_bytes,
    ingest_url: `${baseUrl.replace(/\/+$/, '')}/ingest/${row.id}`,
    templates: templates.filter((t) => t.slot_id === row.id).map(templateView),
    provider_configured: readiness.configured,
    ...(readiness.reason ? { provider_reason: readiness.reason } : {}),
    ...(model ? { model } : {}),
    ...(row.notice ? { notice: row.notice } : {}),
    failover: row.failover ?? NO_FAILOVER,
    last_activity_at: row.last_activity_at ? new Date(row.last_activity_at).toISOString() : null,
    today: { succeeded: row.today_succeeded, failed: row.today_failed },
    recent_wrong_passwords: row.recent_wrong_passwords,
    updated_at: row.updated_at.toISOString(),
  };
}
