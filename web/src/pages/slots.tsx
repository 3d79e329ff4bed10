import { client, ok } from '../api';
import { CopyButton, ErrorBox, GuestQrNote, Loading, useLoad } from '../components';
import {
  formatDate,
  formatNumber,
  operationTitle,
  slotName,
  t,
  useLang,
  providerReasonText,
  providerTitle,
} from '../i18n';
import { ModelNotes } from '../models';

export function SlotsPage() {
  useLang();
  const { data: list, error, reload } = useLoad(() => ok(client.GET('/api/slots')), []);
  const data = list?.slots;
  if (error) return <ErrorBox error={error} />;
  if (!data || !list) return <Loading />;
  return (
    <section aria-labelledby="slots-title">
      <h1 id="slots-title">{t('navSlots')}</h1>
      {list.public_base.source !== 'configured' && (
        <p class="warning" role="note" data-testid="public-url-warning">
          {list.public_base.source === 'lan'
            ? t('publicUrlLan', { url: list.public_base.url ?? '' })
            : t('publicUrlNone')}
        </p>
      )}
      <ul class="slots">
        {data.map((s) => (
          <li class={`card slot${s.enabled ? '' : ' off'}`} data-slot={s.id}>
            <div class="slot-head">
              <h2>
                <a href={`#/slots/${s.id}`}>{slotName(s.name)}</a> <small class="muted">{s.id}</small>
              </h2>
              <span class={`badge ${s.enabled ? 'on' : 'off'}`}>{s.enabled ? t('enabled') : t('disabled')}</span>
            </div>
            <p>
              {providerTitle(s.provider)} · {operationTitle(s.provider, s.operation)}
              {s.model && ` · ${s.model.title === s.model.id ? s.model.id : s.model.title}`}
            </p>
            {list.last_results[s.id] && (
              <a
                class="last-shot"
                href="#/gallery"
                title={`${t('lastShot')}: ${formatDate(list.last_results[s.id]!.finalized_at)}`}
              >
                <img
                  src={list.last_results[s.id]!.thumb_url}
                  alt={t('lastShot')}
                  loading="lazy"
                  width={96}
                  height={96}
                />
              </a>
            )}
            <ModelNotes slot={s} onSwitched={() => reload()} />
            <GuestQrNote slot={s} />
            {s.recent_wrong_passwords > 0 && (
              <p class="warning severe" role="alert" data-testid="old-password">
                {t('oldPasswordAlert', { n: s.recent_wrong_passwords })}
              </p>
            )}
            {!s.provider_configured && (
              <p class="warning" role="note">
                {providerReasonText(s.provider_reason)}
              </p>
            )}
            <dl class="inline">
              <dt>{t('lastActivity')}</dt>
              <dd>{formatDate(s.last_activity_at)}</dd>
              <dt>{t('today')}</dt>
              <dd>
                <span class="ok">✓ {formatNumber(s.today.succeeded)}</span>{' '}
                <span class="bad">✗ {formatNumber(s.today.failed)}</span>
              </dd>
            </dl>
            <div class="url">
              <code title={t('ingestUrl')}>{s.ingest_url}</code>
              <CopyButton text={s.ingest_url} />
            </div>
            <a class="button small" href={`#/slots/${s.id}`}>
              {t('edit')}
            </a>
          </li>
        ))}
      </ul>
    </section>
  );
}
