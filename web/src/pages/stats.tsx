import { useState } from 'preact/hooks';
import { client, ok, type Query, type Stats, type Totals } from '../api';
import { ErrorBox, Loading, OutcomeBadge, useLoad } from '../components';
import {
  formatMs,
  currentLang,
  formatBytes,
  formatDate,
  formatNumber,
  REFUSAL_STATUS,
  refusalLabel,
  slotName,
  t,
  useLang,
} from '../i18n';

const PERIODS = { '1h': 3_600_000, '24h': 86_400_000, '7d': 7 * 86_400_000, '30d': 30 * 86_400_000 } as const;

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
          <strong>{formatNumber(n)}</strong> × {REFUSAL_STATUS[code] ?? ''} {refusalLabel(code)}
        </li>
      ))}
    </ul>
  );
}

function failures(x: Totals): number {
  return x.timeouts + x.provider_errors + x.internal_errors;
}

/** Chart frame: 720 wide, labels large enough to read when a phone scales it to 375 px. */
const CHART = { w: 720, h: 200, left: 96, bottom: 34, font: 20 };

/** A bucket's start as the axis shows it (time of day for hours, the date otherwise). */
function bucketLabel(iso: string, groupBy: string): string {
  const d = new Date(iso);
  return groupBy === 'hour'
    ? d.toLocaleTimeString(currentLang(), { hour: '2-digit', minute: '2-digit' })
    : d.toLocaleDateString(currentLang(), { day: 'numeric', month: 'short' });
}

/** Gridlines with their values (0, half, max) and the first, middle and last bucket under the plot. */
function Axes({ stats, max, unit = '' }: { stats: Stats; max: number; unit?: string }) {
  const { w, h, left, font } = CHART;
  const n = stats.series.length;
  const ticks = [0, max / 2, max];
  const xs = n === 0 ? [] : [...new Set([0, Math.floor((n - 1) / 2), n - 1])];
  const plotW = w - left;
  return (
    <g class="axes" font-size={font} fill="currentColor">
      {ticks.map((v) => {
        const y = h - (v / max) * h;
        return (
          <g>
            <line x1={left} x2={w} y1={y} y2={y} stroke="#d9dde3" stroke-width="1" />
            <text x={left - 6} y={Math.min(h, Math.max(font, y + font / 3))} text-anchor="end">
              {formatNumber(Math.round(v))}
              {unit}
            </text>
          </g>
        );
      })}
      {xs.map((i) => (
        <text
          x={left + ((i + 0.5) / n) * plotW}
          y={h + CHART.bottom - 8}
          text-anchor={i === 0 ? 'start' : i === n - 1 ? 'end' : 'middle'}
        >
          {bucketLabel(stats.series[i]!.bucket_start, stats.group_by)}
        </text>
      ))}
    </g>
  );
}

/** Stacked bars: successes (green) under errors (red), one bar per bucket; a tooltip per bar. */
function BarsChart({ stats }: { stats: Stats }) {
  const { w, h, left, bottom } = CHART;
  const max = Math.max(1, ...stats.series.map((b) => b.succeeded + failures(b)));
  const bw = (w - left) / Math.max(1, stats.series.length);
  return (
    <svg viewBox={`0 0 ${w} ${h + bottom}`} role="img" aria-label={t('successesErrors')} class="chart">
      <Axes stats={stats} max={max} />
      {stats.series.map((b, i) => {
        const ok = (b.succeeded / max) * h;
        const bad = (failures(b) / max) * h;
        return (
          <g>
            <title>{`${new Date(b.bucket_start).toLocaleString(currentLang())}: ✓${b.succeeded} ✗${failures(b)}`}</title>
            <rect x={left + i * bw + 1} y={0} width={Math.max(1, bw - 2)} height={h} fill="transparent" />
            <rect x={left + i * bw + 1} y={h - ok} width={Math.max(1, bw - 2)} height={ok} fill="#2e9d5b" />
            <rect x={left + i * bw + 1} y={h - ok - bad} width={Math.max(1, bw - 2)} height={bad} fill="#d64545" />
          </g>
        );
      })}
    </svg>
  );
}

