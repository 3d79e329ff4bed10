/**
 * The guest's link printed on the photo: a QR code of `<public base>/r/<short id>` on a light or
 * dark plate in a corner, with an optional caption line, composed into the result by the same
 * sharp pipeline that normalizes it (src/media/imaging.ts), so it costs no second encode.
 */
import QRCode from 'qrcode';
import { Type, type Static } from 'typebox';

export const GUEST_LINK_POSITIONS = ['bottom-right', 'bottom-left', 'top-right', 'top-left'] as const;

/** The `guest_link` block of a slot's output settings. Off unless enabled. */
export const GuestLinkSchema = Type.Object(
  {
    enabled: Type.Boolean({ default: false, description: 'Print a QR code of the guest page on the returned photo (needs PHOTOCHANGER_PUBLIC_BASE_URL)' }),
    position: Type.Optional(Type.Union(GUEST_LINK_POSITIONS.map((p) => Type.Literal(p)), { default: 'bottom-right', description: 'Corner of the photo' })),
    size_percent: Type.Optional(Type.Integer({ minimum: 8, maximum: 40, default: 16, description: 'Side of the QR code, in % of the photo\'s short side' })),
    margin_percent: Type.Optional(Type.Integer({ minimum: 0, maximum: 10, default: 2, description: 'Distance from the edges, in % of the short side' })),
    caption: Type.Optional(Type.String({ maxLength: 40, description: 'One line under the code, e.g. "Скачать фото"' })),
    plate: Type.Optional(Type.Union([Type.Literal('light'), Type.Literal('dark')], { default: 'light', description: 'Plate behind the code' })),
  },
  { additionalProperties: false, description: 'QR code of the guest page on the print' },
);
export type GuestLink = Static<typeof GuestLinkSchema>;

const UUID_HEX = /^([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})$/;
const SHORT_ID = /^[A-Za-z0-9_-]{22}$/;

/** A job id in 22 URL-safe characters instead of 36 (a smaller QR code on the print). */
export function shortJobId(jobId: string): string {
  const m = UUID_HEX.exec(jobId);
  if (!m) throw new Error(`not a job id: ${jobId}`);
  return Buffer.from(m.slice(1).join(''), 'hex').toString('base64url');
}

/** The job id of a guest link's id (either form), or undefined. */
export function jobIdOfGuestRef(ref: string): string | undefined {
  if (UUID_HEX.test(ref)) return ref;
  if (!SHORT_ID.test(ref)) return undefined;
  const hex = Buffer.from(ref, 'base64url').toString('hex');
  if (hex.length !== 32) return undefined;
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The guest page of a job on a public base URL. */
export function guestLinkOf(base: string, jobId: string): string {
  return `${base}/r/${shortJobId(jobId)}`;
}

const escapeXml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export interface Overlay {
  svg: Buffer;
  left: number;
  top: number;
}

/**
 * The plate with the QR code (and caption) for a photo of this size, as an SVG sharp composites.
 * Modules are whole pixels (crisp edges) and the code keeps a quiet zone of two modules.
 */
export function guestLinkOverlay(width: number, height: number, link: GuestLink, url: string): Overlay {
  const qr = QRCode.create(url, { errorCorrectionLevel: 'M' });
  const n = qr.modules.size;
  const short = Math.min(width, height);
  const quiet = 2;
  const module = Math.max(2, Math.floor((short * (link.size_percent ?? 16)) / 100 / (n + 2 * quiet)));
  const codeSide = (n + 2 * quiet) * module;
  const caption = link.caption?.trim() ?? '';
  // About 0.58 em per glyph: a long caption gets a smaller font rather than leaving the plate.
  const fontSize = Math.max(8, Math.min(Math.round(module * 3.2), Math.floor((codeSide * 0.9) / (Math.max(1, caption.length) * 0.58))));
  const captionHeight = caption ? Math.round(fontSize * 1.5) : 0;
  const plateW = codeSide;
  const plateH = codeSide + captionHeight;
  const margin = Math.round((short * (link.margin_percent ?? 2)) / 100);
  const position = link.position ?? 'bottom-right';
  const left = Math.max(0, position.endsWith('left') ? margin : width - plateW - margin);
  const top = Math.max(0, position.startsWith('top') ? margin : height - plateH - margin);
  const dark = (link.plate ?? 'light') === 'dark';
  const bg = dark ? '#111111' : '#ffffff';
  const fg = dark ? '#ffffff' : '#000000';
  let path = '';
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      if (qr.modules.get(x, y)) path += `M${(x + quiet) * module} ${(y + quiet) * module}h${module}v${module}h-${module}z`;
    }
  }
  const text = caption
    ? `<text x="${plateW / 2}" y="${codeSide + fontSize * 1.05}" font-family="DejaVu Sans, Liberation Sans, Arial, sans-serif" font-size="${fontSize}" fill="${fg}" text-anchor="middle">${escapeXml(caption)}</text>`
    : '';
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${plateW}" height="${plateH}" viewBox="0 0 ${plateW} ${plateH}" shape-rendering="crispEdges"><rect width="${plateW}" height="${plateH}" fill="${bg}"/><path d="${path}" fill="${fg}"/>${text}</svg>`;
  return { svg: Buffer.from(svg), left, top };
}
