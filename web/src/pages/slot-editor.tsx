import { useEffect, useState } from 'preact/hooks';
import {
  ApiError,
  authorizedImage,
  client,
  loadProviders,
  ok,
  okWithHeaders,
  uploadForm,
  type Failover,
  type FailoverStep,
  type Provider,
  type Slot,
  type SlotChange,
  type TestRun,
  type Template,
} from '../api';
import { ErrorBox, Field, GuestQrNote, Loading, SchemaForm, useLoad } from '../components';
import {
  fieldLabel,
  serverWords,
  operationText,
  rememberProviders,
  t,
  templateTitle,
  useLang,
  providerReasonText,
  providerTitle,
} from '../i18n';
import { ModelNotes, modelPicker } from '../models';

/** The form: what PUT /api/slots/{id} takes, with the failover always present. */
type Draft = Omit<SlotChange, 'updated_at' | 'failover'> & { failover: Failover };

const draftOf = (s: Slot): Draft => ({
  name: s.name,
  enabled: s.enabled,
  provider: s.provider,
  operation: s.operation,
  settings: s.settings,
  max_upload_bytes: s.max_upload_bytes,
  failover: s.failover,
});

/** A field's name in words for a JSON pointer of a 422 (/settings/output/guest_link/enabled → "Guest link › Enabled"). */
function fieldOfPath(path: string, provider: string): string {
  const parts = path.split('/').filter((p) => p !== '' && p !== 'settings' && !/^\d+$/.test(p));
  return parts.map((p) => fieldLabel(p, p.replace(/_/g, ' '), provider)).join(' › ') || path;
}

/** The guest QR code as the form now stands (switched on or off, saved or not). */
function draftQr(slot: Slot, draft: Draft): Slot['guest_qr'] {
  const output = draft.settings.output as { guest_link?: { enabled?: boolean } } | undefined;
  const enabled = output?.guest_link?.enabled === true;
  const address = slot.guest_qr.address;
  return { ...slot.guest_qr, enabled, state: !enabled ? 'off' : address === 'none' ? 'left_off' : address };
}

/** The providers tried, in order, when the slot's own fails (each with its own settings). */
function FailoverEditor({
  providers,
  value,
  onChange,
  errors,
}: {
  providers: Provider[];
  value: Failover;
  onChange: (f: Failover) => void;
  errors: Record<string, string>;
}) {
  const setStep = (i: number, step: FailoverStep) =>
    onChange({ ...value, steps: value.steps.map((s, j) => (j === i ? step : s)) });
  return (
    <fieldset class="failover" data-testid="failover">
      <legend>{t('failoverTitle')}</legend>
      <p class="help">{t('failoverHelp')}</p>
      {value.steps.map((step, i) => {
        const provider = providers.find((p) => p.id === step.provider);
        const operation = provider?.operations.find((o) => o.id === step.operation);
        const base = `/failover/steps/${i}`;
        return (
          <div class="card failover-step" data-step={i}>
            <h3>{t('failoverStep', { n: i + 1 })}</h3>
            <Field id={`fo-${i}-provider`} label={t('provider')} error={errors[`${base}/provider`]}>
              <select
                id={`fo-${i}-provider`}
                value={step.provider}
                onChange={(e) => {
                  const p = providers.find((x) => x.id === (e.target as HTMLSelectElement).value);
                  setStep(i, { provider: p?.id ?? '', operation: p?.operations[0]?.id ?? '', settings: {} });
                }}
              >
                {providers.map((p) => (
                  <option value={p.id}>{providerTitle(p.id)}</option>
                ))}
              </select>
            </Field>
            <Field id={`fo-${i}-operation`} label={t('operation')} error={errors[`${base}/operation`]}>
              <select
                id={`fo-${i}-operation`}
                value={step.operation}
                onChange={(e) =>
                  setStep(i, { ...step, operation: (e.target as HTMLSelectElement).value, settings: {} })
                }
              >
                {provider?.operations.map((o) => (
                  <option value={o.id}>{operationText(step.provider, o).title}</option>
                ))}
              </select>
            </Field>
            {operation && (
              <SchemaForm
                schema={operation.settings_schema}
                value={step.settings}
                onChange={(settings) => setStep(i, { ...step, settings })}
                errors={errors}
                path={`${base}/settings`}
                provider={step.provider}
                custom={operation.settings_schema.properties?.model ? { model: modelPicker(step.provider) } : {}}
              />
            )}
            <button
              type="button"
              class="small danger"
              onClick={() => onChange({ ...value, steps: value.steps.filter((_, j) => j !== i) })}
            >
              {t('remove')}
            </button>
          </div>
        );
      })}
      {value.steps.length < 3 && (
        <button
          type="button"
          class="small"
          data-testid="failover-add"
          onClick={() => {
            const p = providers.find((x) => x.id === 'local') ?? providers[0]!;
            onChange({
              ...value,
              steps: [...value.steps, { provider: p.id, operation: p.operations[0]?.id ?? '', settings: {} }],
            });
          }}
        >
          {t('failoverAdd')}
        </button>
      )}
      {value.steps.length > 0 && (
        <div class="field check">
          <label>
            <input
              type="checkbox"
              checked={value.on_safety}
              onChange={(e) => onChange({ ...value, on_safety: (e.target as HTMLInputElement).checked })}
            />{' '}
            {t('failoverOnSafety')}
          </label>
        </div>
      )}
    </fieldset>
  );
}

