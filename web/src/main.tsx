import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { loadProviders, logout, restoreSession, session } from './api';
import { rememberProviders, setLang, t, useLang } from './i18n';
import { AccountPage } from './pages/account';
import { GalleryPage } from './pages/gallery';
import { BoothsPage, JobDetailPage, JobsPage, RefusedPage } from './pages/jobs';
import { LiveScreen } from './pages/live';
import { LoginPage } from './pages/login';
import { SettingsPage } from './pages/settings';
import { SlotEditorPage } from './pages/slot-editor';
import { SlotsPage } from './pages/slots';
import { StatsPage } from './pages/stats';
import './styles.css';

function useHash(): string {
  const [hash, setHash] = useState(location.hash || '#/slots');
  useEffect(() => {
    const on = () => setHash(location.hash || '#/slots');
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return hash;
}

function LanguageSwitch() {
  const lang = useLang();
  return (
    <label class="lang">
      <span class="sr-only">{t('language')}</span>
      <select
        value={lang}
        onChange={(e) => setLang((e.target as HTMLSelectElement).value as 'ru' | 'en')}
        aria-label={t('language')}
      >
        <option value="ru">Русский</option>
        <option value="en">English</option>
      </select>
    </label>
  );
}

function App() {
  useLang();
  const hash = useHash();
  // Logging in changes the session, not necessarily the hash: re-render explicitly.
  const [, setLogins] = useState(0);
  const s = session();
  // After a login as well as at start (a login does not reload the page).
  useEffect(() => void loadProviderNames().catch(() => undefined), [s?.username]);
  if (!s || hash === '#/login') {
    return (
      <div class="shell">
        <header class="top">
          <strong>{t('appName')}</strong>
          <LanguageSwitch />
        </header>
        <main id="main">
          <LoginPage onLogin={() => setLogins((n) => n + 1)} />
        </main>
      </div>
    );
  }
  const [, section, id] = hash.slice(1).split('/');
  // The live screen is the whole window (a TV by the booth): no header, no navigation.
  if (section === 'live') return <LiveScreen slots={(id ?? '').split(',').filter((x) => /^slot-\d{3}$/.test(x))} />;
  const nav: Array<[string, string]> = [
    ['slots', t('navSlots')],
    ['gallery', t('navGallery')],
    ['stats', t('navStats')],
    ['jobs', t('navJobs')],
    ['settings', t('navSettings')],
  ];
  let page;
  if (section === 'slots' && id) page = <SlotEditorPage id={id} key={id} />;
  else if (section === 'stats') page = <StatsPage />;
  else if (section === 'gallery') page = <GalleryPage />;
  else if (section === 'jobs' && id === 'refused') page = <RefusedPage />;
  else if (section === 'jobs' && id === 'booths') page = <BoothsPage />;
  else if (section === 'jobs' && id) page = <JobDetailPage id={id} key={id} />;
  else if (section === 'jobs') page = <JobsPage />;
  else if (section === 'settings') page = <SettingsPage />;
  else if (section === 'account') page = <AccountPage />;
  else page = <SlotsPage />;
  return (
    <div class="shell">
      <a
        class="skip"
        href="#main"
        onClick={(e) => {
          e.preventDefault();
          document.getElementById('main')?.focus();
        }}
      >
        {t('navSlots')} ↓
      </a>
      <header class="top">
        <strong>{t('appName')}</strong>
        <nav aria-label={t('navMain')}>
          {nav.map(([key, label]) => (
            <a
              href={`#/${key}`}
              aria-current={section === key ? 'page' : undefined}
              class={section === key ? 'active' : ''}
            >
              {label}
            </a>
          ))}
        </nav>
        <span class="spacer" />
        <a
          class="user"
          href="#/account"
          title={t('myAccount')}
          aria-current={section === 'account' ? 'page' : undefined}
        >
          {s.username}
        </a>
        <LanguageSwitch />
        <button type="button" class="link" onClick={() => void logout()}>
          {t('logout')}
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        {page}
      </main>
    </div>
  );
}

/** Providers name themselves (their labels come with the catalog, which every account may read). */
async function loadProviderNames(): Promise<void> {
  if (!session()) return;
  rememberProviders(await loadProviders());
}

void restoreSession().then(() => render(<App />, document.getElementById('app')!));
