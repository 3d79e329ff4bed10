import { useState } from 'preact/hooks';
import {
  ApiError,
  client,
  ok,
  changeOwnPassword,
  restoreSession,
  session,
  type Account,
  type Permission,
} from '../api';
import { ErrorBox, Field, Loading, useLoad } from '../components';
import { formatDate, t, useLang, type MessageKey } from '../i18n';

const PERMISSIONS: readonly Permission[] = [
  'slots:read',
  'slots:write',
  'stats:read',
  'settings:read',
  'settings:write',
  'accounts:write',
];
const MIN_PASSWORD = 8;

/** A 422's field errors by field (the server's JSON pointers), in the page's language. */
function fieldErrors(error: unknown): Record<string, string> {
  if (!(error instanceof ApiError) || error.status !== 422) return {};
  const errors = (error.details.errors ?? []) as Array<{ path: string }>;
  const words: Record<string, MessageKey> = {
    '/current_password': 'wrongCurrentPassword',
    '/new_password': 'passwordTooShort',
    '/password': 'passwordTooShort',
    '/username': 'badUsername',
  };
  return Object.fromEntries(errors.map((e) => [e.path.slice(1), t(words[e.path] ?? 'invalidValue')]));
}

/** A refusal in words when the server gave a reason the UI knows, else the server's message. */
function AccountError({ error }: { error: unknown }) {
  if (!error || Object.keys(fieldErrors(error)).length > 0) return null;
  const reason = error instanceof ApiError ? (error.details.reason as string | undefined) : undefined;
  const known: Record<string, MessageKey> = {
    last_account_manager: 'lastAccountManager',
    own_account: 'ownAccount',
    account_exists: 'accountExists',
  };
  if (reason && known[reason]) {
    return (
      <p class="error" role="alert">
        {t(known[reason])}
      </p>
    );
  }
  return <ErrorBox error={error} />;
}

function PermissionBoxes({
  id,
  value,
  onChange,
}: {
  id: string;
  value: Permission[];
  onChange: (v: Permission[]) => void;
}) {
  return (
    <fieldset class="permissions">
      <legend>{t('permissions')}</legend>
      {PERMISSIONS.map((p) => (
        <label>
          <input
            type="checkbox"
            id={`${id}-${p}`}
            data-permission={p}
            checked={value.includes(p)}
            onChange={(e) =>
              onChange((e.target as HTMLInputElement).checked ? [...value, p] : value.filter((x) => x !== p))
            }
          />{' '}
          {t(`perm_${p.replace(':', '_')}` as MessageKey)}
        </label>
      ))}
    </fieldset>
  );
}

function OwnPassword() {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [repeat, setRepeat] = useState('');
  const [error, setError] = useState<unknown>();
  const [done, setDone] = useState(false);
  const errors = fieldErrors(error);
  const mismatch = repeat !== '' && repeat !== next;
  return (
    <form
      class="card"
      data-testid="own-password"
      onSubmit={async (e) => {
        e.preventDefault();
        setError(undefined);
        setDone(false);
        try {
          await changeOwnPassword(current, next);
          setCurrent('');
          setNext('');
          setRepeat('');
          setDone(true);
        } catch (err) {
          setError(err);
        }
      }}
    >
      <h2>{t('ownPassword')}</h2>
      <p class="muted">{t('ownPasswordHelp')}</p>
      <Field id="current-password" label={t('currentPassword')} error={errors.current_password}>
        <input
          id="current-password"
          type="password"
          autoComplete="current-password"
          required
          value={current}
          onInput={(e) => (setCurrent((e.target as HTMLInputElement).value), setDone(false))}
        />
      </Field>
      <Field
        id="new-password"
        label={t('newPassword')}
        error={errors.new_password}
        help={t('passwordRule', { n: MIN_PASSWORD })}
      >
        <input
          id="new-password"
          type="password"
          autoComplete="new-password"
          required
          minLength={MIN_PASSWORD}
          value={next}
          onInput={(e) => (setNext((e.target as HTMLInputElement).value), setDone(false))}
        />
      </Field>
      <Field id="repeat-password" label={t('repeatPassword')} error={mismatch ? t('passwordsDiffer') : undefined}>
        <input
          id="repeat-password"
          type="password"
          autoComplete="new-password"
          required
          value={repeat}
          onInput={(e) => (setRepeat((e.target as HTMLInputElement).value), setDone(false))}
        />
      </Field>
      <AccountError error={error} />
      {done && (
        <p class="ok" role="status">
          {t('ownPasswordChanged')}
        </p>
      )}
      <button type="submit" class="primary" disabled={!current || next.length < MIN_PASSWORD || next !== repeat}>
        {t('changePassword')}
      </button>
    </form>
  );
}