function TemplateSlot({
  slotId,
  provider,
  operation,
  tkey,
  title,
  template,
  onChange,
}: {
  slotId: string;
  provider: string;
  operation: string;
  tkey: string;
  title: string;
  template?: Template;
  onChange: () => void;
}) {
  const [preview, setPreview] = useState<string>();
  const [error, setError] = useState<unknown>();
  const [over, setOver] = useState(false);
  useEffect(() => {
    if (!template) return setPreview(undefined);
    let url: string | undefined;
    void authorizedImage(template.preview_url).then((u) => setPreview((url = u)), setError);
    return () => url && URL.revokeObjectURL(url);
  }, [template?.id]);
  const upload = async (file: File | undefined) => {
    if (!file) return;
    const form = new FormData();
    form.append('key', tkey);
    // The form's (maybe unsaved) choice: templates can be uploaded before the slot is saved.
    form.append('provider', provider);
    form.append('operation', operation);
    form.append('file', file, file.name);
    try {
      setError(undefined);
      await ok(uploadForm('/api/slots/{id}/templates', slotId, form));
      onChange();
    } catch (e) {
      setError(e);
    }
  };
  const id = `tpl-${tkey}`;
  return (
    <div class="template" data-template-key={tkey}>
      <h3>{title}</h3>
      <div
        class={`drop${over ? ' over' : ''}`}
        onDragOver={(e) => (e.preventDefault(), setOver(true))}
        onDragLeave={() => setOver(false)}
        onDrop={(e) => {
          e.preventDefault();
          setOver(false);
          void upload(e.dataTransfer?.files[0]);
        }}
      >
        {preview ? <img src={preview} alt={title} /> : <span>{t('dropHere')}</span>}
        <label class="button small" for={id}>
          {t('chooseFile')}
        </label>
        <input
          id={id}
          class="sr-only"
          type="file"
          accept="image/jpeg,image/png,image/webp"
          onChange={(e) => void upload((e.target as HTMLInputElement).files?.[0])}
        />
      </div>
      {template && (
        <button
          type="button"
          class="small danger"
          onClick={async () => {
            try {
              await ok(
                client.DELETE('/api/slots/{id}/templates/{templateId}', {
                  params: { path: { id: slotId, templateId: template.id } },
                }),
              );
              onChange();
            } catch (e) {
              setError(e);
            }
          }}
        >
          {t('remove')}
        </button>
      )}
      <ErrorBox error={error} />
    </div>
  );
}

