import { useEffect, useState } from 'preact/hooks';
import {
  client,
  ok,
  type AddressCheck,
  type KeyCheck,
  type KeyCheckProvider,
  type Settings,
  type SettingsChange,
} from '../api';
import { ErrorBox, Field, Loading } from '../components';
import { formatDate, providerTitle, t, useLang } from '../i18n';

/**
 * Where guests' links and QR codes point (one rule for the print, the job page, the live screen and
 * shared galleries), with a Check the server runs: whether guests can reach it.
 */
function PublicAddressCard({
  settings,
  onSave,
}: {
  settings: Settings;
  onSave: (url: string | null) => Promise<void>;
}) {
  const address = settings.public_address;
  const [value, setValue] = useState(address.saved ?? '');
  const [check, setCheck] = useState<AddressCheck | 'checking'>();
  const [error, setError] = useState<unknown>();
  useEffect(() => setValue(address.saved ?? ''), [address.saved]);
  const fromEnvironment = address.source === 'environment';
  const runCheck = async () => {
    setCheck('checking');
    setError(undefined);
    try {
      const url = value.trim();
      setCheck(await ok(client.POST('/api/settings/public-address/check', { body: url ? { url } : {} })));
    } catch (e) {
      setCheck(undefined);
      setError(e);
    }
  };
  return (
    <form
      class="card"
      data-testid="public-address"
      onSubmit={(e) => {
        e.preventDefault();
        setCheck(undefined);
        void onSave(value.trim() === '' ? null : value.trim());
      }}
    >
      <h2>{t('publicAddress')}</h2>
      <p class="note" data-testid="public-address-now">
        {address.effective
          ? t(`publicAddressNow_${address.source}`, { url: address.effective })
          : t('publicAddressNow_none')}
      </p>
      <Field id="public-address-input" label={t('publicAddressLabel')} help={t('publicAddressHelp')}>
        <input
          id="public-address-input"
          type="url"
          inputMode="url"
          placeholder="https://photos.example.com"
          value={value}
          disabled={fromEnvironment}
          aria-describedby="public-address-input-help"
          onInput={(e) => setValue((e.target as HTMLInputElement).value)}
        />
      </Field>
      <div class="actions">
        <button type="submit" class="primary" disabled={fromEnvironment}>
          {t('save')}
        </button>
        <button
          type="button"
          data-testid="public-address-check"
          disabled={check === 'checking'}
          onClick={() => void runCheck()}
        >
          {check === 'checking' ? t('checking') : t('publicAddressCheck')}
        </button>
      </div>
      {check && check !== 'checking' && (
        <p
          class={`key-check ${check.status === 'reachable' ? 'ok' : 'warning'}`}
          role="status"
          data-testid="public-address-result"
        >
          {t(`addressCheck_${check.status}`, { url: check.url ?? '' })}
        </p>
      )}
      {error !== undefined && <ErrorBox error={error} />}
    </form>
  );
}

/** 72 → "3 d", 30 → "30 h", 36 → "1 d 12 h". */
function periodInWords(hours: number): string {
  const d = Math.floor(hours / 24);
  const h = Math.round(hours % 24);
  return [d ? t('days', { n: d }) : '', h ? t('hoursShort', { n: h }) : ''].filter(Boolean).join(' ');
}

