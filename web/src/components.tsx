import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, session, subscribeEvents, type JsonSchema, type Slot } from './api';
import { fieldHelp, fieldLabel, optionLabel, serverWords, t } from './i18n';

export function ErrorBox({ error }: { error: unknown }) {
  if (!error) return null;
  const text =
    error instanceof ApiError
      ? `${serverWords(error.message)} (${error.code})`
      : String((error as Error).message ?? error);
  return (
    <p class="error" role="alert">
      {text}
    </p>
  );
}

export function Loading() {
  return <p aria-busy="true">{t('loading')}</p>;
}

/** Loads data; re-runs when `deps` change. */
export function useLoad<T>(
  load: () => Promise<T>,
  deps: unknown[],
): { data: T | undefined; error: unknown; reload: () => void } {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<unknown>();
  const [n, setN] = useState(0);
  useEffect(() => {
    let live = true;
    load().then(
      (d) => live && (setData(d), setError(undefined)),
      (e: unknown) => live && setError(e),
    );
    return () => void (live = false);
  }, [...deps, n]);
  return { data, error, reload: () => setN((x) => x + 1) };
}

export function Field({
  label,
  error,
  help,
  children,
  id,
}: {
  label: string;
  error?: string;
  help?: string;
  children: ComponentChildren;
  id: string;
}) {
  return (
    <div class={`field${error ? ' invalid' : ''}`}>
      <label for={id}>{label}</label>
      {children}
      {help && (
        <small id={`${id}-help`} class="help">
          {help}
        </small>
      )}
      {error && (
        <small id={`${id}-error`} class="field-error" role="alert">
          {error}
        </small>
      )}
    </div>
  );
}

function options(schema: JsonSchema): unknown[] | undefined {
  if (schema.enum) return schema.enum;
  if (schema.anyOf?.every((s) => s.const !== undefined)) return schema.anyOf.map((s) => s.const);
  return undefined;
}

/**
 * A form generated from a provider operation's JSON Schema (GET /api/providers): strings (prompts
 * as textareas with a length counter), numbers with their range, enums as selects, booleans,
 * nested objects as fieldsets. `errors` are JSON pointers (/settings/…) from a 422.
 */
/** A field the page draws itself instead of the generated input (e.g. the model picker). */
export type CustomField = (props: {
  id: string;
  label: string;
  help?: string;
  error?: string;
  value: unknown;
  set: (x: unknown) => void;
}) => ComponentChildren;