function TestRun({ slotId, draft }: { slotId: string; draft: Draft }) {
  const [file, setFile] = useState<File>();
  const [before, setBefore] = useState<string>();
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<TestRun>();
  const [error, setError] = useState<unknown>();
  const run = async () => {
    if (!file) return;
    setBusy(true);
    setError(undefined);
    setResult(undefined);
    const form = new FormData();
    // The form's current settings, saved or not (the booth keeps getting the saved ones); before the photo.
    form.append(
      'draft',
      JSON.stringify({
        provider: draft.provider,
        operation: draft.operation,
        settings: draft.settings,
        failover: draft.failover,
      }),
    );
    form.append('fileToUpload', file, file.name);
    try {
      setResult(await ok(uploadForm('/api/slots/{id}/test-run', slotId, form)));
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section class="card" aria-labelledby="test-title">
      <h2 id="test-title">{t('testRun')}</h2>
      <p class="muted">{t('testRunHelp')}</p>
      <input
        type="file"
        accept="image/*"
        aria-label={t('chooseFile')}
        id="test-photo"
        onChange={(e) => {
          const f = (e.target as HTMLInputElement).files?.[0];
          setFile(f);
          setBefore(f ? URL.createObjectURL(f) : undefined);
        }}
      />
      <button type="button" class="primary" disabled={!file || busy} onClick={run}>
        {busy ? t('running') : t('runTest')}
      </button>
      <ErrorBox error={error} />
      {result?.error && (
        <p class="error" role="alert">
          {result.error.message} ({result.error.code})
        </p>
      )}
      {(before || result) && (
        <div class="before-after">
          {before && (
            <figure>
              <img src={before} alt={t('before')} />
              <figcaption>{t('before')}</figcaption>
            </figure>
          )}
          {result?.result_url && (
            <figure>
              <img src={result.result_url} alt={t('after')} data-testid="after" />
              <figcaption>{t('after')}</figcaption>
            </figure>
          )}
        </div>
      )}
      {result && (
        <p class="timings">
          {t('timings', {
            wait: result.timings.queue_wait_ms ?? '—',
            processing: result.timings.processing_ms ?? '—',
            total: result.timings.total_ms ?? '—',
          })}
        </p>
      )}
    </section>
  );
}

export function SlotEditorPage({ id }: { id: string }) {
  useLang();
  const providers = useLoad(async () => {
    const list = await loadProviders();
    rememberProviders(list);
    return list;
  }, []);
  const [slot, setSlot] = useState<Slot>();
  const [etag, setEtag] = useState<string>();
  const [draft, setDraft] = useState<Draft>();
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [conflict, setConflict] = useState<Slot>();
  const [message, setMessage] = useState<string>();
  const [error, setError] = useState<unknown>();
  const load = async () => {
    const res = await okWithHeaders(client.GET('/api/slots/{id}', { params: { path: { id } } }));
    setSlot(res.data);
    setEtag(res.headers.get('etag') ?? undefined);
    setDraft(draftOf(res.data));
  };
  const refreshTemplates = async () => {
    const res = await okWithHeaders(client.GET('/api/slots/{id}', { params: { path: { id } } }));
    setSlot(res.data);
    setEtag(res.headers.get('etag') ?? undefined);
  };
  useEffect(() => void load().catch(setError), [id]);
  // A "Saved." from before no longer describes a form that has changed since.
  useEffect(() => setMessage(undefined), [JSON.stringify(draft)]);
  // The conflict prompt may be below the fold (phones): bring it into view and focus.
  useEffect(() => {
    if (!conflict) return;
    const dialog = document.getElementById('conflict-dialog');
    dialog?.scrollIntoView({ block: 'center' });
    dialog?.focus();
  }, [conflict]);
  if (error && !slot) return <ErrorBox error={error} />;
  if (!slot || !draft || !providers.data) return <Loading />;
  const provider = providers.data.find((p) => p.id === draft.provider);
  const operation = provider?.operations.find((o) => o.id === draft.operation);
  const save = async (e?: Event, overwriteWith?: Slot) => {
    e?.preventDefault();
    setMessage(undefined);
    setErrors({});
    setError(undefined);
    try {
      const body = overwriteWith ? { ...draft, updated_at: overwriteWith.updated_at } : draft;
      const headers = !overwriteWith && etag ? { 'if-match': etag } : {};
      const res = await okWithHeaders(client.PUT('/api/slots/{id}', { params: { path: { id } }, body, headers }));
      setSlot(res.data);
      setEtag(res.headers.get('etag') ?? undefined);
      setConflict(undefined);
      setMessage(t('saved'));
    } catch (err) {
      if (err instanceof ApiError && err.code === 'conflict') setConflict(err.details.current as Slot);
      else if (err instanceof ApiError && err.code === 'invalid_settings') {
        const list = (err.details.errors as Array<{ path: string; message: string }>) ?? [];
        setErrors(Object.fromEntries(list.map((x) => [x.path, serverWords(x.message)])));
        // Highlighted at their fields, and said in words next to Save (the field may be out of view);
        // the form keeps every other edit.
        const words = list.map((x) => `${fieldOfPath(x.path, draft.provider)}: ${serverWords(x.message)}`);
        setError(new Error(list.length === 0 ? err.message : `${t('fixErrors')} ${words.join('; ')}`));
      } else setError(err);
    }
  };
  return (
    <>
      <p>
        <a href="#/slots">← {t('back')}</a>
      </p>
      <form class="card" onSubmit={(e) => void save(e)} aria-labelledby="slot-title" noValidate>
        <h1 id="slot-title">{t('slotEditor', { id })}</h1>
        <p class="url">
          <code>{slot.ingest_url}</code>
        </p>
        <ModelNotes
          slot={slot}
          onSwitched={(saved) => {
            setSlot(saved);
            setEtag(`W/"${new Date(saved.updated_at).getTime()}"`);
            setDraft(draftOf(saved));
            setMessage(t('saved'));
          }}
        />
        <GuestQrNote slot={{ guest_qr: draftQr(slot, draft) }} />
        <Field id="slot-name" label={t('name')} error={errors['/name']}>
          <input
            id="slot-name"
            value={draft.name}
            maxLength={100}
            onInput={(e) => setDraft({ ...draft, name: (e.target as HTMLInputElement).value })}
          />
        </Field>
        <div class="field check">
          <label>
            <input
              type="checkbox"
              checked={draft.enabled}
              onChange={(e) => setDraft({ ...draft, enabled: (e.target as HTMLInputElement).checked })}
            />{' '}
            {t('enabled')}
          </label>
        </div>
        <Field id="slot-provider" label={t('provider')} error={errors['/provider']}>
          <select
            id="slot-provider"
            value={draft.provider}
            onChange={(e) => {
              const p = providers.data!.find((x) => x.id === (e.target as HTMLSelectElement).value);
              setDraft({ ...draft, provider: p?.id ?? '', operation: p?.operations[0]?.id ?? '', settings: {} });
            }}
          >
            {providers.data.map((p) => (
              <option value={p.id}>
                {providerTitle(p.id)}
                {p.configured ? '' : ` (${t('notConfigured')})`}
              </option>
            ))}
          </select>
        </Field>
        {provider && !provider.configured && (
          <p class="warning" role="note">
            {providerReasonText(provider.reason)}
          </p>
        )}
        <Field
          id="slot-operation"
          label={t('operation')}
          error={errors['/operation']}
          help={operation ? operationText(draft.provider, operation).description : undefined}
        >
          <select
            id="slot-operation"
            value={draft.operation}
            onChange={(e) => setDraft({ ...draft, operation: (e.target as HTMLSelectElement).value, settings: {} })}
          >
            {provider?.operations.map((o) => (
              <option value={o.id}>{operationText(draft.provider, o).title}</option>
            ))}
          </select>
        </Field>
        {operation && (
          <fieldset>
            <legend>{t('settingsHeading')}</legend>
            <SchemaForm
              schema={operation.settings_schema}
              value={draft.settings}
              onChange={(settings) => setDraft({ ...draft, settings })}
              errors={errors}
              path="/settings"
              provider={draft.provider}
              custom={operation.settings_schema.properties?.model ? { model: modelPicker(draft.provider) } : {}}
            />
          </fieldset>
        )}
        <FailoverEditor
          providers={providers.data}
          value={draft.failover}
          onChange={(failover) => setDraft({ ...draft, failover })}
          errors={errors}
        />
        <Field id="slot-limit" label={t('uploadLimit')} error={errors['/max_upload_bytes']}>
          <input
            id="slot-limit"
            type="number"
            min={1}
            step={1}
            value={draft.max_upload_bytes === null ? '' : Math.round(draft.max_upload_bytes / 1024 / 1024)}
            onInput={(e) => {
              const raw = (e.target as HTMLInputElement).value;
              setDraft({ ...draft, max_upload_bytes: raw === '' ? null : Number(raw) * 1024 * 1024 });
            }}
          />
        </Field>
        <ErrorBox error={error} />
        {message && (
          <p class="ok" role="status">
            {message}
          </p>
        )}
        <button type="submit" class="primary">
          {t('save')}
        </button>
      </form>
      {conflict && (
        <div
          class="card conflict"
          role="alertdialog"
          aria-labelledby="conflict-title"
          id="conflict-dialog"
          tabIndex={-1}
        >
          <h2 id="conflict-title">{t('conflictTitle')}</h2>
          <p>{t('conflictBody')}</p>
          <button
            type="button"
            onClick={() => {
              setSlot(conflict);
              setDraft(draftOf(conflict));
              setConflict(undefined);
              void refreshTemplates();
            }}
          >
            {t('reload')}
          </button>{' '}
          <button type="button" class="primary" onClick={() => void save(undefined, conflict)}>
            {t('overwrite')}
          </button>
        </div>
      )}
      {operation && operation.template_keys.length > 0 && (
        <section class="card" aria-labelledby="tpl-title">
          <h2 id="tpl-title">{t('templates')}</h2>
          <div class="templates">
            {operation.template_keys.map((k) => (
              <TemplateSlot
                slotId={id}
                provider={draft.provider}
                operation={draft.operation}
                tkey={k.key}
                title={templateTitle(draft.provider, k.key, k.title)}
                template={slot.templates.find((x) => x.key === k.key)}
                onChange={() => void refreshTemplates()}
              />
            ))}
          </div>
        </section>
      )}
      <TestRun slotId={id} draft={draft} />
    </>
  );
}