export function SettingsPage() {
  useLang();
  const [settings, setSettings] = useState<Settings>();
  const [error, setError] = useState<unknown>();
  const [message, setMessage] = useState<string>();
  const [password, setPassword] = useState('');
  const [keys, setKeys] = useState<Record<string, string>>({});
  const [checks, setChecks] = useState<Record<string, KeyCheck | 'checking'>>({});
  const check = async (provider: KeyCheckProvider) => {
    setChecks((c) => ({ ...c, [provider]: 'checking' }));
    try {
      const res = await ok(
        client.POST('/api/settings/provider-keys/{provider}/check', { params: { path: { provider } } }),
      );
      setChecks((c) => ({ ...c, [provider]: res }));
    } catch (e) {
      setChecks((c) => ({ ...c, [provider]: { provider, status: 'unreachable', message: (e as Error).message } }));
    }
  };
  const [tSync, setTSync] = useState('');
  const [retention, setRetention] = useState('');
  useEffect(() => {
    ok(client.GET('/api/settings')).then((r) => {
      setSettings(r);
      setTSync(String(r.t_sync_response_seconds));
      setRetention(String(Math.round(r.result_ttl_seconds / 3600)));
    }, setError);
  }, []);
  const put = async (body: SettingsChange, done: string) => {
    setError(undefined);
    setMessage(undefined);
    try {
      setSettings(await ok(client.PUT('/api/settings', { body })));
      setMessage(done);
    } catch (e) {
      setError(e);
    }
  };
  if (!settings) return error ? <ErrorBox error={error} /> : <Loading />;
  return (
    <section aria-labelledby="settings-title">
      <h1 id="settings-title">{t('settingsTitle')}</h1>
      <ErrorBox error={error} />
      {message && (
        <p class="ok" role="status">
          {message}
        </p>
      )}
      <form
        class="card"
        onSubmit={(e) => {
          e.preventDefault();
          void put({ ingest_password: password }, t('passwordChanged')).then(() => setPassword(''));
        }}
      >
        <h2>{t('ingestPassword')}</h2>
        <p class="muted">{t('ingestPasswordHelp')}</p>
        {settings.ingest_password.is_set && (
          <p>
            {t('passwordSet', {
              when: formatDate(settings.ingest_password.updated_at),
              who:
                settings.ingest_password.updated_by === 'bootstrap'
                  ? t('setAtFirstStart')
                  : (settings.ingest_password.updated_by ?? '—'),
            })}
          </p>
        )}
        <Field id="ingest-password" label={t('newPassword')}>
          <input
            id="ingest-password"
            type="password"
            autoComplete="new-password"
            minLength={8}
            required
            value={password}
            onInput={(e) => setPassword((e.target as HTMLInputElement).value)}
          />
        </Field>
        <button type="submit" class="primary" disabled={password.length < 8}>
          {t('rotate')}
        </button>
      </form>
      <div class="card">
        <h2>{t('providerKeys')}</h2>
        {Object.entries(settings.provider_keys).map(([provider, status]) => (
          <form
            class="key-row"
            data-provider={provider}
            onSubmit={(e) => {
              e.preventDefault();
              void put({ provider_keys: { [provider]: keys[provider] } }, t('saved')).then(() =>
                setKeys({ ...keys, [provider]: '' }),
              );
            }}
          >
            <strong>{providerTitle(provider)}</strong>
            <span class={`badge ${status.configured ? 'on' : 'off'}`}>
              {status.configured
                ? `${t('configured')} (${status.source === 'environment' ? t('fromEnv') : t('fromSettings')})`
                : t('notConfigured')}
            </span>
            <label class="sr-only" for={`key-${provider}`}>
              {t('newKey')} {providerTitle(provider)}
            </label>
            <input
              id={`key-${provider}`}
              type="password"
              autoComplete="off"
              placeholder={t('newKey')}
              value={keys[provider] ?? ''}
              onInput={(e) => setKeys({ ...keys, [provider]: (e.target as HTMLInputElement).value })}
            />
            <button type="submit" disabled={!keys[provider]}>
              {t('setKey')}
            </button>
            {status.source === 'settings' && (
              <button
                type="button"
                class="danger"
                onClick={() => void put({ provider_keys: { [provider]: null } }, t('saved'))}
              >
                {t('clearKey')}
              </button>
            )}
            {status.configured && (
              <button
                type="button"
                data-testid={`check-${provider}`}
                disabled={checks[provider] === 'checking'}
                onClick={() => void check(provider as KeyCheckProvider)}
              >
                {t('checkKey')}
              </button>
            )}
            {((check) =>
              check &&
              check !== 'checking' && (
                <p
                  class={`key-check ${check.status === 'valid' ? 'ok' : 'warning'}`}
                  role="status"
                  data-testid={`check-result-${provider}`}
                >
                  {t(`keyCheck_${check.status}`)}:{' '}
                  {check.status === 'valid' ? t('keyModels', { n: check.image_models?.length ?? 0 }) : check.message}
                </p>
              ))(checks[provider])}
          </form>
        ))}
      </div>
      <PublicAddressCard settings={settings} onSave={(url) => put({ public_base_url: url }, t('saved'))} />
      <form
        class="card"
        onSubmit={(e) => {
          e.preventDefault();
          void put(
            { t_sync_response_seconds: Number(tSync), result_ttl_seconds: Number(retention) * 3600 },
            t('saved'),
          );
        }}
      >
        <Field id="t-sync" label={t('tSync')} help={t('tSyncHelp')}>
          <input
            id="t-sync"
            type="number"
            min={45}
            max={60}
            step={1}
            value={tSync}
            aria-describedby="t-sync-help"
            onInput={(e) => setTSync((e.target as HTMLInputElement).value)}
          />
        </Field>
        <Field id="retention" label={t('retention')} help={t('retentionHelp')}>
          <input
            id="retention"
            type="number"
            min={1}
            max={720}
            step={1}
            value={retention}
            aria-describedby="retention-help"
            onInput={(e) => setRetention((e.target as HTMLInputElement).value)}
          />
        </Field>
        {Number(retention) > 0 && (
          <p class="note" data-testid="retention-words">
            {t('retentionWords', { period: periodInWords(Number(retention)) })}
          </p>
        )}
        <button type="submit" class="primary">
          {t('save')}
        </button>
      </form>
      <div class="card">
        <button
          type="button"
          class="danger"
          onClick={async () => {
            if (!confirm(t('purgeConfirm'))) return;
            try {
              const r = await ok(client.POST('/api/media/cache/purge'));
              setMessage(
                t('purgeDone', {
                  results: r.deleted.results,
                  payloads: r.deleted.payloads,
                  links: r.deleted.temporary_links,
                }),
              );
            } catch (e) {
              setError(e);
            }
          }}
        >
          {t('purge')}
        </button>
      </div>
    </section>
  );
}