export function SchemaForm({
  schema,
  value,
  onChange,
  errors,
  path,
  custom = {},
  provider,
}: {
  /** Whose settings these are (its driver names its fields and values); none for the slot's own (output). */
  provider?: string;
  schema: JsonSchema;
  value: Record<string, unknown>;
  onChange: (v: Record<string, unknown>) => void;
  errors: Record<string, string>;
  path: string;
  custom?: Record<string, CustomField>;
}) {
  const props = Object.entries(schema.properties ?? {});
  return (
    <>
      {props.map(([name, s]) => {
        const id = `f-${path}-${name}`.replace(/\//g, '-');
        const p = `${path}/${name}`;
        const v = value[name];
        const label = `${fieldLabel(name, s.title, provider)}${schema.required?.includes(name) && s.default === undefined ? ' *' : ''}`;
        const help = fieldHelp(name, s.description, provider);
        const set = (x: unknown) => {
          const next = { ...value };
          if (x === undefined || x === '') delete next[name];
          else next[name] = x;
          onChange(next);
        };
        const Custom = custom[name];
        if (Custom)
          return (
            <div key={name}>
              {Custom({
                id,
                label,
                ...(help ? { help } : {}),
                ...(errors[p] ? { error: errors[p] } : {}),
                value: v ?? s.default,
                set,
              })}
            </div>
          );
        const opts = options(s);
        const describedBy =
          [help ? `${id}-help` : '', errors[p] ? `${id}-error` : ''].filter(Boolean).join(' ') || undefined;
        if (s.type === 'object' && s.properties) {
          return (
            <fieldset key={name}>
              <legend>{label}</legend>
              <SchemaForm
                schema={s}
                value={(v as Record<string, unknown>) ?? {}}
                onChange={(x) => set(Object.keys(x).length ? x : undefined)}
                errors={errors}
                path={p}
              />
            </fieldset>
          );
        }
        if (opts) {
          return (
            <Field key={name} id={id} label={label} help={help} error={errors[p]}>
              <select
                id={id}
                value={String(v ?? s.default ?? '')}
                aria-describedby={describedBy}
                aria-invalid={errors[p] ? true : undefined}
                onChange={(e) => {
                  const raw = (e.target as HTMLSelectElement).value;
                  const chosen = opts.find((o) => String(o) === raw);
                  set(chosen);
                }}
              >
                {s.default === undefined && <option value="">—</option>}
                {opts.map((o) => (
                  <option value={String(o)}>{optionLabel(String(o), provider)}</option>
                ))}
              </select>
            </Field>
          );
        }
        if (s.type === 'boolean') {
          return (
            <div class="field check" key={name}>
              <label>
                <input
                  type="checkbox"
                  id={id}
                  checked={Boolean(v ?? s.default)}
                  onChange={(e) => set((e.target as HTMLInputElement).checked)}
                />{' '}
                {label}
              </label>
              {help && <small class="help">{help}</small>}
              {errors[p] && <small class="field-error">{errors[p]}</small>}
            </div>
          );
        }
        if (s.type === 'integer' || s.type === 'number') {
          return (
            <Field
              key={name}
              id={id}
              label={`${label}${s.minimum !== undefined || s.maximum !== undefined ? ` (${s.minimum ?? ''}–${s.maximum ?? ''})` : ''}`}
              help={help}
              error={errors[p]}
            >
              <input
                id={id}
                type="number"
                inputMode="decimal"
                min={s.minimum}
                max={s.maximum}
                step={s.type === 'integer' ? 1 : 'any'}
                placeholder={s.default !== undefined ? String(s.default) : ''}
                value={v === undefined ? '' : String(v)}
                aria-describedby={describedBy}
                aria-invalid={errors[p] ? true : undefined}
                onInput={(e) => {
                  const raw = (e.target as HTMLInputElement).value;
                  set(raw === '' ? undefined : Number(raw));
                }}
              />
            </Field>
          );
        }
        if (s.pattern === '^#[0-9a-fA-F]{6}$') {
          const colour = typeof v === 'string' ? v : String(s.default ?? '#ffffff');
          return (
            <Field key={name} id={id} label={label} help={help} error={errors[p]}>
              <span class="colour">
                <input
                  id={id}
                  type="color"
                  value={colour}
                  aria-describedby={describedBy}
                  onInput={(e) => set((e.target as HTMLInputElement).value)}
                />
                <input
                  type="text"
                  aria-label={label}
                  value={colour}
                  maxLength={7}
                  pattern="#[0-9a-fA-F]{6}"
                  onInput={(e) => set((e.target as HTMLInputElement).value)}
                />
              </span>
            </Field>
          );
        }
        const long = name.includes('prompt') || (s.maxLength ?? 0) > 200;
        const text = typeof v === 'string' ? v : '';
        return (
          <Field key={name} id={id} label={label} help={help} error={errors[p]}>
            {long ? (
              <textarea
                id={id}
                rows={4}
                maxLength={s.maxLength}
                value={text}
                aria-describedby={describedBy}
                aria-invalid={errors[p] ? true : undefined}
                onInput={(e) => set((e.target as HTMLTextAreaElement).value)}
              />
            ) : (
              <input
                id={id}
                type="text"
                maxLength={s.maxLength}
                value={text}
                placeholder={s.default !== undefined ? String(s.default) : ''}
                aria-describedby={describedBy}
                onInput={(e) => set((e.target as HTMLInputElement).value)}
              />
            )}
            {s.maxLength !== undefined && (
              <small class="counter" aria-live="polite">
                {t('chars', { n: text.length, max: s.maxLength })}
              </small>
            )}
          </Field>
        );
      })}
    </>
  );
}

/**
 * Copies text. The Clipboard API exists only on secure pages (HTTPS or localhost); the admin UI is
 * often opened over plain HTTP on the LAN, where the old selection-and-copy route still works.
 */
export async function copyText(text: string): Promise<boolean> {
  if (navigator.clipboard && window.isSecureContext) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch {
      /* fall back below */
    }
  }
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.style.position = 'fixed';
  area.style.opacity = '0';
  document.body.appendChild(area);
  area.select();
  let ok = false;
  try {
    ok = document.execCommand('copy');
  } catch {
    ok = false;
  }
  area.remove();
  return ok;
}

/** An event of the live job feed (GET /api/jobs/stream). */
export interface JobEvent {
  id: string;
  slot_id: string;
  status: string;
  outcome: string;
  is_finalized: boolean;
  failure_reason: string | null;
}

/**
 * The live job feed while the component is shown: `onChange` runs once per burst of events that
 * `accept` takes (a burst of shots reloads once), `setLive` says whether the stream is connected.
 */
export function useJobEvents(
  accept: (e: JobEvent) => boolean,
  onChange: () => void,
  setLive: (live: boolean) => void,
  deps: unknown[],
  delayMs = 150,
): void {
  useEffect(() => {
    if (!session()) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const stream = subscribeEvents(
      '/api/jobs/stream',
      (name, data) => {
        if (name !== 'job' || !accept(JSON.parse(data) as JobEvent)) return;
        clearTimeout(timer);
        timer = setTimeout(onChange, delayMs);
      },
      setLive,
    );
    return () => {
      clearTimeout(timer);
      stream.close();
    };
  }, deps);
}

export function CopyButton({ text }: { text: string }) {
  const [done, setDone] = useState(false);
  return (
    <button
      type="button"
      class="small"
      onClick={() => {
        void copyText(text).then((ok) => {
          if (!ok) return;
          setDone(true);
          setTimeout(() => setDone(false), 1500);
        });
      }}
    >
      {done ? t('copied') : t('copy')}
    </button>
  );
}

export function OutcomeBadge({ outcome }: { outcome: string }) {
  return <span class={`badge o-${outcome}`}>{t(`outcome_${outcome}` as never) || outcome}</span>;
}

/** Where the slot's guest QR code points, or that it is left off (the one rule of src/ops/public-address.ts). */
export function GuestQrNote({ slot }: { slot: Pick<Slot, 'guest_qr'> }) {
  const qr = slot.guest_qr;
  if (qr.state === 'off') return null;
  return (
    <p
      class={qr.state === 'public' ? 'note' : qr.state === 'left_off' ? 'warning severe' : 'warning'}
      role="note"
      data-testid="guest-qr-state"
      data-state={qr.state}
    >
      {t(`guestQr_${qr.state}`, { url: qr.base_url ?? '' })}
    </p>
  );
}