/** p50/p95/p99 per bucket with a point (and its tooltip) where a bucket has data. */
function LatencyChart({ stats }: { stats: Stats }) {
  const { w, h, left, bottom } = CHART;
  const pts = stats.series.map((b) => b.latency_ms);
  const max = Math.max(1, ...pts.flatMap((p) => [p.p50 ?? 0, p.p95 ?? 0, p.p99 ?? 0]));
  const step = (w - left) / Math.max(1, pts.length);
  const x = (i: number) => left + (i + 0.5) * step;
  const y = (v: number) => h - (v / max) * h;
  const colours = { p50: '#2f6fd6', p95: '#e0a100', p99: '#d64545' } as const;
  const line = (k: 'p50' | 'p95' | 'p99') =>
    pts
      .map((p, i) => (p[k] === null ? null : `${x(i)},${y(p[k] ?? 0)}`))
      .filter(Boolean)
      .join(' ');
  return (
    <svg viewBox={`0 0 ${w} ${h + bottom}`} role="img" aria-label={t('latencyChart')} class="chart">
      <Axes stats={stats} max={max} unit=" ms" />
      {(['p50', 'p95', 'p99'] as const).map((k) => (
        <polyline points={line(k)} fill="none" stroke={colours[k]} stroke-width="3" />
      ))}
      {pts.map((p, i) =>
        p.p50 === null ? null : (
          <g>
            <title>{`${new Date(stats.series[i]!.bucket_start).toLocaleString(currentLang())}: p50 ${formatMs(p.p50)} · p95 ${formatMs(p.p95)} · p99 ${formatMs(p.p99)}`}</title>
            {(['p50', 'p95', 'p99'] as const).map((k) =>
              p[k] === null ? null : <circle cx={x(i)} cy={y(p[k]!)} r="5" fill={colours[k]} />,
            )}
          </g>
        ),
      )}
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
        <dd class={refusedTotal(x) ? 'bad' : ''} data-testid="refused-total">
          {formatNumber(refusedTotal(x))}
        </dd>
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
  const [groupBy, setGroupBy] = useState<NonNullable<Query<'/api/stats/global'>['group_by']>>('hour');
  const [n, setN] = useState(0);
  const query = (): Query<'/api/stats/global'> => {
    const to = new Date();
    const from = new Date(to.getTime() - PERIODS[period]);
    return { from: from.toISOString(), to: to.toISOString(), group_by: groupBy };
  };
  const global = useLoad(
    () => ok(client.GET('/api/stats/global', { params: { query: query() } })),
    [period, groupBy, n],
  );
  const slots = useLoad(async () => {
    const list = (await ok(client.GET('/api/slots'))).slots;
    return Promise.all(
      list.map(async (s) => ({
        slot: s,
        stats: await ok(client.GET('/api/stats/slots/{id}', { params: { path: { id: s.id }, query: query() } })),
      })),
    );
  }, [period, groupBy, n]);
  return (
    <section aria-labelledby="stats-title">
      <h1 id="stats-title">{t('statsTitle')}</h1>
      <div class="filters">
        <label>
          {t('period')}{' '}
          <select
            value={period}
            onChange={(e) => {
              const p = (e.target as HTMLSelectElement).value as keyof typeof PERIODS;
              setPeriod(p);
              if (p === '30d' && groupBy === 'hour') setGroupBy('day');
            }}
          >
            <option value="1h">{t('lastHour')}</option>
            <option value="24h">{t('last24h')}</option>
            <option value="7d">{t('last7d')}</option>
            <option value="30d">{t('last30d')}</option>
          </select>
        </label>
        <label>
          {t('groupBy')}{' '}
          <select value={groupBy} onChange={(e) => setGroupBy((e.target as HTMLSelectElement).value as typeof groupBy)}>
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
          <p class="legend">
            <span class="swatch p50" /> p50 <span class="swatch p95" /> p95 <span class="swatch p99" /> p99
          </p>
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
                <th scope="col" class="narrow-hide">
                  {t('total')}
                </th>
                <th scope="col" title={t('succeeded')}>
                  <span class="long">{t('succeeded')}</span>
                  <span class="short">✓</span>
                </th>
                <th scope="col" title={t('failed')}>
                  <span class="long">{t('failed')}</span>
                  <span class="short">✗</span>
                </th>
                <th scope="col" title={t('successRate')}>
                  <span class="long">{t('successRate')}</span>
                  <span class="short">%</span>
                </th>
                <th scope="col" class="narrow-hide">
                  {t('refused')}
                </th>
                <th scope="col">
                  p50<span class="long"> {t('msUnit')}</span>
                </th>
                <th scope="col" class="narrow-hide">
                  {t('lastSuccess')}
                </th>
                <th scope="col" class="narrow-hide">
                  {t('lastError')}
                </th>
                <th scope="col" class="narrow-hide">
                  {t('sinceReset')}
                </th>
                <th scope="col" class="narrow-hide" />
              </tr>
            </thead>
            <tbody>
              {slots.data.map(({ slot, stats }) => (
                <tr data-slot={slot.id}>
                  <th scope="row">
                    {slotName(slot.name)} <small class="muted narrow-hide">{slot.id}</small>
                  </th>
                  <td class="narrow-hide">{formatNumber(stats.totals.total)}</td>
                  <td class="ok">{formatNumber(stats.totals.succeeded)}</td>
                  <td class="bad">{formatNumber(failures(stats.totals))}</td>
                  <td>{successRate(stats.totals)}</td>
                  <td class="narrow-hide" data-testid="slot-refused">
                    {formatNumber(refusedTotal(stats.totals))}
                  </td>
                  <td>{formatNumber(stats.totals.latency_ms.p50)}</td>
                  <td class="narrow-hide" data-testid="last-success">
                    {stats.last_success_at ? formatDate(stats.last_success_at) : '—'}
                  </td>
                  <td class="narrow-hide" data-testid="last-error">
                    {stats.last_error ? (
                      <a href={`#/jobs/${stats.last_error.job_id}`}>
                        <OutcomeBadge outcome={stats.last_error.outcome} /> {formatDate(stats.last_error.at)}
                      </a>
                    ) : (
                      '—'
                    )}
                  </td>
                  <td class="narrow-hide">{formatNumber(stats.since_reset.totals.total)}</td>
                  <td class="narrow-hide">
                    <button
                      type="button"
                      class="small"
                      onClick={async () => {
                        if (!confirm(t('resetConfirm', { slot: slotName(slot.name) }))) return;
                        await ok(client.POST('/api/slots/{id}/stats/reset', { params: { path: { id: slot.id } } }));
                        setN((x) => x + 1);
                      }}
                    >
                      {t('reset')}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <StorageCard />
    </section>
  );
}

/** What the media takes on disk, and what is left (the disk filling up stops the booths: 507). */
function StorageCard() {
  const { data } = useLoad(() => ok(client.GET('/api/stats/storage')), []);
  if (!data) return null;
  const low = data.disk !== null && data.disk.free_bytes < data.disk.total_bytes * 0.1;
  return (
    <div class="card" data-testid="storage">
      <h2>{t('storageTitle')}</h2>
      <dl class="inline">
        {(['results', 'thumbs', 'templates', 'payloads', 'temporary'] as const).map((k) => (
          <>
            <dt>{t(`storage_${k}`)}</dt>
            <dd>{formatBytes(data.media_bytes[k])}</dd>
          </>
        ))}
      </dl>
      {data.disk && (
        <p class={low ? 'warning' : 'muted'}>
          {t('diskFree', { free: formatBytes(data.disk.free_bytes), total: formatBytes(data.disk.total_bytes) })}
        </p>
      )}
    </div>
  );
}
