import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WEB_DIST } from '../../src/guest/admin-ui-routes.js';
import { GUEST_PAGE_CSS, GUEST_PAGE_CSS_HASH } from '../../src/guest/layout.js';
import { jpegBytes, postIngest } from '../support/http.js';
import { authHeader, startTestServer, TEST_INGEST_PASSWORD, type TestServer } from '../support/server.js';

describe('finding 9: strict headers on every response', () => {
  let server: TestServer;
  let jobId: string;
  beforeAll(async () => {
    server = await startTestServer({
      webRoot: path.resolve(WEB_DIST),
      env: { PHOTOCHANGER_PUBLIC_BASE_URL: 'https://booth.example.com' },
    });
    jobId = (
      await postIngest(server.url, 'slot-001', { password: TEST_INGEST_PASSWORD, file: await jpegBytes() })
    ).headers.get('x-job-id')!;
  });
  afterAll(async () => server?.close());

  it('nosniff and no-referrer everywhere; HTML has a strict CSP without inline scripts and cannot be framed', async () => {
    const pages = ['/admin/', `/r/${jobId}`, '/r/00000000-0000-4000-8000-000000000000', '/docs'];
    const other = ['/healthz', '/api/slots', `/public/results/${jobId}`, `/r/${jobId}/qr.svg`, '/ingest/slot-999'];
    for (const p of [...pages, ...other]) {
      const res = await fetch(`${server.url}${p}`, {
        method: p.startsWith('/ingest') ? 'POST' : 'GET',
        redirect: 'manual',
      });
      expect(res.headers.get('x-content-type-options'), p).toBe('nosniff');
      expect(res.headers.get('referrer-policy'), p).toBe('no-referrer');
      expect(res.headers.get('x-frame-options'), p).toBe('DENY');
    }
    for (const p of pages) {
      // The API reference is for administrators (any account).
      const res = await fetch(`${server.url}${p}`, {
        redirect: 'follow',
        headers: p === '/docs' ? authHeader(server, ['slots:read']) : {},
      });
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp, p).toContain("frame-ancestors 'none'");
      expect(csp, p).toMatch(/default-src 'self'/);
      expect(csp, p).not.toMatch(/script-src[^;]*'unsafe-inline'/);
    }
    const guest = await fetch(`${server.url}/r/${jobId}`);
    const html = await guest.text();
    expect(html).toContain(`<style>${GUEST_PAGE_CSS}</style>`);
    expect(guest.headers.get('content-security-policy')).toContain(GUEST_PAGE_CSS_HASH);
    // No inline script: the share button's script is a file of this origin, which the CSP allows.
    expect(html).not.toMatch(/<script(?![^>]*\ssrc="\/public\/guest\.js")/);
    expect(html).toContain('<script src="/public/guest.js" defer></script>');
    expect(guest.headers.get('content-security-policy')).toMatch(/script-src 'self'(;|$)/);
    const script = await fetch(`${server.url}/public/guest.js`);
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(script.headers.get('x-content-type-options')).toBe('nosniff');
  });
});
