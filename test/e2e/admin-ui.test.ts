import fs from 'node:fs/promises';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/db/embedded.js';
import { WEB_DIST } from '../../src/guest/admin-ui-routes.js';
import { startOpenAIFake, type OpenAIFake } from '../support/fakes/openai.js';
import { jpegBytes, multipartBody, postIngest, rawPost } from '../support/http.js';
import { makeFrameTemplate } from '../support/images.js';
import { ShiftedClock } from '../support/clock.js';
import { startTestServer, TEST_ADMIN, TEST_INGEST_PASSWORD, type TestServer } from '../support/server.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS = 'test-artifacts/screenshots';

/**
 * The admin UI end to end in a real browser against the real server on a fresh database: log in,
 * configure slots (prompt, template upload), test run, rotate the ingest password, statistics,
 * jobs, the guest page and its expired state, the language switch — with screenshots of each
 * page at desktop size and at 375 px.
 */
describe('admin UI in Chromium', () => {
  const clock = new ShiftedClock().setDay('2026-11-28');
  let server: TestServer;
  let openai: OpenAIFake;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;

  /** Tables wider than their container (a column cut off or behind a scroll bar): their test ids and widths. */
  const overflowingTables = () =>
    page.evaluate<string[]>(
      `[...document.querySelectorAll('table')].filter((t) => t.offsetParent && t.scrollWidth > t.parentElement.clientWidth + 1).map((t) => (t.dataset.testid || t.className || 'table') + ' ' + t.scrollWidth + '>' + t.parentElement.clientWidth)`,
    );
  const shot = async (name: string) => {
    await page.setViewportSize({ width: 1366, height: 900 });
    await page.waitForTimeout(100);
    expect(await overflowingTables(), `${name}: a table overflows at 1366 px`).toEqual([]);
    await page.screenshot({ path: `${SHOTS}/${name}-desktop.png`, fullPage: true });
    await page.setViewportSize({ width: 375, height: 800 });
    await page.waitForTimeout(100);
    expect(await overflowingTables(), `${name}: a table overflows at 375 px`).toEqual([]);
    const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
    await page.screenshot({ path: `${SHOTS}/${name}-mobile.png`, fullPage: true });
    const widest = await page.evaluate<string>(
      `[...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1).slice(-3).map((e) => e.tagName + '.' + e.className + '#' + e.id).join(' ')`,
    );
    expect(overflow, `${name} overflows at 375 px (${widest})`).toBeLessThanOrEqual(1);
    await page.setViewportSize({ width: 1366, height: 900 });
  };

  beforeAll(async () => {
    await fs.access(path.join(WEB_DIST, 'index.html')).catch(() => {
      throw new Error('Build the UI first: npm run build:web (npm run test:e2e does it)');
    });
    await fs.mkdir(SHOTS, { recursive: true });
    // OpenAI with a key and a model newer than the driver's table; Gemini without a key.
    openai = await startOpenAIFake({ extraModels: ['gpt-image-3-preview'], clock });
    // The guest links and QR codes need a public address: the test's own loopback one.
    const port = await freePort();
    server = await startTestServer({
      // The whole UI runs on 2026-11-28 (gpt-image-1.5 deprecated, shut down on 2026-12-01), whatever
      // the real date: the server, its sessions and the model lifecycles read this one clock.
      clock,
      env: {
        PHOTOCHANGER_PORT: String(port),
        PHOTOCHANGER_PUBLIC_BASE_URL: `http://127.0.0.1:${port}`,
        PHOTOCHANGER_T_SYNC_RESPONSE_SECONDS: '10',
        PHOTOCHANGER_OPENAI_BASE_URL: openai.baseUrl,
        PHOTOCHANGER_OPENAI_API_KEY: openai.apiKey,
      },
    });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--disable-quic',
        '--no-first-run',
      ],
    });
    context = await browser.newContext({ locale: 'ru-RU', viewport: { width: 1280, height: 900 } });
    // The browser's clock is the server's (its time flows from there): the pages' date ranges and
    // relative times agree with the server's data.
    await context.clock.install({ time: clock.now() });
    page = await context.newPage();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await openai?.close();
  });

  it('log in (Russian by default for a Russian browser), see the 15 slots', async () => {
    await page.goto(`${server.url}/admin/`);
    await expect.poll(() => page.locator('h1').textContent()).toBe('Войти');
    await shot('login');
    await page.fill('#username', TEST_ADMIN.username);
    await page.fill('#password', 'wrong-password');
    await page.click('button[type=submit]');
    await expect
      .poll(() => page.locator('[role=alert]').textContent())
      .toContain('Неверное имя пользователя или пароль');
    await page.fill('#password', TEST_ADMIN.password);
    await page.click('button[type=submit]');
    await page.waitForSelector('li.slot');
    expect(await page.locator('li.slot').count()).toBe(15);
    expect(await page.locator('li[data-slot="slot-001"] code').textContent()).toBe(
      `${new URL(server.url).origin}/ingest/slot-001`,
    );
    // "Copy" works on a plain-HTTP page too (no Clipboard API there: the selection fallback).
    await page.locator('li[data-slot="slot-001"] button.small').first().click();
    await expect
      .poll(() => page.locator('li[data-slot="slot-001"] button.small').first().textContent())
      .toBe('Скопировано!');
    expect((await page.request.get(`${server.url}/admin/favicon.svg`)).status()).toBe(200);
    await shot('slots');
  });

  it('configure a slot with a prompt (Gemini, warned: no key), and a frame slot with a template upload', async () => {
    await page.goto(`${server.url}/admin/#/slots/slot-006`);
    await page.waitForSelector('#slot-provider');
    await page.selectOption('#slot-provider', 'gemini');
    await page.waitForSelector('textarea');
    await expect.poll(() => page.locator('.warning').first().textContent()).toContain('API-ключ');
    // The provider's own words (src/providers/gemini/labels.ts), not the UI's dictionary.
    expect(await page.locator('label[for=f--settings-prompt]').textContent()).toContain('Промпт (задание для ИИ)');
    expect(await page.locator('#f--settings-safety_threshold option[value=BLOCK_ONLY_HIGH]').textContent()).toBe(
      'блокировать только высокий риск',
    );
    expect(await page.locator('#slot-operation option[value=edit]').textContent()).toBe('Редактирование Gemini');
    expect(await page.locator('#slot-provider option[value=local]').textContent()).toBe('Встроенный (без интернета)');
    await page.fill('textarea', 'Превратить гостя в акварельный портрет');
    await expect.poll(() => page.locator('.counter').first().textContent()).toMatch(/^38 \/ \d+/);
    await page.click('form button[type=submit]');
    await page.waitForSelector('[role=status]');
    const saved = await server.database.db
      .selectFrom('slot')
      .select(['provider', 'settings'])
      .where('id', '=', 'slot-006')
      .executeTakeFirstOrThrow();
    expect(saved).toMatchObject({ provider: 'gemini', settings: { prompt: 'Превратить гостя в акварельный портрет' } });
    await shot('slot-editor');

    await page.goto(`${server.url}/admin/#/slots/slot-005`);
    await page.waitForSelector('#slot-operation');
    await page.selectOption('#slot-operation', 'frame');
    await page.click('form button[type=submit]');
    await page.waitForSelector('[data-template-key=frame]');
    const frame = await makeFrameTemplate({ width: 400, height: 300, holeInsetPercent: 12, color: '#1060c0' });
    await page.setInputFiles('#tpl-frame', { name: 'frame.png', mimeType: 'image/png', buffer: frame });
    await page.waitForSelector('[data-template-key=frame] img');
    const templates = await server.database.db
      .selectFrom('template')
      .select(['setting_key'])
      .where('slot_id', '=', 'slot-005')
      .execute();
    expect(templates).toEqual([{ setting_key: 'frame' }]);
  });

  it('offers the models the key can use, including one only the live list knows, and saves it', async () => {
    await page.goto(`${server.url}/admin/#/slots/slot-010`);
    await page.waitForSelector('#slot-provider');
    await page.selectOption('#slot-provider', 'openai');
    await page.waitForSelector('#f--settings-model option[value="gpt-image-3-preview"]', { state: 'attached' });
    expect(await page.inputValue('#f--settings-model')).toBe('gpt-image-2');
    // Shut-down and non-image models are not offered; the live-only one is, in its own group.
    const offered = await page
      .locator('#f--settings-model option')
      .evaluateAll((os) => os.map((o) => (o as unknown as { value: string }).value));
    expect(offered).toContain('gpt-image-2.6-sunburst');
    expect(offered).not.toContain('gpt-5.5');
    expect(await page.locator('#f--settings-model optgroup').getAttribute('label')).toContain(
      'Другие модели вашего ключа',
    );
    expect(await page.locator('.field:has(#f--settings-model) .help').first().textContent()).toContain(
      'доступные вашему API-ключу',
    );
    await page.selectOption('#f--settings-model', 'gpt-image-3-preview');
    await page.fill('textarea', 'Комикс');
    await page.click('form button[type=submit]');
    await page.waitForSelector('[role=status]');
    const saved = await server.database.db
      .selectFrom('slot')
      .select(['provider', 'settings'])
      .where('id', '=', 'slot-010')
      .executeTakeFirstOrThrow();
    expect(saved).toMatchObject({ provider: 'openai', settings: { model: 'gpt-image-3-preview', prompt: 'Комикс' } });
    await shot('slot-model-picker');
  });

  it('adds a fallback provider to a slot and saves it', async () => {
    await page.goto(`${server.url}/admin/#/slots/slot-012`);
    await page.waitForSelector('[data-testid=failover]');
    await page.click('[data-testid=failover-add]');
    await page.waitForSelector('.failover-step[data-step="0"]');
    expect(await page.inputValue('#fo-0-provider')).toBe('local');
    await page.click('form button[type=submit]');
    await page.waitForSelector('[role=status]');
    const saved = await server.database.db
      .selectFrom('slot')
      .select('failover')
      .where('id', '=', 'slot-012')
      .executeTakeFirstOrThrow();
    expect(saved.failover).toMatchObject({ on_safety: false, steps: [{ provider: 'local', operation: 'neutral' }] });
    await shot('slot-failover');
  });

  it('warns about a deprecated model on the slot list and switches it in one click', async () => {
    await server.database.db
      .updateTable('slot')
      .set({
        provider: 'openai',
        operation: 'edit',
        settings: JSON.stringify({ model: 'gpt-image-1.5', prompt: 'Поп-арт', input_fidelity: 'high' }),
      })
      .where('id', '=', 'slot-011')
      .execute();
    await page.goto(`${server.url}/admin/#/slots`);
    const card = page.locator('li[data-slot="slot-011"]');
    await card.locator('[data-testid=model-warning]').waitFor();
    expect(await card.locator('[data-testid=model-warning]').textContent()).toContain('устарела и будет отключена');
    await shot('slots-deprecated-model');
    await card.locator('[data-testid=model-warning] button').click();
    const settings = async () =>
      (
        await server.database.db
          .selectFrom('slot')
          .select('settings')
          .where('id', '=', 'slot-011')
          .executeTakeFirstOrThrow()
      ).settings;
    await expect.poll(settings).toMatchObject({ model: 'gpt-image-2.6-sunburst', prompt: 'Поп-арт' });
    // GPT Image 2.6 chooses its input fidelity itself: the setting is gone.
    expect(await settings()).not.toHaveProperty('input_fidelity');
    await expect.poll(() => card.locator('[data-testid=model-warning]').count()).toBe(0);
  });

  it('shows a 422 next to its field, and a 409 from a concurrent edit with reload', async () => {
    await page.goto(`${server.url}/admin/#/slots/slot-007`);
    await page.waitForSelector('#slot-operation');
    await page.selectOption('#slot-operation', 'style');
    await page.waitForSelector('#f--settings-strength');
    await page.fill('#f--settings-strength', '150');
    await page.click('form button[type=submit]');
    await page.waitForSelector('#f--settings-strength-error');
    expect(await page.locator('#f--settings-strength').getAttribute('aria-invalid')).toBe('true');
    // In Russian, at the field and in words next to Save (the form keeps every other edit).
    expect(await page.locator('#f--settings-strength-error').textContent()).toBe('не больше 100');
    expect(await page.locator('form p.error[role=alert]').last().textContent()).toContain('не больше 100');
    await page.fill('#f--settings-strength', '50');
    // Someone else saves the slot meanwhile.
    const current = await server.database.db
      .selectFrom('slot')
      .select('updated_at')
      .where('id', '=', 'slot-007')
      .executeTakeFirstOrThrow();
    await server.database.db
      .updateTable('slot')
      .set({ name: 'Renamed elsewhere', updated_at: new Date(current.updated_at.getTime() + 1000) })
      .where('id', '=', 'slot-007')
      .execute();
    await page.click('form button[type=submit]');
    await page.waitForSelector('[role=alertdialog]');
    await shot('slot-conflict');
    await page.click('[role=alertdialog] button:not(.primary)');
    await expect.poll(() => page.inputValue('#slot-name')).toBe('Renamed elsewhere');
  });

  it('a test run shows before and after with timings', async () => {
    await page.goto(`${server.url}/admin/#/slots/slot-005`);
    await page.waitForSelector('#test-photo');
    await page.setInputFiles('#test-photo', {
      name: 'guest.jpg',
      mimeType: 'image/jpeg',
      buffer: await jpegBytes(320, 240, { r: 240, g: 200, b: 40 }),
    });
    await page.click('text=Запустить тест');
    await page.waitForSelector('img[data-testid=after]');
    await expect
      .poll(() =>
        page
          .locator('img[data-testid=after]')
          .evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth),
      )
      .toBe(400);
    expect(await page.locator('.timings').textContent()).toMatch(/всего \d+ мс/);
    await shot('test-run');
  });

  it("rotating the ingest password in Settings refuses the booth's old password at once", async () => {
    await page.goto(`${server.url}/admin/#/settings`);
    await page.waitForSelector('#ingest-password');
    await page.fill('#ingest-password', 'new-booth-pass-7');
    await page.click('text=Сменить пароль');
    await page.waitForSelector('text=Пароль для фотобудки изменён');
    const photo = await jpegBytes();
    expect((await postIngest(server.url, 'slot-001', { password: TEST_INGEST_PASSWORD, file: photo })).status).toBe(
      401,
    );
    expect((await postIngest(server.url, 'slot-001', { password: 'new-booth-pass-7', file: photo })).status).toBe(200);
    expect(await page.content()).not.toContain('new-booth-pass-7');
    // "Check" the OpenAI key: one model listing call, no image generation.
    await page.click('[data-testid=check-openai]');
    await expect.poll(() => page.locator('[data-testid=check-result-openai]').textContent()).toContain('Ключ работает');
    expect(await page.locator('.key-row[data-provider=openai] strong').textContent()).toBe('OpenAI GPT Image');
    // The public address: set on the server here (PHOTOCHANGER_PUBLIC_BASE_URL), which wins and is
    // said so; the field is locked. Check asks the server to open <address>/healthz.
    expect(await page.locator('[data-testid=public-address-now]').textContent()).toContain(
      'PHOTOCHANGER_PUBLIC_BASE_URL',
    );
    expect(await page.locator('#public-address-input').isDisabled()).toBe(true);
    await page.click('[data-testid=public-address-check]');
    await expect
      .poll(() => page.locator('[data-testid=public-address-result]').textContent())
      .toContain('PhotoChanger отвечает');
    await shot('settings');
  });

  it('statistics and the jobs monitor after a few ingests; a job shows its result and QR', async () => {
    for (let i = 0; i < 3; i++)
      expect(
        (await postIngest(server.url, 'slot-002', { password: 'new-booth-pass-7', file: await jpegBytes() })).status,
      ).toBe(200);
    await server.rejections.flush(); // refusals are counted in memory and written every few seconds
    // The slot list warns that a booth still uses the old password.
    await page.goto(`${server.url}/admin/#/slots`);
    await expect
      .poll(() => page.locator('li[data-slot="slot-001"] [data-testid=old-password]').textContent())
      .toContain('старый пароль');
    await page.goto(`${server.url}/admin/#/stats`);
    await page.waitForSelector('tr[data-slot="slot-002"]');
    await expect.poll(() => page.locator('tr[data-slot="slot-002"] td').first().textContent()).toBe('3');
    await page.waitForSelector('svg.chart');
    // Charts have axes: values on gridlines and bucket times under the plot.
    expect(await page.locator('svg.chart').first().locator('.axes text').count()).toBeGreaterThanOrEqual(4);
    // The old password used by a booth after the rotation is visible as a refusal, in words.
    await expect
      .poll(() => page.locator('[data-testid=refusals] li[data-code=invalid_password]').textContent(), {
        timeout: 10_000,
      })
      .toContain('неверный пароль');
    await shot('stats');

    await page.goto(`${server.url}/admin/#/jobs`);
    await page.waitForSelector('tr[data-job]');
    await expect.poll(() => page.locator('h1 .badge').textContent()).toContain('●');
    const before = await page.locator('tr[data-job]').count();
    // Live: a new booth job appears without reloading.
    await postIngest(server.url, 'slot-003', { password: 'new-booth-pass-7', file: await jpegBytes() });
    await expect.poll(() => page.locator('tr[data-job]').count()).toBe(before + 1);
    await shot('jobs');
    await page.locator('tr[data-job] a').first().click();
    await page.waitForSelector('img.qr');
    // What happened, in words; the raw JSON is folded away.
    expect(await page.locator('[data-testid=what-happened]').textContent()).toMatch(/обработал фото за [\d,.]+ с/);
    expect(await page.locator('details pre.detail').first().isVisible()).toBe(false);
    await shot('job-detail');
  });

  it('refusals one by one and the booths in contact, with a booth still on the old password', async () => {
    const photo = await jpegBytes();
    const booth = (slot: string, address: string, password: string) => {
      const { body, contentType } = multipartBody([
        { name: 'name', value: 'Фотобудка у входа' },
        { name: 'password', value: password },
        { name: 'fileToUpload', value: photo, filename: 'IMG_0042.JPG', contentType: 'image/jpeg' },
      ]);
      return rawPost(server.url, `/ingest/${slot}`, body, { 'Content-Type': contentType }, { localAddress: address });
    };
    expect((await booth('slot-002', '127.0.0.2', 'new-booth-pass-7')).status).toBe(200);
    expect((await booth('slot-002', '127.0.0.2', TEST_INGEST_PASSWORD)).status).toBe(401);
    expect((await booth('slot-077', '127.0.0.3', 'new-booth-pass-7')).status).toBe(404);
    await page.goto(`${server.url}/admin/#/jobs/refused`);
    await page.waitForSelector('[data-testid=refusals-table] tr[data-refusal]');
    const first = page.locator('tr[data-refusal]').first();
    expect(await first.getAttribute('data-code')).toBe('slot_not_found');
    expect(await first.textContent()).toContain('slot-077');
    // What the booth was told, in its words, under the reason.
    expect(await first.locator('[data-testid=refusal-message]').textContent()).toContain(
      'Фотобудке ответили: «Slot slot-077 does not exist',
    );
    const named = page.locator('tr[data-code=invalid_password]', { hasText: 'Фотобудка у входа' });
    expect(await named.textContent()).toContain('неверный пароль');
    expect(await page.locator('.tabs a[aria-current=page]').textContent()).toBe('Отклонённые');
    await shot('jobs-refused');

    await page.goto(`${server.url}/admin/#/jobs/booths`);
    await page.waitForSelector('[data-booth="127.0.0.2"]');
    const card = page.locator('[data-booth="127.0.0.2"]');
    expect(await card.locator('h2').textContent()).toContain('Фотобудка у входа');
    expect(await card.locator('[data-testid=last-refusal]').textContent()).toContain('401');
    expect(await card.locator('.warning').textContent()).toContain('старый пароль');
    expect(await page.locator('[data-booth="127.0.0.3"] [data-testid=last-refusal]').textContent()).toContain('404');
    await shot('booths');

    // The booth check: what the booth sent, part by part, and what it was answered; never the password.
    await card.locator('.booth-requests summary').click();
    await page.waitForSelector('[data-booth="127.0.0.2"] [data-testid=booth-requests] li');
    const requests = card.locator('[data-testid=booth-requests] li');
    // The 401 is kept under the address (a name sent with a wrong password is not trusted).
    expect(await requests.count()).toBe(1);
    expect(await requests.last().textContent()).toMatch(
      /name \([\d,.\s]+Б\) → password \([\d,.\s]+Б\) → fileToUpload \(файл, [\d,.\s]+К?Б, image\/jpeg\)/,
    );
    expect(await card.textContent()).not.toContain('new-booth-pass-7');
    await shot('booth-check');

    // Statistics: each slot's last success and last error, and the storage used.
    await page.goto(`${server.url}/admin/#/stats`);
    await page.waitForSelector('[data-testid=storage]');
    expect(await page.locator('tr[data-slot="slot-002"] [data-testid=last-success]').textContent()).not.toBe('—');
    expect(await page.locator('[data-testid=storage]').textContent()).toMatch(/Результаты[\d,.\s]+(КБ|МБ)/);
    expect(await page.locator('[data-testid=storage]').textContent()).toContain('Свободно на диске');
  });

  it('the guest page, then its expired state (410)', async () => {
    const res = await postIngest(server.url, 'slot-001', {
      password: 'new-booth-pass-7',
      file: await jpegBytes(300, 200),
    });
    const id = res.headers.get('x-job-id')!;
    const guest = await page.goto(`${server.url}/r/${id}`);
    expect(guest?.status()).toBe(200);
    await page.waitForSelector('a.button[download]');
    await shot('guest');
    await server.database.db
      .updateTable('job')
      .set({ result_expires_at: new Date(clock.now().getTime() - 1000) })
      .where('id', '=', id)
      .execute();
    const expired = await page.goto(`${server.url}/r/${id}`);
    expect(expired?.status()).toBe(410);
    expect(await page.locator('h1').textContent()).toBe('Срок хранения фото истёк');
    await shot('guest-expired');
  });

  it('the gallery shows a new shot live and opens it with details; a share link shows guests that slot; the live screen follows', async () => {
    await page.goto(`${server.url}/admin/#/gallery`);
    await page.waitForSelector('[data-testid=gallery-grid] li');
    await expect.poll(() => page.locator('h1 .badge').textContent()).toContain('●');
    const before = await page.locator('[data-testid=gallery-grid] li').count();
    const res = await postIngest(server.url, 'slot-003', {
      password: 'new-booth-pass-7',
      file: await jpegBytes(600, 400, { r: 40, g: 120, b: 200 }),
      extra: { name: 'Booth Hall A' },
    });
    const id = res.headers.get('x-job-id')!;
    // Live: the new shot is first within a second or two, without reloading.
    await expect
      .poll(() => page.locator('[data-testid=gallery-grid] li').first().getAttribute('data-id'), { timeout: 5000 })
      .toBe(id);
    expect(await page.locator('[data-testid=gallery-grid] li').count()).toBe(before + 1);
    expect(await page.locator('[data-testid=export-zip]').getAttribute('href')).toBe('/api/gallery/export.zip?');
    await shot('gallery');
    await page.locator(`[data-testid=gallery-grid] li[data-id="${id}"] button`).click();
    await page.waitForSelector('dialog.result-dialog img.full');
    expect(await page.locator('dialog.result-dialog').textContent()).toContain('Booth Hall A');
    expect(await page.locator('dialog.result-dialog a[download]').getAttribute('href')).toBe(
      `/api/gallery/${id}/image?download=1`,
    );
    await page.screenshot({ path: `${SHOTS}/gallery-detail-desktop.png` });
    await page.locator('dialog.result-dialog button', { hasText: 'Закрыть' }).click();

    // A share link for slot-003 only: guests see its photos and nothing of slot-002.
    await page.locator('.slot-checks label', { hasText: 'slot-003' }).locator('input').check();
    await page.fill('#share-title', 'Свадьба');
    await page.locator('.share-form button[type=submit]').click();
    await page.waitForSelector('.share-list li.active img.qr');
    const link = await page.locator('.share-list li.active code').textContent();
    expect(link).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/g\/[A-Za-z0-9_-]{24}$/);
    const guest = await context.newPage();
    await guest.setViewportSize({ width: 375, height: 800 });
    expect((await guest.goto(link!))?.status()).toBe(200);
    await guest.waitForSelector('.grid a img');
    const tiles = await guest.locator('.grid a').count();
    const slot3 = await server.database.db
      .selectFrom('job')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('slot_id', '=', 'slot-003')
      .where('result_path', 'is not', null)
      .where('is_test', '=', false)
      .executeTakeFirstOrThrow();
    expect(tiles).toBe(Number(slot3.n));
    await guest.screenshot({ path: `${SHOTS}/shared-gallery-mobile.png`, fullPage: true });
    await guest.goto(`${link}?lang=en`);
    await guest.locator('.grid a').first().click();
    await guest.waitForSelector('img.photo');
    expect(await guest.locator('a.button[download]').textContent()).toBe('Download');
    await guest.screenshot({ path: `${SHOTS}/shared-photo-en-mobile.png`, fullPage: true });
    await guest.close();

    // The live screen shows the newest shot of its slot with the guest QR code, then the next one.
    await page.goto(`${server.url}/admin/#/live/slot-003`);
    await expect.poll(() => page.locator('img.live-photo').getAttribute('data-id')).toBe(id);
    await page.waitForSelector('.live-qr img');
    const next = (
      await postIngest(server.url, 'slot-003', {
        password: 'new-booth-pass-7',
        file: await jpegBytes(400, 600, { r: 200, g: 60, b: 90 }),
      })
    ).headers.get('x-job-id');
    await expect.poll(() => page.locator('img.live-photo').getAttribute('data-id'), { timeout: 5000 }).toBe(next);
    await page.waitForTimeout(300);
    await page.screenshot({ path: `${SHOTS}/live-screen-desktop.png` });
  });

  it('an administrator changes their own password and manages accounts', async () => {
    await page.goto(`${server.url}/admin/#/slots`);
    await page.click('header a.user');
    await page.waitForSelector('[data-testid=own-password]');
    expect(await page.locator('h1').textContent()).toContain('Учётная запись: admin');
    // A wrong current password is shown at its field, in words.
    await page.fill('#current-password', 'not-my-password');
    await page.fill('#new-password', 'admin-pass-new-9');
    await page.fill('#repeat-password', 'admin-pass-new-9');
    await page.click('[data-testid=own-password] button[type=submit]');
    await expect.poll(() => page.locator('#current-password-error').textContent()).toBe('Текущий пароль неверен.');
    // Another tab of the same browser, open before the change, keeps working after it (the session is renewed, not ended).
    const other = await context.newPage();
    await other.goto(`${server.url}/admin/#/settings`);
    await other.waitForSelector('[data-testid=check-openai]');
    await page.fill('#current-password', TEST_ADMIN.password);
    await page.click('[data-testid=own-password] button[type=submit]');
    await expect
      .poll(() => page.locator('[data-testid=own-password] [role=status]').textContent())
      .toBe('Пароль изменён.');
    await other.click('[data-testid=check-openai]');
    await expect
      .poll(() => other.locator('[data-testid=check-result-openai]').textContent())
      .toContain('Ключ работает');
    await other.close();
    // Add an operator who sees slots and statistics, then let them see the settings too.
    await page.fill('#new-username', 'operator');
    await page.fill('#new-account-password', 'operator-pass-1');
    await page.click('[data-testid=add-account] button[type=submit]');
    await page.waitForSelector('[data-account=operator]');
    const operator = page.locator('[data-account=operator]');
    await operator.locator('[data-permission="settings:read"]').check();
    await operator.locator('button.primary').click();
    await expect
      .poll(
        async () =>
          (
            await server.database.db
              .selectFrom('admin_account')
              .select('permissions')
              .where('username', '=', 'operator')
              .executeTakeFirst()
          )?.permissions,
      )
      .toEqual(['slots:read', 'stats:read', 'settings:read']);
    // The last account that can manage accounts cannot give that up.
    await page.locator('[data-account=admin] [data-permission="accounts:write"]').uncheck();
    await page.locator('[data-account=admin] button.primary').click();
    await expect
      .poll(() => page.locator('[data-account=admin] [role=alert]').textContent())
      .toContain('последняя учётная запись');
    await shot('account');
    // The session went on after the password change: the next writes still work, and so does the new password.
    page.once('dialog', (d) => void d.accept());
    await page.locator('[data-account=operator] button.danger').click();
    await expect.poll(() => page.locator('[data-account=operator]').count()).toBe(0);
    const relogin = await fetch(`${server.url}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password: 'admin-pass-new-9' }),
    });
    expect(relogin.status).toBe(200);
  });

  it('the slot editor says where the guest QR code will point as it is switched on, before saving', async () => {
    await page.goto(`${server.url}/admin/#/slots/slot-003`);
    await page.waitForSelector('#slot-name');
    expect(await page.locator('[data-testid=guest-qr-state]').count()).toBe(0);
    const toggle = page.locator('#f--settings-output-guest_link-enabled');
    await toggle.scrollIntoViewIfNeeded();
    await toggle.check();
    const note = page.locator('[data-testid=guest-qr-state]');
    expect(await note.getAttribute('data-state')).toBe('public');
    expect(await note.textContent()).toContain(`QR-код для гостя на отпечатке → ${new URL(server.url).origin}`);
    await toggle.uncheck();
    expect(await note.count()).toBe(0);
  });

  it('the Russian UI has no English words outside names (products, models, codes)', async () => {
    // Names an operator reads as they are: products, providers, models, formats, protocols.
    const allowed = new Set(
      (
        'PhotoChanger Gemini Google OpenAI GPT Image Turbotext Nano Banana Pro Flash Lite Preview DSLR Remote Breeze Booth ' +
        'JPEG JPG PNG WebP HEIC HEIF SVG ZIP CSV JSON API URL QR HTTP HTTPS http https www PHOTOCHANGER_PUBLIC_BASE_URL ' +
        'T_sync Seed seed scale webhook gpt image gemini mini ' +
        'flash lite preview banana nano pro dall Chromium Windows iPad iOS Android Wi Fi LAN UTC EXIF ' +
        // The language switch names English in English; DSLR Remote Pro's field is called «name».
        'English name ' +
        // What the earlier steps typed: slot, booth and account names.
        'frame Renamed elsewhere Sunburst Hall admin'
      )
        .toLowerCase()
        .split(/\s+/),
    );
    const firstJob = await page.evaluate<string>(
      `fetch('/api/jobs?limit=1', { credentials: 'same-origin' }).then((r) => r.json()).then((b) => b.jobs[0].id)`,
    );
    const pages = [
      '#/slots',
      '#/slots/slot-001',
      '#/slots/slot-002',
      '#/gallery',
      '#/stats',
      '#/jobs',
      `#/jobs/${firstJob}`,
      '#/jobs/refused',
      '#/jobs/booths',
      '#/settings',
      '#/account',
    ];
    const found: string[] = [];
    for (const hash of pages) {
      await page.goto(`${server.url}/admin/${hash}`);
      await page.waitForSelector('main h1');
      await page.waitForTimeout(300);
      // What the booth was told is quoted as it was said (lang="en"); codes are codes.
      const text = await page.evaluate<string>(
        `(() => { const quoted = [...document.querySelectorAll('[lang=en], code')]; quoted.forEach((e) => (e.style.display = 'none'));
          const t = document.body.innerText + ' ' + [...document.querySelectorAll('[title],[placeholder],[aria-label]')].filter((e) => !e.closest('[lang=en], code')).map((e) => [e.getAttribute('title'), e.getAttribute('placeholder'), e.getAttribute('aria-label')].join(' ')).join(' ');
          quoted.forEach((e) => (e.style.display = '')); return t; })()`,
      );
      // Latin words of 3+ letters that are not inside a code, a URL, a model id or a slot id.
      const words =
        text
          .replace(/https?:\/\/\S+/g, ' ')
          .replace(/\b[\w.-]*\d[\w.-]*\b/g, ' ')
          .replace(/\b\w+(?:[_:][\w]+)+\b/g, ' ')
          .match(/\b[A-Za-z]{3,}\b/g) ?? [];
      for (const w of new Set(words)) {
        if (allowed.has(w.toLowerCase())) continue;
        const at = text.indexOf(w);
        found.push(`${hash}: ${w} (…${text.slice(Math.max(0, at - 40), at + 40).replace(/\s+/g, ' ')}…)`);
      }
    }
    expect(found).toEqual([]);
  });

  it('switches to English and remembers it', async () => {
    await page.goto(`${server.url}/admin/#/slots`);
    await page.waitForSelector('li.slot');
    await page.selectOption('select[aria-label="Язык"]', 'en');
    await expect.poll(() => page.locator('header.top nav a').first().textContent()).toBe('Slots');
    await page.reload();
    await page.waitForSelector('li.slot');
    expect(await page.locator('h1').first().textContent()).toBe('Slots');
    expect(await page.evaluate<string>('document.documentElement.lang')).toBe('en');
    await shot('slots-en');
    await page.goto(`${server.url}/admin/#/gallery`);
    await page.waitForSelector('[data-testid=gallery-grid] li');
    expect(await page.locator('h1').first().textContent()).toContain('Gallery');
    await shot('gallery-en');
    await page.goto(`${server.url}/admin/#/settings`);
    await expect
      .poll(() => page.locator('[data-testid=retention-words]').textContent())
      .toContain('work for 3 d after each photo');
  });
});
