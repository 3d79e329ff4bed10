import { useEffect, useState } from 'preact/hooks';
import { client, ok, session, subscribeEvents, type GalleryItem } from '../api';
import { t, useLang } from '../i18n';

/** Fallback check for a missed event (a stream that reconnected, say). */
const REFRESH_MS = 30_000;

/**
 * The "last shot" screen for a TV next to the booth: the newest photo of the chosen slots, big,
 * with the guest page's QR code. It keeps one photo and one stream, reconnects by itself, and can
 * run all night (nothing accumulates).
 */
export function LiveScreen({ slots }: { slots: string[] }) {
  useLang();
  const [item, setItem] = useState<GalleryItem | null>();
  const [live, setLive] = useState(true);
  const [qrOk, setQrOk] = useState(true);
  const key = slots.join(',');
  useEffect(() => {
    let stopped = false;
    const latest = async () => {
      try {
        const { items } = await ok(
          client.GET('/api/gallery', { params: { query: { limit: 1, ...(slots.length ? { slot_id: slots } : {}) } } }),
        );
        if (!stopped) setItem((old) => (items[0] && old?.id === items[0].id ? old : (items[0] ?? null)));
      } catch {
        /* offline for a moment: the next event or refresh retries */
      }
    };
    void latest();
    const timer = setInterval(() => void latest(), REFRESH_MS);
    const stream = session()
      ? subscribeEvents(
          '/api/jobs/stream',
          (name, data) => {
            if (name !== 'job') return;
            const e = JSON.parse(data) as { slot_id: string; outcome: string; is_finalized: boolean };
            if (e.is_finalized && e.outcome === 'succeeded' && (slots.length === 0 || slots.includes(e.slot_id)))
              void latest();
          },
          setLive,
        )
      : undefined;
    return () => {
      stopped = true;
      clearInterval(timer);
      stream?.close();
    };
  }, [key]);
  useEffect(() => setQrOk(true), [item?.id]);
  const exit = () => (location.hash = '#/gallery');
  return (
    <div class="live-screen" data-testid="live-screen" onDblClick={exit}>
      {item?.image_url ? (
        <>
          <img class="live-photo" src={item.image_url} alt={t('lastShot')} data-id={item.id} />
          {item.guest_url && qrOk && (
            <figure class="live-qr">
              <img src={`${item.guest_url}/qr.svg`} alt="QR" width={220} height={220} onError={() => setQrOk(false)} />
              <figcaption>{t('liveScan')}</figcaption>
            </figure>
          )}
        </>
      ) : (
        <p class="live-waiting">{item === undefined ? '' : t('liveWaiting')}</p>
      )}
      {!live && (
        <p class="live-offline" role="status">
          {t('liveOffline')}
        </p>
      )}
      <button type="button" class="live-exit" onClick={exit} aria-label={t('close')}>
        ×
      </button>
    </div>
  );
}
