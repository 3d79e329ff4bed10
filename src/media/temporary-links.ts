/**
 * Temporary public links (docs/architecture.md): inputs published at `{PUBLIC_BASE_URL}/public/media/{id}` for
 * providers that download them by URL (Turbotext). A link lives clamp(T_sync_response, 45, 60) s
 * from its creation, then answers 410; the worker revokes a job's links as soon as the provider's
 * work on it is over (TemporaryMediaPublisher.revokeForJob through ProviderDriver.releaseJob) and
 * the cleanup task purges whatever a crash left.
 *
 * Storage choice: every link gets its own file under MEDIA_ROOT/temporary/{id}{ext} — a hard link
 * to the source when possible (free, same inode), else a copy; prepared bytes are written out. The
 * link therefore never depends on the payload or the template staying where it was (the payload
 * is deleted right after the response, a template may be replaced meanwhile), and revoking a link
 * only ever deletes files inside temporary/.
 */
import { randomBytes } from 'node:crypto';
import { MediaStore } from './storage.js';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Clock } from '../clock.js';
import type { Db } from '../db/database.js';
import {
  deleteExpiredTemporaryMedia,
  deleteTemporaryMediaOfJob,
  findTemporaryMediaRow,
  insertTemporaryMedia,
} from './statements.js';

export interface TemporaryMediaDeps {
  db: Db;
  clock: Clock;
  mediaRoot: string;
  /** The operator's public address (environment or Settings), now; links cannot be published without it. */
  publicBaseUrl: () => string | undefined;
}

export type TemporaryMediaSource = { path: string; mime: string } | { bytes: Buffer; mime: string };

export interface PublishedMedia {
  id: string;
  url: string;
  expiresAt: Date;
}

/** Lifetime of a link: clamp(T_sync_response, 45, 60) seconds. */
export function temporaryMediaTtlSeconds(tSyncResponseSeconds: number): number {
  return Math.min(60, Math.max(45, tSyncResponseSeconds));
}

/** 192 random bits, base64url: 32 characters, unguessable. */
export function newTemporaryMediaId(): string {
  return randomBytes(24).toString('base64url');
}

export const TEMPORARY_MEDIA_ID = /^[A-Za-z0-9_-]{32}$/;

export function temporaryMediaDir(mediaRoot: string): string {
  return path.join(mediaRoot, 'temporary');
}

export class PublicBaseUrlMissingError extends Error {
  constructor() {
    super(
      'No public address (Settings → Public address, or PHOTOCHANGER_PUBLIC_BASE_URL): temporary public links cannot be published',
    );
    this.name = 'PublicBaseUrlMissingError';
  }
}

export async function publishTemporaryMedia(
  deps: TemporaryMediaDeps,
  input: { jobId: string; file: TemporaryMediaSource; ttlSeconds: number },
): Promise<PublishedMedia> {
  const base = deps.publicBaseUrl();
  if (!base) throw new PublicBaseUrlMissingError();
  const id = newTemporaryMediaId();
  const target = new MediaStore(deps.mediaRoot).temporaryPath(id, input.file.mime);
  await fs.mkdir(path.dirname(target), { recursive: true });
  let size: number;
  if ('bytes' in input.file) {
    await fs.writeFile(target, input.file.bytes, { flag: 'wx' });
    size = input.file.bytes.length;
  } else {
    try {
      await fs.link(input.file.path, target);
    } catch {
      await fs.copyFile(input.file.path, target, fs.constants.COPYFILE_EXCL);
    }
    size = (await fs.stat(target)).size;
  }
  const now = deps.clock.now();
  const expiresAt = new Date(now.getTime() + input.ttlSeconds * 1000);
  try {
    await insertTemporaryMedia(deps.db, {
      id,
      jobId: input.jobId,
      path: target,
      mime: input.file.mime,
      size,
      now,
      expiresAt,
    });
  } catch (err) {
    await fs.rm(target, { force: true });
    throw err;
  }
  return { id, url: `${base.replace(/\/+$/, '')}/public/media/${id}`, expiresAt };
}

export interface TemporaryMediaRow {
  id: string;
  path: string;
  mime: string;
  size: number;
  expiresAt: Date;
}

/** The link's row, or undefined for an unknown (or malformed) id. Expiry is the caller's call. */
export async function findTemporaryMedia(
  deps: Pick<TemporaryMediaDeps, 'db'>,
  id: string,
): Promise<TemporaryMediaRow | undefined> {
  if (!TEMPORARY_MEDIA_ID.test(id)) return undefined;
  const row = await findTemporaryMediaRow(deps.db, id);
  if (!row) return undefined;
  return { id: row.id, path: row.path, mime: row.mime, size: Number(row.size), expiresAt: new Date(row.expires_at) };
}

async function removeFiles(paths: readonly string[], mediaRoot: string): Promise<number> {
  const dir = path.resolve(temporaryMediaDir(mediaRoot));
  let removed = 0;
  for (const p of paths) {
    // Only ever delete inside MEDIA_ROOT/temporary/.
    if (path.dirname(path.resolve(p)) !== dir) continue;
    try {
      await fs.rm(p);
      removed++;
    } catch {
      /* already gone */
    }
  }
  return removed;
}

/** Deletes every link of a job (rows and files). Called by the ingest once the response is sent. */
export async function revokeTemporaryMediaForJob(
  deps: Pick<TemporaryMediaDeps, 'db' | 'mediaRoot'>,
  jobId: string,
): Promise<{ links: number; files: number }> {
  const paths = await deleteTemporaryMediaOfJob(deps.db, jobId);
  return { links: paths.length, files: await removeFiles(paths, deps.mediaRoot) };
}

/** Deletes expired links (rows and files); the cleanup task calls it. */
export async function purgeExpiredTemporaryMedia(
  deps: Pick<TemporaryMediaDeps, 'db' | 'clock' | 'mediaRoot'>,
): Promise<{ links: number; files: number }> {
  const paths = await deleteExpiredTemporaryMedia(deps.db, deps.clock.now());
  return { links: paths.length, files: await removeFiles(paths, deps.mediaRoot) };
}

/** What the Turbotext driver is given: publish a job's inputs with the configured TTL. */
export interface TemporaryMediaPublisher {
  /** The public address now (it may be set in Settings while the server runs). */
  publicBaseUrl(): string | undefined;
  publish(input: { jobId: string; file: TemporaryMediaSource }): Promise<PublishedMedia>;
  /**
   * Revokes the links this publisher made for the job (rows and files). A job it published
   * nothing for costs nothing (no statement): the worker calls this after every job.
   */
  revokeForJob(jobId: string): Promise<void>;
}

export function createTemporaryMediaPublisher(
  deps: TemporaryMediaDeps,
  /** Current T_sync_response in seconds (the admin settings may override the environment). */
  tSyncResponseSeconds: () => number | Promise<number>,
): TemporaryMediaPublisher {
  // Jobs with links published by this process and not yet revoked (a crash leaves them to the
  // cleanup task, which purges expired links).
  const published = new Set<string>();
  return {
    publicBaseUrl: deps.publicBaseUrl,
    publish: async ({ jobId, file }) => {
      published.add(jobId);
      return publishTemporaryMedia(deps, {
        jobId,
        file,
        ttlSeconds: temporaryMediaTtlSeconds(await tSyncResponseSeconds()),
      });
    },
    revokeForJob: async (jobId) => {
      if (!published.has(jobId)) return;
      await revokeTemporaryMediaForJob(deps, jobId);
      published.delete(jobId); // kept on failure: a later call tries again
    },
  };
}
