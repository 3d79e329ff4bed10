/**
 * The AI model of a slot in the UI: the warning and one-click switch for a deprecated or shut-down
 * model (slot list and editor), the notice of a start-up migration, and the model picker fed by the
 * provider's live list (GET /api/providers/{id}/models).
 */
import { useState } from 'preact/hooks';
import { client, ok, type ModelCatalog, type Slot } from './api';
import { ErrorBox, Field, useLoad, type CustomField } from './components';
import { formatDate, t } from './i18n';

function day(date: string): string {
  return formatDate(`${date}T12:00:00Z`).replace(/,?\s*\d{1,2}:\d{2}.*$/, '');
}

/** Warnings about the slot's model, with the switch to the replacement. `onSwitched` gets the saved slot. */
export function ModelNotes({ slot, onSwitched }: { slot: Slot; onSwitched: (s: Slot) => void }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const m = slot.model;
  const switchTo = async () => {
    setBusy(true);
    setError(undefined);
    try {
      onSwitched(
        await ok(
          client.POST('/api/slots/{id}/switch-model', {
            params: { path: { id: slot.id } },
            body: { updated_at: slot.updated_at, ...(m?.replacement ? { model: m.replacement } : {}) },
          }),
        ),
      );
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      {slot.notice?.kind === 'model_migrated' && (
        <p class="notice" role="note" data-testid="model-notice">
          {t('modelMigrated', { from: slot.notice.from, to: slot.notice.to })}
          {slot.notice.dropped.length > 0 &&
            ` ${t('modelMigratedDropped', { fields: slot.notice.dropped.join(', ') })}`}
        </p>
      )}
      {m && (m.status !== 'active' || m.available === false) && (
        <div
          class={m.status === 'shut_down' || m.available === false ? 'warning severe' : 'warning'}
          role="note"
          data-testid="model-warning"
        >
          <p>
            {m.status === 'shut_down'
              ? t('modelShutDown', { model: m.title === m.id ? m.id : `${m.title} (${m.id})` })
              : m.available === false
                ? t('modelUnavailable', { model: m.title === m.id ? m.id : `${m.title} (${m.id})` })
                : m.shutdown_date
                  ? t('modelDeprecatedOn', {
                      model: m.title === m.id ? m.id : `${m.title} (${m.id})`,
                      date: day(m.shutdown_date),
                    })
                  : t('modelDeprecated', { model: m.title === m.id ? m.id : `${m.title} (${m.id})` })}
          </p>
          {m.replacement && m.replacement !== m.id && (
            <button type="button" class="small primary" disabled={busy} onClick={() => void switchTo()}>
              {t('switchTo', { model: m.replacement })}
            </button>
          )}
          <ErrorBox error={error} />
        </div>
      )}
    </>
  );
}

function label(m: ModelCatalog['models'][number]): string {
  const tags = [
    m.status === 'deprecated' ? t('modelDeprecatedLabel') + (m.shutdown_date ? ` → ${day(m.shutdown_date)}` : '') : '',
    m.status === 'shut_down' ? t('modelShutDownLabel') : '',
    m.preview ? t('modelPreviewLabel') : '',
  ]
    .filter(Boolean)
    .join(', ');
  return `${m.title === m.id ? m.id : `${m.title} — ${m.id}`}${tags ? ` (${tags})` : ''}`;
}

const pickers = new Map<string, CustomField>();

/** The `model` field of a provider's settings: the models the key can use, and any id for the advanced. */
export function modelPicker(provider: string): CustomField {
  let picker = pickers.get(provider);
  if (!picker) pickers.set(provider, (picker = makeModelPicker(provider)));
  return picker;
}

function makeModelPicker(provider: string): CustomField {
  return function ModelPicker({ id, label: fieldLabel, help, error, value, set }) {
    const catalog = useLoad(
      () => ok(client.GET('/api/providers/{id}/models', { params: { path: { id: provider } } })),
      [provider],
    );
    const current = typeof value === 'string' ? value : '';
    const [custom, setCustom] = useState(false);
    const data = catalog.data;
    const offered = data?.models.filter((m) => m.status !== 'shut_down' && m.live !== false) ?? [];
    const known = offered.filter((m) => m.known);
    const others = offered.filter((m) => !m.known);
    const listed = offered.some((m) => m.id === current);
    const source = data
      ? data.source === 'live'
        ? t('modelLive', { time: formatDate(data.fetched_at ?? null) })
        : t('modelTableOnly', { reason: data.live_error?.message ?? '' })
      : undefined;
    return (
      <Field
        id={id}
        label={fieldLabel}
        {...(help ? { help: [help, source].filter(Boolean).join(' ') } : source ? { help: source } : {})}
        {...(error ? { error } : {})}
      >
        <select
          id={id}
          value={custom || (!listed && current) ? '__custom' : current}
          aria-invalid={error ? true : undefined}
          onChange={(e) => {
            const v = (e.target as HTMLSelectElement).value;
            if (v === '__custom') setCustom(true);
            else {
              setCustom(false);
              set(v);
            }
          }}
        >
          {known.map((m) => (
            <option value={m.id}>{label(m)}</option>
          ))}
          {others.length > 0 && (
            <optgroup label={t('modelOtherGroup')}>
              {others.map((m) => (
                <option value={m.id}>{label(m)}</option>
              ))}
            </optgroup>
          )}
          <option value="__custom">{t('modelAnyId')}…</option>
        </select>
        {(custom || (!listed && current !== '')) && (
          <input
            id={`${id}-custom`}
            type="text"
            aria-label={t('modelAnyId')}
            placeholder="model-id"
            value={current}
            maxLength={100}
            onInput={(e) => set((e.target as HTMLInputElement).value.trim())}
          />
        )}
        {(custom || (!listed && current !== '')) && <small class="help">{t('modelAnyIdHelp')}</small>}
        <ErrorBox error={catalog.error} />
      </Field>
    );
  };
}
