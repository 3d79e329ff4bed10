import { useEffect, useRef, useState } from 'preact/hooks';
import { client, ok, session, SLOT_IDS, type GalleryItem, type Query, type Share } from '../api';
import { CopyButton, ErrorBox, Field, Loading, OutcomeBadge, useJobEvents } from '../components';
import { boothFieldLabel, formatDate, formatNumber, operationTitle, providerTitle, t, useLang } from '../i18n';

const PAGE = 60;

interface Filter {
  slot: string;
  outcome: 'succeeded' | 'failed' | 'all';
  from: string;
  to: string;
}

/** The query of a filter (datetime-local inputs are in the browser's time zone). */
function query(f: Filter): Query<'/api/gallery/export.zip'> {
  const q: Query<'/api/gallery/export.zip'> = {};
  if (f.slot) q.slot_id = f.slot;
  if (f.from) q.from = new Date(f.from).toISOString();
  if (f.to) q.to = new Date(f.to).toISOString();
  return q;
}

/** The admin gallery: newest results as thumbnails, live, with details, export and share links. */
export function GalleryPage() {
  useLang();
  const [filter, setFilter] = useState<Filter>({ slot: '', outcome: 'succeeded', from: '', to: '' });
  const [items, setItems] = useState<GalleryItem[]>();
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<unknown>();
  const [live, setLive] = useState(false);
  const [open, setOpen] = useState<GalleryItem>();
  const sentinel = useRef<HTMLDivElement>(null);
  const loading = useRef(false);

  const fetchPage = async (after: string | null) => {
    const q: Query<'/api/gallery'> = { ...query(filter), limit: PAGE, outcome: filter.outcome };
    if (after) q.cursor = after;
    return ok(client.GET('/api/gallery', { params: { query: q } }));
  };
  const reload = async () => {
    try {
      const page = await fetchPage(null);
      setItems(page.items);
      setCursor(page.next_cursor);
      setError(undefined);
    } catch (e) {
      setError(e);
    }
  };
  const more = async () => {
    if (!cursor || loading.current) return;
    loading.current = true;
    try {
      const page = await fetchPage(cursor);
      setItems((old) => [...(old ?? []), ...page.items.filter((i) => !old?.some((o) => o.id === i.id))]);
      setCursor(page.next_cursor);
    } catch (e) {
      setError(e);
    } finally {
      loading.current = false;
    }
  };
  /** New results since the newest shown, put on top (a live event). */
  const refreshTop = async () => {
    try {
      const page = await fetchPage(null);
      setItems((old) => {
        const known = new Set((old ?? []).map((i) => i.id));
        return [...page.items.filter((i) => !known.has(i.id)), ...(old ?? [])];
      });
    } catch {
      /* the next event or a reload retries */
    }
  };
  useEffect(() => void reload(), [filter.slot, filter.outcome, filter.from, filter.to]);
  useJobEvents(
    (e) => e.is_finalized && (!filter.slot || e.slot_id === filter.slot),
    () => void refreshTop(),
    setLive,
    [filter.slot, filter.outcome, filter.from, filter.to],
  );
  useEffect(() => {
    const el = sentinel.current;
    if (!el || !cursor) return;
    const observer = new IntersectionObserver((entries) => entries.some((e) => e.isIntersecting) && void more(), {
      rootMargin: '400px',
    });
    observer.observe(el);
    return () => observer.disconnect();
  }, [cursor, items]);

  const set = (patch: Partial<Filter>) => setFilter((f) => ({ ...f, ...patch }));
  const exportHref = `/api/gallery/export.zip?${new URLSearchParams(query(filter) as Record<string, string>).toString()}`;
  return (
    <section aria-labelledby="gallery-title">
      <h1 id="gallery-title">
        {t('galleryTitle')}{' '}
        <span class={`badge ${live ? 'on' : 'off'}`} aria-live="polite">
          {live ? `● ${t('live')}` : '○'}
        </span>
      </h1>
      <div class="filters">
        <label>
          {t('slot')}{' '}
          <select
            value={filter.slot}
            onChange={(e) => set({ slot: (e.target as HTMLSelectElement).value })}
            data-testid="gallery-slot"
          >
            <option value="">{t('allSlots')}</option>
            {SLOT_IDS.map((id) => (
              <option value={id}>{id}</option>
            ))}
          </select>
        </label>
        <label>
          {t('outcome')}{' '}
          <select
            value={filter.outcome}
            onChange={(e) => set({ outcome: (e.target as HTMLSelectElement).value as Filter['outcome'] })}
          >
            <option value="succeeded">{t('outcome_succeeded')}</option>
            <option value="failed">{t('outcomeFailed')}</option>
            <option value="all">{t('allResults')}</option>
          </select>
        </label>
        <label>
          {t('from')}{' '}
          <input
            type="datetime-local"
            value={filter.from}
            onChange={(e) => set({ from: (e.target as HTMLInputElement).value })}
          />
        </label>
        <label>
          {t('to')}{' '}
          <input
            type="datetime-local"
            value={filter.to}
            onChange={(e) => set({ to: (e.target as HTMLInputElement).value })}
          />
        </label>
        <a class="button small" href={exportHref} download title={t('exportHelp')} data-testid="export-zip">
          {t('exportZip')}
        </a>
        <a class="button small secondary" href={`#/live/${filter.slot}`} title={t('liveScreenHelp')}>
          {t('liveScreen')}
        </a>
      </div>
      <ErrorBox error={error} />
      {!items ? (
        <Loading />
      ) : items.length === 0 ? (
        <p class="muted">{t('noPhotos')}</p>
      ) : (
        <ul class="gallery" data-testid="gallery-grid">
          {items.map((item) => (
            <li key={item.id} data-id={item.id}>
              <button
                type="button"
                class="tile"
                onClick={() => setOpen(item)}
                aria-label={`${item.slot_id} ${formatDate(item.finalized_at)}`}
              >
                {item.thumb_url ? (
                  <img src={item.thumb_url} alt="" loading="lazy" width={160} height={160} />
                ) : (
                  <span class="tile-failed">
                    <OutcomeBadge outcome={item.outcome} />
                  </span>
                )}
                <span class="tile-caption">
                  {item.slot_id} ·{' '}
                  {new Date(item.finalized_at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}
                </span>
              </button>
            </li>
          ))}
        </ul>
      )}
      {cursor && (
        <div ref={sentinel} class="more">
          <button type="button" onClick={() => void more()}>
            {t('loadMore')}
          </button>
        </div>
      )}
      {open && <ResultDialog item={open} onClose={() => setOpen(undefined)} />}
      {session()?.permissions.includes('slots:write') && <Shares />}
    </section>
  );
}

function ResultDialog({ item, onClose }: { item: GalleryItem; onClose: () => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    ref.current?.showModal();
  }, [item.id]);
  return (
    <dialog ref={ref} class="result-dialog" onClose={onClose} aria-labelledby="result-title">
      <h2 id="result-title">
        {item.slot_id} · {formatDate(item.finalized_at)} <OutcomeBadge outcome={item.outcome} />
      </h2>
      {item.image_url && <img class="full" src={item.image_url} alt={item.file_name ?? ''} />}
      <dl class="inline">
        <dt>{t('provider')}</dt>
        <dd>
          {providerTitle(item.provider)} · {operationTitle(item.provider, item.operation)}
        </dd>
        {item.answered_by && item.answered_by !== item.provider && (
          <>
            <dt>{t('answeredBy')}</dt>
            <dd>{providerTitle(item.answered_by)}</dd>
          </>
        )}
        <dt>{t('duration')}</dt>
        <dd>{formatNumber(Math.round(item.duration_ms / 100) / 10)} s</dd>
        {item.size !== null && (
          <>
            <dt>{t('fileSize')}</dt>
            <dd>{formatNumber(Math.round(item.size / 1024))} KB</dd>
          </>
        )}
        {item.expires_at && (
          <>
            <dt>{t('expiresAt')}</dt>
            <dd>{formatDate(item.expires_at)}</dd>
          </>
        )}
        {item.failure_message && (
          <>
            <dt>{t('error')}</dt>
            <dd>{item.failure_message}</dd>
          </>
        )}
        {Object.entries(item.fields).map(([k, v]) => (
          <>
            <dt>{boothFieldLabel(k)}</dt>
            <dd>
              <code>{v}</code>
            </dd>
          </>
        ))}
      </dl>
      <div class="actions">
        {item.download_url && (
          <a class="button" href={item.download_url} download={item.file_name ?? undefined}>
            {t('download')}
          </a>
        )}
        {item.guest_url && (
          <a class="button secondary" href={item.guest_url} target="_blank" rel="noopener">
            {t('openGuestPage')}
          </a>
        )}
        <a class="button secondary" href={`#/jobs/${item.id}`} onClick={() => ref.current?.close()}>
          {t('job', { id: item.id.slice(0, 8) })}
        </a>
        <button type="button" onClick={() => ref.current?.close()}>
          {t('close')}
        </button>
      </div>
    </dialog>
  );
}

