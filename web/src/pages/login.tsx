import { useState } from 'preact/hooks';
import { ApiError, login } from '../api';
import { formatDate, t } from '../i18n';

export function LoginPage({ onLogin }: { onLogin: () => void }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [remember, setRemember] = useState(false);
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await login(username, password, remember);
      if (location.hash !== '#/slots') location.hash = '#/slots';
      onLogin();
    } catch (err) {
      if (err instanceof ApiError && err.code === 'login_locked')
        setError(t('loginLocked', { time: formatDate(String(err.details.locked_until)) }));
      else if (err instanceof ApiError && err.code === 'invalid_credentials') setError(t('loginFailed'));
      else setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="card narrow" onSubmit={submit} aria-labelledby="login-title">
      <h1 id="login-title">{t('login')}</h1>
      <div class="field">
        <label for="username">{t('username')}</label>
        <input
          id="username"
          name="username"
          autoComplete="username"
          required
          value={username}
          onInput={(e) => setUsername((e.target as HTMLInputElement).value)}
        />
      </div>
      <div class="field">
        <label for="password">{t('password')}</label>
        <input
          id="password"
          name="password"
          type="password"
          autoComplete="current-password"
          required
          value={password}
          onInput={(e) => setPassword((e.target as HTMLInputElement).value)}
        />
      </div>
      <div class="field check">
        <label>
          <input
            id="remember"
            type="checkbox"
            checked={remember}
            onChange={(e) => setRemember((e.target as HTMLInputElement).checked)}
          />{' '}
          {t('rememberMe')}
        </label>
      </div>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <button type="submit" class="primary" disabled={busy}>
        {t('login')}
      </button>
    </form>
  );
}
