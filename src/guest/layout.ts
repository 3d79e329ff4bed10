/**
 * What the server-rendered guest pages share (the photo page /r/:id and the shared gallery /g/:token):
 * the language choice, escaping, the inline styles (allowed by the CSP through their hash), the
 * page shell and durations in words. No page sends JSON or a stack to a guest.
 */
import { createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';

export type Lang = 'ru' | 'en';

/** ?lang= wins, then the browser's Accept-Language; Russian unless English is preferred. */
export function guestLanguage(request: FastifyRequest): Lang {
  const q = (request.query as { lang?: string } | undefined)?.lang;
  if (q === 'ru' || q === 'en') return q;
  const accepted = String(request.headers['accept-language'] ?? '')
    .split(',')
    .map((part) => {
      const [tag, ...params] = part.trim().toLowerCase().split(';');
      const qv = params.find((p) => p.trim().startsWith('q='));
      return { tag: tag ?? '', q: qv ? Number(qv.trim().slice(2)) : 1 };
    })
    .sort((a, b) => b.q - a.q);
  for (const a of accepted) {
    if (a.tag.startsWith('ru')) return 'ru';
    if (a.tag.startsWith('en')) return 'en';
  }
  return 'ru';
}

export const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The guest pages' styles, inline (one request on a phone); allowed by the CSP through their hash. */
export const GUEST_PAGE_CSS = `
  :root { color-scheme: light dark; font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
  body { margin: 0; min-height: 100vh; display: flex; flex-direction: column; align-items: center; background: #111; color: #f4f4f4; }
  main { width: 100%; max-width: 960px; padding: 16px; box-sizing: border-box; text-align: center; }
  h1 { font-size: 1.4rem; margin: 12px 0 16px; }
  .photo { max-width: 100%; max-height: 75vh; height: auto; border-radius: 8px; box-shadow: 0 4px 24px #0008; }
  .actions { display: flex; flex-wrap: wrap; gap: 12px; justify-content: center; margin: 20px 0 8px; }
  .button { display: inline-block; padding: 14px 28px; border-radius: 999px; background: #ffd54a; color: #111; font-weight: 600; text-decoration: none; font-size: 1.1rem; border: 0; cursor: pointer; font-family: inherit; }
  .button.secondary { background: #2c2c2c; color: #f4f4f4; border: 1px solid #555; }
  .button:focus-visible, a:focus-visible { outline: 3px solid #7cc4ff; outline-offset: 3px; }
  .muted { color: #bbb; }
  nav { margin-top: 24px; }
  nav a, .pager a { color: #9cd1ff; }
  .grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(140px, 1fr)); gap: 8px; margin: 16px 0; }
  .grid a { display: block; aspect-ratio: 1; background: #222; border-radius: 6px; overflow: hidden; }
  .grid img { width: 100%; height: 100%; object-fit: cover; display: block; }
  .pager { margin: 16px 0; display: flex; gap: 24px; justify-content: center; }
  [hidden] { display: none !important; }
`;
/** The CSP source that allows exactly GUEST_PAGE_CSS (src/security-headers.ts). */
export const GUEST_PAGE_CSS_HASH = `'sha256-${createHash('sha256').update(GUEST_PAGE_CSS).digest('base64')}'`;

const LANGUAGE_NAME: Record<Lang, string> = { ru: 'English', en: 'Русский' };

/** A whole guest page: the body, a link to the other language and, if given, the page's script. */
export function guestPage(lang: Lang, title: string, body: string, otherHref: string, script?: string): string {
  return `<!doctype html>
<html lang="${lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${escapeHtml(title)}</title>
<style>${GUEST_PAGE_CSS}</style>
${script ? `<script src="${escapeHtml(script)}" defer></script>` : ''}
</head>
<body>
<main>
${body}
<nav><a href="${escapeHtml(otherHref)}" hreflang="${lang === 'ru' ? 'en' : 'ru'}">${LANGUAGE_NAME[lang]}</a></nav>
</main>
</body>
</html>`;
}

/** Russian plural: 1 день, 2 дня, 5 дней. */
function ru(n: number, one: string, few: string, many: string): string {
  const d10 = n % 10;
  const d100 = n % 100;
  if (d10 === 1 && d100 !== 11) return `${n} ${one}`;
  if (d10 >= 2 && d10 <= 4 && (d100 < 12 || d100 > 14)) return `${n} ${few}`;
  return `${n} ${many}`;
}

const en = (n: number, unit: string) => `${n} ${unit}${n === 1 ? '' : 's'}`;

/** A duration as a guest reads it: "2 дня 3 часа", "5 hours 10 minutes", "less than a minute". */
export function durationInWords(ms: number, lang: Lang): string {
  const minutes = Math.floor(ms / 60_000);
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  const mins = minutes % 60;
  const parts: string[] = [];
  if (lang === 'ru') {
    if (days) parts.push(ru(days, 'день', 'дня', 'дней'));
    if (hours) parts.push(ru(hours, 'час', 'часа', 'часов'));
    if (!days && mins) parts.push(ru(mins, 'минуту', 'минуты', 'минут'));
    return parts.length ? parts.join(' ') : 'меньше минуты';
  }
  if (days) parts.push(en(days, 'day'));
  if (hours) parts.push(en(hours, 'hour'));
  if (!days && mins) parts.push(en(mins, 'minute'));
  return parts.length ? parts.join(' ') : 'less than a minute';
}
