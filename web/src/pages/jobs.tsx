import { useEffect, useState } from 'preact/hooks';
import { api, type Job, type JobSummary } from '../api';
import { ErrorBox, Loading, OutcomeBadge, useJobEvents, useLoad } from '../components';
import { formatDate, formatNumber, providerTitle, t, useLang } from '../i18n';

const OUTCOMES = ['succeeded', 'timeout', 'provider_error', 'cancelled', 'internal_error'];

export function JobsPage() {
  useLang();
  const [slot, setSlot] = useState('');
  const [outcome, setOutcome] = useState('');
  const [jobs, setJobs] = useState<JobSummary[]>();
  const [error, setError] = useState<unknown>();
  const [live, setLive] = useState(false);
  const load = async () => {
    const q = new URLSearchParams({ limit: '50' });
    if (slot) q.set('slot_id', slot);
    if (outcome === 'succeeded') {
      q.set('failure_reason', 'none');
      q.set('finalized', 'true');
    } else if (outcome) q.set('failure_reason', outcome);
    try {
      setJobs((await api<{ jobs: JobSummary[] }>('GET', `/api/jobs?${q.toString()}`)).data.jobs);
    } catch (e) {
      setError(e);
    }
  };
  useEffect(() => void load(), [slot, outcome]);
  useJobEvents(() => true, () => void load(), setLive, [slot, outcome], 200);
  return (
    <section aria-labelledby="jobs-title">
      <h1 id="jobs-title">
        {t('jobsTitle')} <span class={`badge ${live ? 'on' : 'off'}`} aria-live="polite">{live ? `● ${t('live')}` : '○'}</span>
      </h1>
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
                <th scope="col">{t('slot')}</th>
                <th scope="col" class="narrow-hide">{t('provider')}</th>
                <th scope="col">{t('outcome')}</th>
                <th scope="col">{t('duration')}</th>
              </tr>
            </thead>
            <tbody>
              {jobs.map((j) => (
                <tr data-job={j.id}>
                  <td>
                    <a href={`#/jobs/${j.id}`}>{formatDate(j.created_at)}</a>
                  </td>
                  <td>{j.slot_id}</td>
                  <td class="narrow-hide">
                    {providerTitle(j.provider)} · {j.operation}
                  </td>
                  <td>
                    <OutcomeBadge outcome={j.outcome} /> {j.is_test && <span class="badge">{t('test')}</span>}
                  </td>
                  <td>{j.total_ms === null ? '—' : `${formatNumber(j.total_ms)} ms`}</td>
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
  const { data: job, error } = useLoad(async () => (await api<Job>('GET', `/api/jobs/${id}`)).data, [id]);
  if (error) return <ErrorBox error={error} />;
  if (!job) return <Loading />;
  return (
    <section class="card" aria-labelledby="job-title">
      <p>
        <a href="#/jobs">← {t('back')}</a>
      </p>
      <h1 id="job-title">{t('job', { id: job.id.slice(0, 8) })}</h1>
      <p>
        <OutcomeBadge outcome={job.outcome} /> {job.slot_id} · {providerTitle(job.provider)} · {job.operation}
      </p>
      <h2>{t('whatHappened')}</h2>
      <p data-testid="what-happened">{whatHappened(job)}</p>
      <dl class="inline">
        <dt>{t('created')}</dt>
        <dd>{formatDate(job.created_at)}</dd>
        <dt>{t('deadline')}</dt>
        <dd>
          {formatDate(job.deadline.expires_at)}
          {/* A finished job has no time left to count down. */}
          {!job.is_finalized && ` (${job.deadline.is_expired ? t('expired') : t('remaining', { ms: job.deadline.remaining_ms })})`}
        </dd>
        <dt>{t('duration')}</dt>
        <dd>{t('timings', { wait: job.timings.queue_wait_ms ?? '—', processing: job.timings.processing_ms ?? '—', total: job.timings.total_ms ?? '—' })}</dd>
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
                {job.result.public_base_source === 'lan' && <p class="warning" role="note">{t('guestLinkLan')}</p>}
              </>
            ) : (
              <p class="warning" role="note">{t('guestLinkNone')}</p>
            )}
          </div>
        </div>
      ) : (
        <p class="muted">{t('noResult')}</p>
      )}
      <h2>{t('providerCalls')}</h2>
      <ul class="calls">
        {(job.provider_calls as Array<{ provider?: string; model?: string; attempt?: number; outcome?: string; httpStatus?: number; durationMs?: number }>).map((c) => (
          <li>
            {providerTitle(c.provider ?? job.provider)}
            {c.model ? ` (${c.model})` : ''} — {t('callsSummary', { attempt: c.attempt ?? 1, outcome: c.outcome ?? '?', status: c.httpStatus ? ` HTTP ${c.httpStatus}` : '', ms: formatNumber(c.durationMs ?? 0) })}
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
              <dt>{k}</dt>
              <dd>{typeof v === 'string' ? v : JSON.stringify(v)}</dd>
            </>
          ))}
        </dl>
      )}
    </section>
  );
}
