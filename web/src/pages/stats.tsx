import { useState } from 'preact/hooks';
import { api, type Slot, type Stats, type Totals } from '../api';
import { ErrorBox, Loading, useLoad } from '../components';
import { currentLang, formatNumber, t, useLang } from '../i18n';

const PERIODS = { '1h': 3_600_000, '24h': 86_400_000, '7d': 7 * 86_400_000, '30d': 30 * 86_400_000 } as const;

/** HTTP status of each refusal code (the statistics count refusals by code). */
const REFUSAL_STATUS: Record<string, number> = {
  invalid_request: 400,
  invalid_password: 401,
  slot_not_found: 404,
  upload_timeout: 408,
  payload_too_large: 413,
  uri_too_long: 414,
  unsupported_media_type: 415,
  queue_busy: 429,
  too_many_attempts: 429,
  queue_unavailable: 503,
  insufficient_storage: 507,
};

function refusedTotal(x: Totals): number {
  return Object.values(x.rejections ?? {}).reduce((a, b) => a + b, 0);
}

function successRate(x: Totals): string {
  const done = x.succeeded + failures(x);
  return done === 0 ? '—' : `${Math.round((x.succeeded / done) * 100)} %`;
}

function Refusals({ x }: { x: Totals }) {
  const entries = Object.entries(x.rejections ?? {}).sort((a, b) => b[1] - a[1]);
  if (entries.length === 0) return <p class="muted">{t('noRefusals')}</p>;
  return (
    <ul class="refusals" data-testid="refusals">
      {entries.map(([code, n]) => (
        <li data-code={code}>
          <strong>{formatNumber(n)}</strong> × {REFUSAL_STATUS[code] ?? ''} {t(`refusal_${code}` as never) ?? code}
        </li>
      ))}
    </ul>
  );
}

function failures(x: Totals): number {
  return x.timeouts + x.provider_errors + x.internal_errors;
}

/** Stacked bars: successes (green) under errors (red), one bar per bucket. */
function BarsChart({ stats }: { stats: Stats }) {
  const w = 720;
  const h = 180;
  const max = Math.max(1, ...stats.series.map((b) => b.succeeded + failures(b)));
  const bw = w / Math.max(1, stats.series.length);
  return (
    <svg viewBox={`0 0 ${w} ${h + 20}`} role="img" aria-label={t('successesErrors')} class="chart">
      {stats.series.map((b, i) => {
        const ok = (b.succeeded / max) * h;
        const bad = (failures(b) / max) * h;
        return (
          <g>
            <title>{`${new Date(b.bucket_start).toLocaleString(currentLang())}: ✓${b.succeeded} ✗${failures(b)}`}</title>
            <rect x={i * bw + 1} y={h - ok} width={Math.max(1, bw - 2)} height={ok} fill="#2e9d5b" />
            <rect x={i * bw + 1} y={h - ok - bad} width={Math.max(1, bw - 2)} height={bad} fill="#d64545" />
          </g>
        );
      })}
      <text x="0" y={h + 16} font-size="12">
        0
      </text>
      <text x={w} y="12" font-size="12" text-anchor="end">
        {max}
      </text>
    </svg>
  );
}

function LatencyChart({ stats }: { stats: Stats }) {
  const w = 720;
  const h = 160;
  const pts = stats.series.map((b) => b.latency_ms);
  const max = Math.max(1, ...pts.flatMap((p) => [p.p50 ?? 0, p.p95 ?? 0, p.p99 ?? 0]));
  const step = w / Math.max(1, pts.length - 1);
  const line = (k: 'p50' | 'p95' | 'p99') =>
    pts
      .map((p, i) => (p[k] === null ? null : `${i * step},${h - ((p[k] ?? 0) / max) * h}`))
      .filter(Boolean)
      .join(' ');
  return (
    <svg viewBox={`0 0 ${w} ${h + 20}`} role="img" aria-label={t('latencyChart')} class="chart">
      <polyline points={line('p50')} fill="none" stroke="#2f6fd6" stroke-width="2" />
      <polyline points={line('p95')} fill="none" stroke="#e0a100" stroke-width="2" />
      <polyline points={line('p99')} fill="none" stroke="#d64545" stroke-width="2" />
      <text x={w} y="12" font-size="12" text-anchor="end">
        {max} ms
      </text>
      <text x="0" y={h + 16} font-size="12">
        {t('latencyLegend')}
      </text>
    </svg>
  );
}

