import { useEffect, useRef, useState } from 'preact/hooks';
import { client, ok, type Job, type JobSummary, type Query, type Refusal } from '../api';
import { ErrorBox, Loading, OutcomeBadge, useJobEvents, useLoad } from '../components';
import {
  formatMoment,
  formatMs,
  boothFieldLabel,
  formatBytes,
  formatDate,
  formatNumber,
  operationTitle,
  providerTitle,
  refusalLabel,
  t,
  useLang,
} from '../i18n';

export type JobsView = 'jobs' | 'refused' | 'booths';

/** The monitor's three views: jobs, refusals one by one, booths in contact. */
function ViewTabs({ view }: { view: JobsView }) {
  const tabs: Array<[JobsView, string, string]> = [
    ['jobs', '#/jobs', t('jobsTitle')],
    ['refused', '#/jobs/refused', t('refusedTitle')],
    ['booths', '#/jobs/booths', t('boothsTitle')],
  ];
  return (
    <nav class="tabs" aria-label={t('monitorViews')}>
      {tabs.map(([key, href, label]) => (
        <a href={href} class={view === key ? 'active' : ''} aria-current={view === key ? 'page' : undefined}>
          {label}
        </a>
      ))}
    </nav>
  );
}

/** A monitor view's title with its live badge, and the tabs to the other views. */
function MonitorHeader({ view, title, live }: { view: JobsView; title: string; live: boolean }) {
  return (
    <>
      <h1 id="jobs-title">
        {title}{' '}
        <span class={`badge ${live ? 'on' : 'off'}`} aria-live="polite">
          {live ? `● ${t('live')}` : '○'}
        </span>
      </h1>
      <ViewTabs view={view} />
    </>
  );
}

/**
 * Reloads a view that no job row carries (refusals make no job; booths are aggregates): on each job
 * event and every 10 s. Returns whether the live feed is connected.
 */
function useLiveRefresh(reload: () => void): boolean {
  const [live, setLive] = useState(false);
  useJobEvents(() => true, reload, setLive, [], 500);
  useEffect(() => {
    const timer = setInterval(reload, 10_000);
    return () => clearInterval(timer);
  }, []);
  return live;
}

/** A booth as an operator names it: its DSLR Remote Pro name, else its user id, else "—". */
function boothLabel(name: string | null, userId: string | null): string {
  return name || userId || '—';
}

