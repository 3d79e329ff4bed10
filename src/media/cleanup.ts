import fs from 'node:fs/promises';
import path from 'node:path';
import type { Clock } from '../clock.js';
import type { Db } from '../db/database.js';
import type { Logger } from '../logger.js';
import { isUuid, type MediaStore } from './storage.js';
import { clearResults, jobStates, jobsWithResults, listExpiredResults, ownedResultFiles } from './statements.js';

export interface CleanupReport {
  results: number;
  /** Thumbnails left behind by a result that is gone (those of expired results go with them). */
  thumbs: number;
  payloads: number;
  temporary_links: number;
}

export interface CleanupDeps {
  db: Db;
  clock: Clock;
  media: MediaStore;
  log: Logger;
  /** Extra purge steps (temporary public links): each returns how many objects it deleted. */
  purgeTemporary?: () => Promise<number>;
  /** Told of every pass (metrics). */
  onReport?: (report: CleanupReport) => void;
}

/** Results whose retention ended: files deleted, their links cleared (→ 410 on the public route). */
async function expireResults(deps: CleanupDeps, now: Date): Promise<number> {
  const expired = await listExpiredResults(deps.db, now, 1000);
  for (const row of expired) {
    await deps.media.removeFile(row.result_path);
    if (row.thumb_path) await deps.media.removeFile(row.thumb_path);
  }
  await clearResults(
    deps.db,
    expired.map((r) => r.id),
  );
  return expired.length;
}

/**
 * Payload directories whose job is finalized or unknown (a crash between upload and response,
 * say). Live jobs keep theirs. A directory younger than a minute with no job row is an upload in
 * progress and is left alone.
 */
async function removeOrphanPayloads(deps: CleanupDeps, now: Date): Promise<number> {
  const dir = deps.media.dir('payloads');
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  const ids = names.filter(isUuid);
  if (ids.length === 0) return 0;
  const { known, unfinished } = await jobStates(deps.db, ids);
  let removed = 0;
  for (const id of ids) {
    if (unfinished.has(id)) continue;
    const folder = path.join(dir, id);
    if (known.has(id)) {
      // A finalized job's: gone already, or removed now (its files' times do not matter).
      if (!(await fs.stat(folder).catch(() => undefined))) continue;
    } else {
      // No job row: an upload still being written (by any instance) has a file written within the last minute.
      const touched = await lastWritten(folder);
      if (touched === undefined || now.getTime() - touched < 60_000) continue;
    }
    await deps.media.removePayload(id);
    removed++;
  }
  return removed;
}

/** The newest modification time of a payload folder and its files (ms), or undefined when it is gone. */
async function lastWritten(folder: string): Promise<number | undefined> {
  const stat = await fs.stat(folder).catch(() => undefined);
  if (!stat) return undefined;
  const names = await fs.readdir(folder).catch(() => [] as string[]);
  const times = await Promise.all(
    names.map((n) =>
      fs.stat(path.join(folder, n)).then(
        (s) => s.mtimeMs,
        () => 0,
      ),
    ),
  );
  return Math.max(stat.mtimeMs, ...times);
}

/** The files of `dir` untouched for a minute (one being written is left alone), by the job id their name starts with. */
async function settledFiles(dir: string, now: Date): Promise<Array<{ id: string; file: string }>> {
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  const candidates: Array<{ id: string; file: string }> = [];
  for (const name of names) {
    const file = path.join(dir, name);
    const stat = await fs.stat(file).catch(() => undefined);
    if (stat && now.getTime() - stat.mtimeMs >= 60_000) candidates.push({ id: name.split('.')[0] ?? '', file });
  }
  return candidates;
}

/**
 * Result files with no job row pointing at them (a crash between writing the file and finalizing
 * the job, or a result that lost the race).
 */
async function removeOrphanResults(deps: CleanupDeps, now: Date): Promise<number> {
  const candidates = await settledFiles(deps.media.dir('results'), now);
  // One query for all of them: which are their job's result.
  const owned = await ownedResultFiles(
    deps.db,
    candidates.filter((c) => isUuid(c.id)),
  );
  let removed = 0;
  for (const c of candidates) {
    if (owned.has(c.file)) continue;
    await deps.media.removeFile(c.file);
    removed++;
  }
  return removed;
}

/** Thumbnails whose result is gone (expired, never finalized, or a crash before the row was updated). */
async function removeOrphanThumbnails(deps: CleanupDeps, now: Date): Promise<number> {
  const candidates = await settledFiles(deps.media.dir('thumbs'), now);
  // One query for all of them: which still have a result.
  const ids = candidates.map((c) => c.id).filter(isUuid);
  const keep = await jobsWithResults(deps.db, ids);
  let removed = 0;
  for (const c of candidates) {
    if (keep.has(c.id) && c.file.endsWith('.webp')) continue;
    await deps.media.removeFile(c.file);
    removed++;
  }
  return removed;
}

/** One pass of photochanger-media-cleanup (also run on demand by POST /api/media/cache/purge). */
export async function runMediaCleanup(deps: CleanupDeps): Promise<CleanupReport> {
  const now = deps.clock.now();
  const results = (await expireResults(deps, now)) + (await removeOrphanResults(deps, now));
  const thumbs = await removeOrphanThumbnails(deps, now);
  const payloads = await removeOrphanPayloads(deps, now);
  const temporary_links = deps.purgeTemporary ? await deps.purgeTemporary() : 0;
  const report = { results, thumbs, payloads, temporary_links };
  deps.log.info({ task: 'photochanger-media-cleanup', ...report }, 'media cleanup pass');
  deps.onReport?.(report);
  return report;
}

/**
 * The payload folders a killed process left (kill -9, a power cut): run at start, before the server
 * listens. Those of jobs that were still in flight are removed by the follow-up pass of
 * startCleanupTask, once the queue has finalized them (their deadline, at most 60 s, or their
 * instance's absence).
 */
export async function removeLeftoverPayloads(deps: CleanupDeps): Promise<number> {
  try {
    const removed = await removeOrphanPayloads(deps, deps.clock.now());
    if (removed > 0)
      deps.log.info(
        { task: 'photochanger-media-cleanup', payloads: removed },
        'removed payload folders left by an earlier process',
      );
    return removed;
  } catch (err) {
    // Never a reason not to start or to stop: the periodic pass retries.
    deps.log.warn({ err: { message: (err as Error).message } }, 'payload cleanup failed; the next pass will retry');
    return 0;
  }
}

/** After start, once the jobs a killed process had in flight are finalized (deadline ≤ 60 s + the sweep). */
const LEFTOVER_FOLLOW_UP_MS = 90_000;

/** Runs the cleanup every `intervalSeconds` inside the server process (and the leftover payloads' follow-up). */
export function startCleanupTask(deps: CleanupDeps, intervalSeconds: number): { stop(): void } {
  let running = false;
  const followUp = setTimeout(
    () => {
      if (running) return;
      running = true;
      void removeLeftoverPayloads(deps).finally(() => (running = false));
    },
    Math.min(LEFTOVER_FOLLOW_UP_MS, intervalSeconds * 1000),
  );
  followUp.unref();
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    runMediaCleanup(deps)
      .catch((err: unknown) =>
        deps.log.warn({ err: { message: (err as Error).message } }, 'media cleanup failed; next pass will retry'),
      )
      .finally(() => (running = false));
  }, intervalSeconds * 1000);
  timer.unref();
  return {
    stop: () => {
      clearTimeout(followUp);
      clearInterval(timer);
    },
  };
}