function TotalsCards({ x }: { x: Totals }) {
  return (
    <dl class="totals">
      <div>
        <dt>{t('total')}</dt>
        <dd>{formatNumber(x.total)}</dd>
      </div>
      <div>
        <dt>{t('succeeded')}</dt>
        <dd class="ok">{formatNumber(x.succeeded)}</dd>
      </div>
      <div>
        <dt>{t('timeouts')}</dt>
        <dd class="bad">{formatNumber(x.timeouts)}</dd>
      </div>
      <div>
        <dt>{t('providerErrors')}</dt>
        <dd class="bad">{formatNumber(x.provider_errors)}</dd>
      </div>
      <div>
        <dt>{t('cancellations')}</dt>
        <dd>{formatNumber(x.cancellations)}</dd>
      </div>
      <div>
        <dt>{t('successRate')}</dt>
        <dd>{successRate(x)}</dd>
      </div>
      <div>
        <dt>{t('refused')}</dt>
        <dd class={refusedTotal(x) ? 'bad' : ''} data-testid="refused-total">{formatNumber(refusedTotal(x))}</dd>
      </div>
      <div>
        <dt>{t('latency')}</dt>
        <dd>
          {formatNumber(x.latency_ms.p50)} / {formatNumber(x.latency_ms.p95)} / {formatNumber(x.latency_ms.p99)} ms
        </dd>
      </div>
    </dl>
  );
}

export function StatsPage() {
  useLang();
  const [period, setPeriod] = useState<keyof typeof PERIODS>('24h');
  const [groupBy, setGroupBy] = useState('hour');
  const [n, setN] = useState(0);
  const query = () => {
    const to = new Date();
    const from = new Date(to.getTime() - PERIODS[period]);
    return `from=${encodeURIComponent(from.toISOString())}&to=${encodeURIComponent(to.toISOString())}&group_by=${groupBy}`;
  };
  const global = useLoad(async () => (await api<Stats>('GET', `/api/stats/global?${query()}`)).data, [period, groupBy, n]);
  const slots = useLoad(async () => {
    const list = (await api<{ slots: Slot[] }>('GET', '/api/slots')).data.slots;
    return Promise.all(list.map(async (s) => ({ slot: s, stats: (await api<Stats & { since_reset: { at: string | null; totals: Totals } }>('GET', `/api/stats/slots/${s.id}?${query()}`)).data })));
  }, [period, groupBy, n]);
  return (
    <section aria-labelledby="stats-title">
      <h1 id="stats-title">{t('statsTitle')}</h1>
      <div class="filters">
        <label>
          {t('period')}{' '}
          <select value={period} onChange={(e) => {
            const p = (e.target as HTMLSelectElement).value as keyof typeof PERIODS;
            setPeriod(p);
            if (p === '30d' && groupBy === 'hour') setGroupBy('day');
          }}>
            <option value="1h">{t('lastHour')}</option>
            <option value="24h">{t('last24h')}</option>
            <option value="7d">{t('last7d')}</option>
            <option value="30d">{t('last30d')}</option>
          </select>
        </label>
        <label>
          {t('groupBy')}{' '}
          <select value={groupBy} onChange={(e) => setGroupBy((e.target as HTMLSelectElement).value)}>
            <option value="hour">{t('hour')}</option>
            <option value="day">{t('day')}</option>
            <option value="week">{t('week')}</option>
          </select>
        </label>
      </div>
      <ErrorBox error={global.error} />
      {!global.data ? (
        <Loading />
      ) : (
        <div class="card">
          <TotalsCards x={global.data.totals} />
          <h2>{t('refusedByCode')}</h2>
          <Refusals x={global.data.totals} />
          <h2>{t('successesErrors')}</h2>
          <BarsChart stats={global.data} />
          <h2>{t('latencyChart')}</h2>
          <LatencyChart stats={global.data} />
        </div>
      )}
      <h2>{t('perSlot')}</h2>
      <ErrorBox error={slots.error} />
      {slots.data && (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">{t('slot')}</th>
                <th scope="col">{t('total')}</th>
                <th scope="col">{t('succeeded')}</th>
                <th scope="col">{t('failed')}</th>
                <th scope="col">{t('successRate')}</th>
                <th scope="col">{t('refused')}</th>
                <th scope="col">p50 ms</th>
                <th scope="col">{t('sinceReset')}</th>
                <th scope="col" />
              </tr>
            </thead>
            <tbody>
              {slots.data.map(({ slot, stats }) => (
                <tr data-slot={slot.id}>
                  <th scope="row">
                    {slot.name} <small class="muted">{slot.id}</small>
                  </th>
                  <td>{formatNumber(stats.totals.total)}</td>
                  <td class="ok">{formatNumber(stats.totals.succeeded)}</td>
                  <td class="bad">{formatNumber(failures(stats.totals))}</td>
                  <td>{successRate(stats.totals)}</td>
                  <td data-testid="slot-refused">{formatNumber(refusedTotal(stats.totals))}</td>
                  <td>{formatNumber(stats.totals.latency_ms.p50)}</td>
                  <td>{formatNumber(stats.since_reset.totals.total)}</td>
                  <td>
                    <button type="button" class="small" onClick={async () => {
                      if (!confirm(t('resetConfirm', { slot: slot.name }))) return;
                      await api('POST', `/api/slots/${slot.id}/stats/reset`);
                      setN((x) => x + 1);
                    }}>
                      {t('reset')}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
