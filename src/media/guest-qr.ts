/**
 * The guest's link printed on the photo: a QR code of `<public base>/r/<short id>` on a light or
 * dark plate in a corner, with an optional caption line, pasted into the result while it is
 * normalized for the booth (src/media/imaging.ts), so it costs no second decode.
 */
import QRCode from 'qrcode';
import sharp from 'sharp';
import { Type, type Static } from 'typebox';
import { LiteralUnion } from '../schemas.js';
import { bytesOfName, isUuid, jobIdBytes, jobIdOfBytes } from './storage.js';

export const GUEST_LINK_POSITIONS = ['bottom-right', 'bottom-left', 'top-right', 'top-left'] as const;

/** The `guest_link` block of a slot's output settings. Off unless enabled. */
export const GuestLinkSchema = Type.Object(
  {
    enabled: Type.Boolean({
      default: false,
      description:
        'Print a QR code of the guest page on the returned photo (it links to the public address: Settings, or PHOTOCHANGER_PUBLIC_BASE_URL)',
    }),
    position: Type.Optional(
      LiteralUnion(GUEST_LINK_POSITIONS, { default: 'bottom-right', description: 'Corner of the photo' }),
    ),
    size_percent: Type.Optional(
      Type.Integer({
        minimum: 8,
        maximum: 40,
        default: 16,
        description: "Side of the QR code, in % of the photo's short side",
      }),
    ),
    margin_percent: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 10,
        default: 2,
        description: 'Distance from the edges, in % of the short side',
      }),
    ),
    caption: Type.Optional(Type.String({ maxLength: 40, description: 'One line under the code, e.g. "Скачать фото"' })),
    plate: Type.Optional(
      Type.Union([Type.Literal('light'), Type.Literal('dark')], {
        default: 'light',
        description: 'Plate behind the code',
      }),
    ),
  },
  { additionalProperties: false, description: 'QR code of the guest page on the print' },
);
export type GuestLink = Static<typeof GuestLinkSchema>;

/** A job id in 22 URL-safe characters instead of 36 (a smaller QR code on the print). */
export function shortJobId(jobId: string): string {
  return jobIdBytes(jobId).toString('base64url');
}

/** The job id of a guest link's id (either form), or undefined. */
export function jobIdOfGuestRef(ref: string): string | undefined {
  if (isUuid(ref)) return ref;
  const bytes = bytesOfName(ref);
  return bytes ? jobIdOfBytes(bytes) : undefined;
}

/** The guest page of a job on a public base URL. */
/**
 * A job notice (job.notices): the slot asks for the guest QR code, but no address guests can reach
 * was known (no public address, and the server listens on loopback only), so the print has none.
 */
export const GUEST_QR_LEFT_OFF = 'guest_qr_left_off_no_address';

/**
 * A job notice: the QR code was printed with this machine's network address (no public address is
 * set), which only phones on that network can open — and which changes with the network.
 */
export const GUEST_QR_LOCAL_ONLY = 'guest_qr_local_address';

export type GuestQrState = 'off' | 'public' | 'local_only' | 'left_off';

/**
 * Whether a slot's print carries the guest QR code and with which kind of address, by the one rule
 * of src/ops/public-address.ts (`base`: its answer now). The slot views and the worker both ask here.
 */
export function guestQrState(
  settings: Record<string, unknown>,
  base: { url: string | undefined; source: 'configured' | 'lan' | 'none' },
): { enabled: boolean; address: 'public' | 'local_only' | 'none'; state: GuestQrState } {
  const enabled = (settings.output as { guest_link?: { enabled?: boolean } } | undefined)?.guest_link?.enabled === true;
  const address = !base.url ? 'none' : base.source === 'configured' ? 'public' : 'local_only';
  return { enabled, address, state: !enabled ? 'off' : address === 'none' ? 'left_off' : address };
}

/** What a job records when its print's QR code is not the public one (job.notices). */
export const GUEST_QR_NOTICES: Partial<Record<GuestQrState, string>> = {
  left_off: GUEST_QR_LEFT_OFF,
  local_only: GUEST_QR_LOCAL_ONLY,
};

export function guestLinkOf(base: string, jobId: string): string {
  return `${base}/r/${shortJobId(jobId)}`;
}

/** Text safe inside an SVG document. */
export const escapeXml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** A plate to paste into the photo: RGB pixels, opaque, at (left, top). */
export interface Overlay {
  data: Buffer;
  width: number;
  height: number;
  left: number;
  top: number;
}

