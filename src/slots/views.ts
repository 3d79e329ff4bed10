/** The slots as the admin API shows them (GET /api/slots, and every write's answer). */
import type { FastifyRequest } from 'fastify';
import { slotNotFound } from '../errors.js';
import type { PublicAddress, PublicBase } from '../ops/public-address.js';
import { slotModelView } from './models.js';
import type { SlotSaveDeps } from './save.js';
import { slotView, type SlotView } from './service.js';
import { guestQrState } from '../media/guest-qr.js';
import { listSlotsForAdmin, listTemplateRows } from './statements.js';

export interface SlotViewDeps extends SlotSaveDeps {
  publicAddress: PublicAddress;
}

/**
 * The base of absolute ingest URLs: the public address (configured, else this machine's LAN
 * address). Only when the machine has no such address does the admin's own request say where it is.
 */
function baseUrlOf(deps: Pick<SlotViewDeps, 'publicAddress'>, request: FastifyRequest): string {
  return deps.publicAddress.base().url ?? `${request.protocol}://${request.host}`;
}

/** Whether the slot's guest QR code is printed and where it points: the one rule of src/ops/public-address.ts. */
function guestQrOf(settings: Record<string, unknown>, base: PublicBase) {
  const { enabled, state, address } = guestQrState(settings, base);
  return { enabled, state, base_url: base.url ?? null, address };
}

function startOfToday(now: Date): Date {
  const d = new Date(now);
  d.setHours(0, 0, 0, 0);
  return d;
}

/** Every slot (or one), with its templates, today's counts, its provider's readiness and its model. */
export async function loadSlotViews(deps: SlotViewDeps, request: FastifyRequest, slotId?: string): Promise<SlotView[]> {
  const { db, clock, providers } = deps;
  const [rows, templates] = await Promise.all([
    listSlotsForAdmin(db, startOfToday(clock.now()), slotId, clock.now()),
    listTemplateRows(db, slotId),
  ]);
  const base = baseUrlOf(deps, request);
  const now = clock.now();
  return Promise.all(
    rows.map(async (r) => ({
      ...slotView(
        r,
        templates,
        base,
        await providers.readiness(r.provider, { publicBaseUrl: deps.publicAddress.configured()?.url }),
        slotModelView(providers, r.provider, r.settings, now, (lister) => deps.models.cachedLiveIds(lister)),
      ),
      guest_qr: guestQrOf(r.settings, deps.publicAddress.base()),
    })),
  );
}

/** One slot's view (404 when there is none). */
export async function loadSlotView(deps: SlotViewDeps, request: FastifyRequest, id: string): Promise<SlotView> {
  const [view] = await loadSlotViews(deps, request, id);
  if (!view) throw slotNotFound(id);
  return view;
}