function Shares() {
  const [shares, setShares] = useState<Share[]>();
  const [retentionHours, setRetentionHours] = useState<number>();
  const [title, setTitle] = useState('');
  const [slots, setSlots] = useState<string[]>([]);
  const [hours, setHours] = useState('');
  const [error, setError] = useState<unknown>();
  const canWrite = true; // shown only to accounts that may share (GalleryPage)
  const load = async () => {
    try {
      setShares((await ok(client.GET('/api/gallery/shares'))).shares);
      const settings = await ok(client.GET('/api/settings')).catch(() => undefined);
      if (settings) setRetentionHours(Math.floor(settings.result_ttl_seconds / 3600));
    } catch (e) {
      setError(e);
    }
  };
  useEffect(() => void load(), []);
  const create = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    try {
      const expires_at = hours ? new Date(Date.now() + Number(hours) * 3600_000).toISOString() : undefined;
      await ok(client.POST('/api/gallery/shares', { body: { slot_ids: slots, title, expires_at } }));
      setTitle('');
      setSlots([]);
      setHours('');
      await load();
    } catch (err) {
      setError(err);
    }
  };
  const revoke = async (id: string) => {
    if (!confirm(t('revokeConfirm'))) return;
    await ok(client.DELETE('/api/gallery/shares/{id}', { params: { path: { id } } })).catch(setError);
    await load();
  };
  return (
    <section class="card shares" aria-labelledby="shares-title">
      <h2 id="shares-title">{t('sharesTitle')}</h2>
      <p class="muted">{t('sharesHelp')}</p>
      <ErrorBox error={error} />
      {canWrite && (
        <form onSubmit={(e) => void create(e)} class="share-form">
          <Field id="share-title" label={t('shareTitle')}>
            <input
              id="share-title"
              value={title}
              maxLength={80}
              onInput={(e) => setTitle((e.target as HTMLInputElement).value)}
            />
          </Field>
          <fieldset>
            <legend>{t('shareSlots')}</legend>
            <div class="slot-checks">
              {SLOT_IDS.map((id) => (
                <label key={id}>
                  <input
                    type="checkbox"
                    checked={slots.includes(id)}
                    onChange={(e) =>
                      setSlots((s) => ((e.target as HTMLInputElement).checked ? [...s, id] : s.filter((x) => x !== id)))
                    }
                  />{' '}
                  {id}
                </label>
              ))}
            </div>
          </fieldset>
          <Field
            id="share-hours"
            label={t('shareHours')}
            help={retentionHours ? t('shareHoursHelp', { hours: retentionHours }) : undefined}
          >
            <input
              id="share-hours"
              type="number"
              min={1}
              max={retentionHours}
              step={1}
              value={hours}
              placeholder={retentionHours ? String(retentionHours) : ''}
              onInput={(e) => setHours((e.target as HTMLInputElement).value)}
            />
          </Field>
          <button type="submit" disabled={slots.length === 0}>
            {t('createShare')}
          </button>
        </form>
      )}
      {!shares ? (
        <Loading />
      ) : shares.length === 0 ? (
        <p class="muted">{t('noShares')}</p>
      ) : (
        <ul class="share-list">
          {shares.map((s) => (
            <li key={s.id} class={`share ${s.state}`}>
              {s.state === 'active' && s.url && <img class="qr" src={s.qr_url} alt="QR" width={120} height={120} />}
              <div>
                <strong>{s.title || s.slot_ids.join(', ')}</strong>{' '}
                <span class={`badge ${s.state === 'active' ? 'on' : 'off'}`}>{t(`share_${s.state}`)}</span>
                <p class="muted">
                  {s.slot_ids.join(', ')} · {t('shareUntil', { time: formatDate(s.expires_at) })}
                </p>
                {s.state === 'active' && (
                  <div class="url">
                    <code>{s.url ?? s.path}</code>
                    <CopyButton text={s.url ?? `${location.origin}${s.path}`} />
                    {canWrite && (
                      <button type="button" class="small danger" onClick={() => void revoke(s.id)}>
                        {t('revoke')}
                      </button>
                    )}
                  </div>
                )}
                {s.state === 'active' && s.public_base_source === 'lan' && (
                  <p class="warning" role="note" data-testid="share-lan">
                    {t('shareLinkLan')}
                  </p>
                )}
              </div>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