/** Rendered captions (a slot prints the same one on every photo): text → RGB pixels. */
const captions = new Map<string, Promise<Buffer>>();
const MAX_CAPTIONS = 64;

function captionPixels(
  caption: string,
  width: number,
  height: number,
  fontSize: number,
  dark: boolean,
): Promise<Buffer> {
  const key = JSON.stringify([caption, width, height, fontSize, dark]);
  let pixels = captions.get(key);
  if (!pixels) {
    const fg = dark ? '#ffffff' : '#000000';
    const bg = dark ? '#111111' : '#ffffff';
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="${width}" height="${height}" fill="${bg}"/><text x="${width / 2}" y="${Math.round(fontSize * 1.05)}" font-family="DejaVu Sans, Liberation Sans, Arial, sans-serif" font-size="${fontSize}" fill="${fg}" text-anchor="middle">${escapeXml(caption)}</text></svg>`;
    pixels = sharp(Buffer.from(svg)).flatten({ background: bg }).removeAlpha().raw().toBuffer();
    if (captions.size >= MAX_CAPTIONS) captions.delete(captions.keys().next().value!);
    captions.set(key, pixels);
    pixels.catch(() => captions.delete(key));
  }
  return pixels;
}

/**
 * The plate with the QR code (and caption) for a photo of this size: whole-pixel modules drawn
 * directly, a quiet zone of four modules, the caption rendered once per slot and reused. The worker
 * pastes these pixels into the decoded result (src/media/imaging.ts) — a copy of a few rows, where
 * a libvips composite would blend every pixel of the photo.
 */
export async function guestLinkOverlay(width: number, height: number, link: GuestLink, url: string): Promise<Overlay> {
  const qr = QRCode.create(url, { errorCorrectionLevel: 'M' });
  const n = qr.modules.size;
  const short = Math.min(width, height);
  const quiet = 4; // the quiet zone the QR standard asks for: scanners find the code next to busy photos
  const module = Math.max(2, Math.floor((short * (link.size_percent ?? 16)) / 100 / (n + 2 * quiet)));
  const side = (n + 2 * quiet) * module;
  const caption = link.caption?.trim() ?? '';
  // About 0.58 em per glyph: a long caption gets a smaller font rather than leaving the plate.
  const fontSize = Math.max(
    8,
    Math.min(Math.round(module * 3.2), Math.floor((side * 0.9) / (Math.max(1, caption.length) * 0.58))),
  );
  const captionHeight = caption ? Math.round(fontSize * 1.5) : 0;
  const plateW = Math.min(side, width);
  const plateH = Math.min(side + captionHeight, height);
  const margin = Math.round((short * (link.margin_percent ?? 2)) / 100);
  const position = link.position ?? 'bottom-right';
  const dark = (link.plate ?? 'light') === 'dark';
  const bg = dark ? 0x11 : 0xff;
  const fg = dark ? 0xff : 0x00;
  const data = Buffer.alloc(plateW * plateH * 3, bg);
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      if (!qr.modules.get(x, y)) continue;
      for (let dy = 0; dy < module; dy++) {
        const row = (y + quiet) * module + dy;
        if (row >= plateH) continue;
        const start = (row * plateW + (x + quiet) * module) * 3;
        data.fill(fg, start, Math.min(start + module * 3, (row + 1) * plateW * 3));
      }
    }
  }
  if (caption && plateH > side)
    (await captionPixels(caption, plateW, plateH - side, fontSize, dark)).copy(data, side * plateW * 3);
  return {
    data,
    width: plateW,
    height: plateH,
    left: Math.max(0, position.endsWith('left') ? margin : width - plateW - margin),
    top: Math.max(0, position.startsWith('top') ? margin : height - plateH - margin),
  };
}

/** Pastes an overlay into raw pixels (3 or 4 channels; alpha set opaque). */
export function pasteOverlay(pixels: Buffer, width: number, channels: number, o: Overlay): void {
  for (let y = 0; y < o.height; y++) {
    const rowStart = ((o.top + y) * width + o.left) * channels;
    if (channels === 3) {
      o.data.copy(pixels, rowStart, y * o.width * 3, (y + 1) * o.width * 3);
      continue;
    }
    for (let x = 0; x < o.width; x++) {
      const src = (y * o.width + x) * 3;
      const dst = rowStart + x * channels;
      pixels[dst] = o.data[src]!;
      pixels[dst + 1] = o.data[src + 1]!;
      pixels[dst + 2] = o.data[src + 2]!;
      pixels[dst + 3] = 255;
    }
  }
}