export function RefusedPage() {
  useLang();
  const [rows, setRows] = useState<Refusal[]>();
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<unknown>();
  // A live refresh reloads as many rows as are shown (up to 200), so "Show more" pages stay.
  const shown = useRef(50);
  const load = async () => {
    try {
      const query = { limit: Math.min(200, shown.current) };
      const page = await ok(client.GET('/api/stats/refusals', { params: { query } }));
      setRows(page.refusals);
      setNext(page.next_before);
      setError(undefined);
    } catch (e) {
      setError(e);
    }
  };
  const more = async () => {
    if (!next) return;
    try {
      const page = await ok(client.GET('/api/stats/refusals', { params: { query: { limit: 50, before: next } } }));
      setRows((r) => {
        const all = [...(r ?? []), ...page.refusals];
        shown.current = all.length;
        return all;
      });
      setNext(page.next_before);
    } catch (e) {
      setError(e);
    }
  };
  useEffect(() => void load(), []);
  const live = useLiveRefresh(() => void load());
  return (
    <section aria-labelledby="jobs-title">
      <MonitorHeader view="refused" title={t('refusedTitle')} live={live} />
      <p class="muted">{t('refusedHelp')}</p>
      <ErrorBox error={error} />
      {!rows ? (
        <Loading />
      ) : rows.length === 0 ? (
        <p class="muted">{t('noRefusalsYet')}</p>
      ) : (
        <div class="table-wrap">
          <table data-testid="refusals-table">
            <thead>
              <tr>
                <th scope="col">{t('time')}</th>
                <th scope="col" class="narrow-hide">
                  {t('slot')}
                </th>
                <th scope="col">{t('reason')}</th>
                <th scope="col" class="narrow-hide">
                  {t('booth')}
                </th>
                <th scope="col" class="narrow-hide">
                  {t('address')}
                </th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr data-refusal={r.id} data-code={r.code}>
                  <td>
                    {formatMoment(r.at)}
                    {/* On a phone the slot and the booth go under the time (their columns are hidden). */}
                    <div class="narrow-only muted small">
                      {r.slot_id} · {boothLabel(r.booth_name, r.booth_user_id)}
                    </div>
                  </td>
                  <td class="narrow-hide">{r.slot_id}</td>
                  <td>
                    <span class="badge bad">{r.status}</span> {refusalLabel(r.code)}
                    {r.message && (
                      <div class="muted small" data-testid="refusal-message" lang="en">
                        {t('boothWasTold', { message: r.message })}
                      </div>
                    )}
                  </td>
                  <td class="narrow-hide">{boothLabel(r.booth_name, r.booth_user_id)}</td>
                  <td class="narrow-hide">
                    <code>{r.client_address}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {next && (
        <button type="button" onClick={() => void more()}>
          {t('showMore')}
        </button>
      )}
    </section>
  );
}

export function BoothsPage() {
  useLang();
  const { data, error, reload } = useLoad(() => ok(client.GET('/api/stats/booths')), []);
  const live = useLiveRefresh(reload);
  return (
    <section aria-labelledby="jobs-title">
      <MonitorHeader view="booths" title={t('boothsTitle')} live={live} />
      <p class="muted">{t('boothsHelp')}</p>
      <ErrorBox error={error} />
      {!data ? (
        <Loading />
      ) : data.booths.length === 0 ? (
        <p class="muted">{t('noBooths')}</p>
      ) : (
        <ul class="booths" data-testid="booths">
          {data.booths.map((b) => {
            const refusedLast =
              b.last_refusal !== null && (b.last_result === null || b.last_refusal.at > b.last_result.at);
            return (
              <li class={`card booth${refusedLast ? ' warn' : ''}`} data-booth={b.address}>
                <h2>
                  {boothLabel(b.name, b.user_id)} <small class="muted">{b.address}</small>
                </h2>
                <dl class="inline">
                  <dt>{t('lastContact')}</dt>
                  <dd>
                    {formatDate(b.last_contact_at)} · {b.last_slot_id}
                  </dd>
                  <dt>{t('lastResult')}</dt>
                  <dd>
                    {b.last_result ? (
                      <>
                        <OutcomeBadge outcome={b.last_result.outcome} />{' '}
                        <a href={`#/jobs/${b.last_result.job_id}`}>{formatDate(b.last_result.at)}</a>
                      </>
                    ) : (
                      '—'
                    )}
                  </dd>
                  <dt>{t('lastRefusal')}</dt>
                  <dd data-testid="last-refusal">
                    {b.last_refusal ? (
                      <>
                        <span class="badge bad">{b.last_refusal.status}</span> {refusalLabel(b.last_refusal.code)} ·{' '}
                        {formatDate(b.last_refusal.at)}
                      </>
                    ) : (
                      '—'
                    )}
                  </dd>
                  <dt>{t('boothCounts')}</dt>
                  <dd>{t('boothCountsValue', { jobs: formatNumber(b.jobs), refusals: formatNumber(b.refusals) })}</dd>
                </dl>
                {refusedLast && b.last_refusal?.code === 'invalid_password' && (
                  <p class="warning" role="note">
                    {t('boothOldPassword')}
                  </p>
                )}
                <BoothRequests boothKey={b.key} />
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}

/** The booth check: a booth's last requests as the server received them, loaded when opened. */
function BoothRequests({ boothKey }: { boothKey: string }) {
  const [open, setOpen] = useState(false);
  // Read when opened (and again at each opening), not with every booth card.
  const { data, error } = useLoad(
    async () =>
      open
        ? (await ok(client.GET('/api/booths/{key}/requests', { params: { path: { key: boothKey } } }))).requests
        : undefined,
    [open, boothKey],
  );
  return (
    <details class="booth-requests" onToggle={(e) => setOpen((e.currentTarget as HTMLDetailsElement).open)}>
      <summary>{t('boothRequests')}</summary>
      <p class="muted">{t('boothRequestsHelp')}</p>
      <ErrorBox error={error} />
      {open && !data && !error && <Loading />}
      {data && data.length === 0 && <p class="muted">{t('noBoothRequests')}</p>}
      {data && data.length > 0 && (
        <ol class="booth-request-list" data-testid="booth-requests">
          {data.map((r) => (
            <li>
              <div>
                <strong>{formatMoment(r.at)}</strong> · {r.slot_id} · HTTP/{r.http_version} ·{' '}
                <span class={`badge ${r.status === 200 ? 'on' : 'bad'}`}>{r.status}</span>{' '}
                {r.code ? refusalLabel(r.code) : ''}
                {r.job_id && (
                  <>
                    {' '}
                    · <a href={`#/jobs/${r.job_id}`}>{r.job_id.slice(0, 8)}</a>
                  </>
                )}
              </div>
              <div>
                <span class="muted">{t('boothRequestParts')}:</span>{' '}
                <span class="parts">
                  {r.parts
                    .map((p) =>
                      p.file
                        ? `${p.name} (${t('filePart')}, ${formatBytes(p.bytes)}${p.type ? `, ${p.type}` : ''})`
                        : `${p.name} (${formatBytes(p.bytes)})`,
                    )
                    .join(' → ') || '—'}
                </span>
              </div>
              <div>
                <span class="muted">{t('boothRequestHeaders')}:</span>{' '}
                <code class="wrap">
                  {Object.entries(r.headers)
                    .map(([k, v]) => `${k}: ${v}`)
                    .join(' · ') || '—'}
                </code>
              </div>
              {r.query_keys.length > 0 && (
                <div>
                  <span class="muted">{t('boothRequestQuery')}:</span> <code>{r.query_keys.join(', ')}</code>
                </div>
              )}
              <div class="muted">
                {t('boothRequestTimings', { body: r.timings.body_ms ?? '—', total: r.timings.total_ms })}
              </div>
            </li>
          ))}
        </ol>
      )}
    </details>
  );
}

const OUTCOMES = ['succeeded', 'timeout', 'provider_error', 'cancelled', 'internal_error'];

export function JobsPage() {
  useLang();
  const [slot, setSlot] = useState('');
  const [outcome, setOutcome] = useState('');
  const [jobs, setJobs] = useState<JobSummary[]>();
  const [error, setError] = useState<unknown>();
  const [live, setLive] = useState(false);
  const load = async () => {
    const query: Query<'/api/jobs'> = { limit: 50 };
    if (slot) query.slot_id = slot;
    if (outcome === 'succeeded') Object.assign(query, { failure_reason: 'none', finalized: true });
    else if (outcome) query.failure_reason = outcome as Query<'/api/jobs'>['failure_reason'];
    try {
      setJobs((await ok(client.GET('/api/jobs', { params: { query } }))).jobs);
    } catch (e) {
      setError(e);
    }
  };
  useEffect(() => void load(), [slot, outcome]);
  useJobEvents(
    () => true,
    () => void load(),
    setLive,
    [slot, outcome],
    200,
  );
  return (
    <section aria-labelledby="jobs-title">
      <MonitorHeader view="jobs" title={t('jobsTitle')} live={live} />
      <div class="filters">
        <label>
          {t('slot')}{' '}
          <select value={slot} onChange={(e) => setSlot((e.target as HTMLSelectElement).value)}>
            <option value="">{t('allSlots')}</option>
            {Array.from({ length: 15 }, (_, i) => `slot-${String(i + 1).padStart(3, '0')}`).map((id) => (
              <option value={id}>{id}</option>
            ))}
          </select>
        </label>
        <label>
          {t('outcome')}{' '}
          <select value={outcome} onChange={(e) => setOutcome((e.target as HTMLSelectElement).value)}>
            <option value="">{t('allOutcomes')}</option>
            {OUTCOMES.map((o) => (
              <option value={o}>{t(`outcome_${o}` as never)}</option>
            ))}
          </select>
        </label>
      </div>
      <ErrorBox error={error} />
      {!jobs ? (
        <Loading />
      ) : (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">{t('created')}</th>
                <th scope="col" class="narrow-hide">
                  {t('slot')}
                </th>
                <th scope="col" class="narrow-hide">
                  {t('provider')}
                </th>
                <th scope="col">{t('outcome')}</th>
                <th scope="col">{t('duration')}</th>
              </tr>
            </thead>
            <tbody>
              {jobs.map((j) => (
                <tr data-job={j.id}>
                  <td>
                    <a href={`#/jobs/${j.id}`}>{formatMoment(j.created_at)}</a>
                    <div class="narrow-only muted small">{j.slot_id}</div>
                  </td>
                  <td class="narrow-hide">{j.slot_id}</td>
                  <td class="narrow-hide">
                    {providerTitle(j.provider)} · {operationTitle(j.provider, j.operation)}
                  </td>
                  <td>
                    <OutcomeBadge outcome={j.outcome} /> {j.is_test && <span class="badge">{t('test')}</span>}
                  </td>
                  <td class="num">{formatMs(j.total_ms)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

/** One sentence an operator reads instead of the JSON. */
function whatHappened(job: Job): string {
  const provider = providerTitle(job.provider);
  const seconds = job.timings.total_ms === null ? '—' : formatNumber(Math.round(job.timings.total_ms / 100) / 10);
  const detail = job.failure_detail as { reason?: string; message?: string } | null;
  switch (job.outcome) {
    case 'succeeded':
      return t('happened_succeeded', { provider, seconds });
    case 'timeout':
      return t('happened_timeout');
    case 'provider_error':
      return t('happened_provider_error', { provider, reason: detail?.message ?? detail?.reason ?? '—' });
    case 'cancelled':
      return t('happened_cancelled');
    case 'internal_error':
      return t('happened_internal_error');
    default:
      return t('happened_running');
  }
}

export function JobDetailPage({ id }: { id: string }) {
  useLang();
  const { data: job, error } = useLoad(() => ok(client.GET('/api/jobs/{id}', { params: { path: { id } } })), [id]);
  if (error) return <ErrorBox error={error} />;
  if (!job) return <Loading />;
  return (
    <section class="card" aria-labelledby="job-title">
      <p>
        <a href="#/jobs">← {t('back')}</a>
      </p>
      <h1 id="job-title">{t('job', { id: job.id.slice(0, 8) })}</h1>
      <p>
        <OutcomeBadge outcome={job.outcome} /> {job.slot_id} · {providerTitle(job.provider)} ·{' '}
        {operationTitle(job.provider, job.operation)}
      </p>
      <h2>{t('whatHappened')}</h2>
      <p data-testid="what-happened">{whatHappened(job)}</p>
      {job.notices.map((n) => (
        <p class="warning" role="note" data-testid="job-notice">
          {t(`notice_${n}` as never)}
        </p>
      ))}
      <dl class="inline">
        <dt>{t('created')}</dt>
        <dd>{formatMoment(job.created_at)}</dd>
        <dt>{t('deadline')}</dt>
        <dd>
          {formatDate(job.deadline.expires_at)}
          {/* A finished job has no time left to count down. */}
          {!job.is_finalized &&
            ` (${job.deadline.is_expired ? t('expired') : t('remaining', { ms: job.deadline.remaining_ms })})`}
        </dd>
        {job.client_address && (
          <>
            <dt>{t('address')}</dt>
            <dd>
              <code>{job.client_address}</code>
            </dd>
          </>
        )}
        <dt>{t('duration')}</dt>
        <dd>
          {t('timings', {
            wait: job.timings.queue_wait_ms ?? '—',
            processing: job.timings.processing_ms ?? '—',
            total: job.timings.total_ms ?? '—',
          })}
        </dd>
      </dl>
      {job.failure_detail && (
        <details>
          <summary>{t('rawData')}</summary>
          <pre class="detail">{JSON.stringify(job.failure_detail, null, 2)}</pre>
        </details>
      )}
      <h2>{t('result')}</h2>
      {job.result ? (
        <div class="result">
          <img src={job.result.url} alt={t('result')} />
          <div>
            <p>
              <a href={job.result.guest_link ?? job.result.guest_url} target="_blank" rel="noopener">
                {t('guestPage')}
              </a>{' '}
              · {formatDate(job.result.expires_at)}
            </p>
            {job.result.guest_link ? (
              <>
                <code class="url">{job.result.guest_link}</code>
                <img class="qr" src={`${job.result.guest_url}/qr.svg`} alt={t('qr')} width={160} height={160} />
                {job.result.public_base_source === 'lan' && (
                  <p class="warning" role="note">
                    {t('guestLinkLan')}
                  </p>
                )}
              </>
            ) : (
              <p class="warning" role="note">
                {t('guestLinkNone')}
              </p>
            )}
          </div>
        </div>
      ) : (
        <p class="muted">{t('noResult')}</p>
      )}
      <h2>{t('providerCalls')}</h2>
      <ul class="calls">
        {job.provider_calls.map((c) => (
          <li>
            {providerTitle(c.provider ?? job.provider)}
            {c.model && (
              <>
                {' '}
                (<code>{c.model}</code>)
              </>
            )}{' '}
            —{' '}
            {t('callsSummary', {
              attempt: c.attempt ?? 1,
              outcome: t(`callOutcome_${c.outcome}`),
              status: c.httpStatus ? ` HTTP ${c.httpStatus}` : '',
              ms: formatNumber(c.durationMs ?? 0),
            })}
          </li>
        ))}
      </ul>
      <details>
        <summary>{t('rawData')}</summary>
        <pre class="detail">{JSON.stringify(job.provider_calls, null, 2)}</pre>
      </details>
      <h2>{t('metadata')}</h2>
      {Object.keys(job.metadata).length === 0 ? (
        <p class="muted">{t('noFields')}</p>
      ) : (
        <dl class="inline">
          {Object.entries(job.metadata).map(([k, v]) => (
            <>
              <dt>{boothFieldLabel(k)}</dt>
              <dd>
                <code>{typeof v === 'string' ? v : JSON.stringify(v)}</code>
              </dd>
            </>
          ))}
        </dl>
      )}
    </section>
  );
}
