/**
 * The rules of a gallery share link, in one place: how long it may live (never longer than the
 * photos it shows), which slots it may name, what a new one looks like, and whether one still
 * answers. The admin routes (src/gallery/routes.ts) and the guest's gallery (src/guest/share-gallery.ts)
 * both ask here.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Db } from '../db/database.js';
import { invalidFields } from '../errors.js';
import { newShareRefKey } from './share-refs.js';
import { existingSlotIds, type ShareRow } from './statements.js';

/** A share shows the photos of the last 12 hours unless told otherwise (an evening's event). */
const SHARE_DEFAULT_LOOKBACK_MS = 12 * 3600_000;

export type ShareState = 'active' | 'expired' | 'revoked';

export function shareState(share: Pick<ShareRow, 'revoked_at' | 'expires_at'>, now: Date): ShareState {
  if (share.revoked_at) return 'revoked';
  return share.expires_at <= now ? 'expired' : 'active';
}

export interface NewShare {
  slot_ids: readonly string[];
  title?: string;
  expires_at?: string;
  since?: string;
}

/**
 * A new share link, checked: it expires in the future and no later than the results kept now
 * (the retention from now, which is also the default), and every slot it names exists — a link to
 * a slot that does not exist would show guests nothing, silently (red team finding 15).
 */
export async function newShare(
  db: Db,
  input: NewShare,
  context: { now: Date; retentionMs: number; createdBy: string },
): Promise<ShareRow> {
  const { now } = context;
  const latest = new Date(now.getTime() + context.retentionMs);
  const expires = input.expires_at ? new Date(input.expires_at) : latest;
  if (expires <= now)
    throw invalidFields('The link would expire at once', [
      { path: '/expires_at', message: 'Choose a time in the future' },
    ]);
  if (expires > latest) {
    throw invalidFields(
      `A share link cannot outlive the photos: at most until ${latest.toISOString()} (the retention in Settings)`,
      [
        {
          path: '/expires_at',
          message: `At most until ${latest.toISOString()}; extend the retention in Settings first`,
        },
      ],
    );
  }
  const known = await existingSlotIds(db, input.slot_ids);
  const unknown = input.slot_ids.filter((id) => !known.has(id));
  if (unknown.length > 0) {
    throw invalidFields(
      `No such slot: ${unknown.join(', ')}`,
      unknown.map((id) => ({ path: '/slot_ids', message: `${id} does not exist` })),
    );
  }
  return {
    id: randomUUID(),
    token: randomBytes(18).toString('base64url'),
    title: input.title?.trim() ?? '',
    slot_ids: [...input.slot_ids].sort(),
    ref_key: newShareRefKey(),
    since: input.since ? new Date(input.since) : new Date(now.getTime() - SHARE_DEFAULT_LOOKBACK_MS),
    created_by: context.createdBy,
    created_at: now,
    expires_at: expires,
    revoked_at: null,
  };
}
