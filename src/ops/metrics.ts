import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { CleanupReport } from '../media/cleanup.js';
import type { MediaStore } from '../media/storage.js';
import { isSlotId } from '../schemas.js';

/**
 * Prometheus metrics of one server (its own registry, so several servers in one process — tests —
 * do not collide). Queue depth, busy workers and media bytes are read at scrape time.
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly ingestDuration: Histogram<'slot' | 'status'>;
  private readonly responses: Counter<'status' | 'code'>;
  private readonly providerCalls: Histogram<'provider' | 'outcome'>;
  private readonly cleanupRuns: Counter;
  private readonly cleanupDeleted: Counter<'kind'>;

  constructor(sources: {
    queueDepth: () => Promise<{ pending: number; processing: number }>;
    media: MediaStore;
    busyWorkers: () => number;
    workerCount: number;
  }) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'photochanger_' });
    this.ingestDuration = new Histogram({
      name: 'photochanger_ingest_duration_seconds',
      help: 'Booth ingest requests, from arrival to answer, by slot and HTTP status',
      labelNames: ['slot', 'status'],
      buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 45, 60],
      registers,
    });
    this.responses = new Counter({
      name: 'photochanger_ingest_responses_total',
      help: 'Booth ingest answers by HTTP status and error code (429, 502, 503, 504 …)',
      labelNames: ['status', 'code'],
      registers,
    });
    this.providerCalls = new Histogram({
      name: 'photochanger_provider_duration_seconds',
      help: "A job's provider work (all attempts and polling), by provider and outcome (success, failure, aborted at the deadline)",
      labelNames: ['provider', 'outcome'],
      buckets: [0.1, 0.5, 1, 2, 5, 10, 20, 30, 45, 60],
      registers,
    });
    this.cleanupRuns = new Counter({
      name: 'photochanger_cleanup_runs_total',
      help: 'Media cleanup passes',
      registers,
    });
    this.cleanupDeleted = new Counter({
      name: 'photochanger_cleanup_deleted_total',
      help: 'Objects deleted by media cleanup, by kind',
      labelNames: ['kind'],
      registers,
    });
    new Gauge({
      name: 'photochanger_queue_depth',
      help: 'Unfinished jobs in the shared queue, by state',
      labelNames: ['state'],
      registers,
      async collect() {
        const depth = await sources.queueDepth().catch(() => undefined);
        if (!depth) return;
        this.set({ state: 'pending' }, depth.pending);
        this.set({ state: 'processing' }, depth.processing);
      },
    });
    new Gauge({
      name: 'photochanger_workers_busy',
      help: 'Workers of this process running a job',
      registers,
      collect() {
        this.set(sources.busyWorkers());
      },
    });
    new Gauge({
      name: 'photochanger_workers',
      help: 'Workers of this process',
      registers,
      collect() {
        this.set(sources.workerCount);
      },
    });
    new Gauge({
      name: 'photochanger_media_bytes',
      help: 'Bytes on disk under the media root, by kind (refreshed at most once a minute)',
      labelNames: ['kind'],
      registers,
      async collect() {
        for (const [kind, n] of Object.entries((await sources.media.usage()).bytes)) this.set({ kind }, n);
      },
    });
  }

  observeIngest(slotId: string, status: number, code: string | undefined, seconds: number): void {
    this.ingestDuration.observe({ slot: isSlotId(slotId) ? slotId : 'unknown', status: String(status) }, seconds);
    this.responses.inc({ status: String(status), code: code ?? (status === 200 ? 'ok' : 'unknown') });
  }

  observeProviderWork(provider: string, outcome: 'success' | 'failure' | 'aborted', seconds: number): void {
    this.providerCalls.observe({ provider, outcome }, seconds);
  }

  observeCleanup(report: CleanupReport): void {
    this.cleanupRuns.inc();
    for (const [kind, n] of Object.entries(report)) if (n > 0) this.cleanupDeleted.inc({ kind }, n);
  }
}
