/**
 * Headers on every response (helmet): `X-Content-Type-Options: nosniff`, `Referrer-Policy:
 * no-referrer`, no framing (`frame-ancestors 'none'`, `X-Frame-Options: DENY`), and on HTML a strict
 * Content-Security-Policy — scripts and styles from this origin only (the guest page's inline
 * styles by their hash), images also as blob:/data: (template previews, QR codes). HSTS is left to
 * the TLS proxy (plain-HTTP booths on a LAN must keep working). The API docs (/docs, Swagger UI)
 * set their own policy for their inline scripts.
 */
import fastifyHelmet from '@fastify/helmet';
import type { FastifyInstance } from 'fastify';
import { GUEST_PAGE_CSS_HASH } from './guest/guest-page.js';

export async function registerSecurityHeaders(app: FastifyInstance): Promise<void> {
  await app.register(fastifyHelmet, {
    global: true,
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'", GUEST_PAGE_CSS_HASH],
        imgSrc: ["'self'", 'blob:', 'data:'],
        connectSrc: ["'self'"],
        fontSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'none'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
      },
    },
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
    strictTransportSecurity: false,
    crossOriginEmbedderPolicy: false,
    // Result images and QR codes are opened by guests from links and by booths: same-site only would break them.
    crossOriginResourcePolicy: { policy: 'cross-origin' },
  });
}