function AccountRow({ account, onChanged }: { account: Account; onChanged: () => void }) {
  const [permissions, setPermissions] = useState<Permission[]>(account.permissions);
  const [password, setPassword] = useState('');
  const [error, setError] = useState<unknown>();
  const [message, setMessage] = useState<string>();
  const me = session()?.username === account.username;
  const run = async (action: () => Promise<unknown>, done: string) => {
    setError(undefined);
    setMessage(undefined);
    try {
      await action();
      setMessage(done);
      // Your own permissions changed: the page shows what you may do now.
      if (me) await restoreSession();
      onChanged();
    } catch (err) {
      setError(err);
      setPermissions(account.permissions); // what the server kept
    }
  };
  const changed = permissions.slice().sort().join() !== account.permissions.slice().sort().join();
  const errors = fieldErrors(error);
  return (
    <li class="card account" data-account={account.username}>
      <h3>
        {account.username} {me && <span class="badge">{t('you')}</span>}{' '}
        <small class="muted">{t('accountCreated', { when: formatDate(account.created_at) })}</small>
      </h3>
      <PermissionBoxes
        id={`acc-${account.username}`}
        value={permissions}
        onChange={(v) => (setPermissions(v), setMessage(undefined))}
      />
      <div class="actions">
        <button
          type="button"
          class="primary"
          disabled={!changed}
          onClick={() =>
            void run(
              () =>
                ok(
                  client.PUT('/api/accounts/{username}', {
                    params: { path: { username: account.username } },
                    body: { permissions },
                  }),
                ),
              t('saved'),
            )
          }
        >
          {t('savePermissions')}
        </button>
        {!me && (
          <button
            type="button"
            class="danger"
            onClick={() =>
              confirm(t('removeAccountConfirm', { name: account.username })) &&
              void run(
                () =>
                  ok(client.DELETE('/api/accounts/{username}', { params: { path: { username: account.username } } })),
                t('accountRemoved'),
              )
            }
          >
            {t('removeAccount')}
          </button>
        )}
      </div>
      {!me && (
        <form
          class="inline-form"
          onSubmit={(e) => {
            e.preventDefault();
            void run(
              () =>
                ok(
                  client.PUT('/api/accounts/{username}', {
                    params: { path: { username: account.username } },
                    body: { password },
                  }),
                ),
              t('accountPasswordSet'),
            ).then(() => setPassword(''));
          }}
        >
          <Field
            id={`acc-${account.username}-password`}
            label={t('setPasswordFor', { name: account.username })}
            error={errors.password}
          >
            <input
              id={`acc-${account.username}-password`}
              type="password"
              autoComplete="new-password"
              minLength={MIN_PASSWORD}
              value={password}
              onInput={(e) => (setPassword((e.target as HTMLInputElement).value), setMessage(undefined))}
            />
          </Field>
          <button type="submit" disabled={password.length < MIN_PASSWORD}>
            {t('setPassword')}
          </button>
        </form>
      )}
      <AccountError error={error} />
      {message && (
        <p class="ok" role="status">
          {message}
        </p>
      )}
    </li>
  );
}

function AddAccount({ onAdded }: { onAdded: () => void }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [permissions, setPermissions] = useState<Permission[]>(['slots:read', 'stats:read']);
  const [error, setError] = useState<unknown>();
  const errors = fieldErrors(error);
  return (
    <form
      class="card"
      data-testid="add-account"
      onSubmit={async (e) => {
        e.preventDefault();
        setError(undefined);
        try {
          await ok(client.POST('/api/accounts', { body: { username, password, permissions } }));
          setUsername('');
          setPassword('');
          onAdded();
        } catch (err) {
          setError(err);
        }
      }}
    >
      <h2>{t('addAccount')}</h2>
      <Field id="new-username" label={t('username')} error={errors.username} help={t('usernameRule')}>
        <input
          id="new-username"
          autoComplete="off"
          required
          maxLength={64}
          value={username}
          onInput={(e) => setUsername((e.target as HTMLInputElement).value)}
        />
      </Field>
      <Field
        id="new-account-password"
        label={t('password')}
        error={errors.password}
        help={t('passwordRule', { n: MIN_PASSWORD })}
      >
        <input
          id="new-account-password"
          type="password"
          autoComplete="new-password"
          required
          minLength={MIN_PASSWORD}
          value={password}
          onInput={(e) => setPassword((e.target as HTMLInputElement).value)}
        />
      </Field>
      <PermissionBoxes id="new-account" value={permissions} onChange={setPermissions} />
      <AccountError error={error} />
      <button type="submit" class="primary" disabled={!username || password.length < MIN_PASSWORD}>
        {t('addAccount')}
      </button>
    </form>
  );
}

/** Your account (password), and for those who manage accounts: every account, its permissions, add and remove. */
export function AccountPage() {
  useLang();
  const canManage = session()?.permissions.includes('accounts:write') ?? false;
  const accounts = useLoad(
    async () => (canManage ? (await ok(client.GET('/api/accounts'))).accounts : []),
    [canManage],
  );
  return (
    <section aria-labelledby="account-title">
      <h1 id="account-title">{t('accountTitle', { name: session()?.username ?? '' })}</h1>
      <OwnPassword />
      {canManage && (
        <>
          <h2>{t('accountsTitle')}</h2>
          <ErrorBox error={accounts.error} />
          {!accounts.data ? (
            <Loading />
          ) : (
            <ul class="accounts" data-testid="accounts">
              {accounts.data.map((a) => (
                <AccountRow account={a} key={`${a.username}:${a.permissions.join()}`} onChanged={accounts.reload} />
              ))}
            </ul>
          )}
          <AddAccount onAdded={accounts.reload} />
        </>
      )}
    </section>
  );
}
