import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';
import { createLocalProvider } from '../../src/providers/local/driver.js';
import { ProviderFailure, type InputImage, type TemplateImage } from '../../src/providers/types.js';
import {
  makeProviderRequest,
  rejectionOf,
  writeInputImage,
  writeTemplateImage,
  type CapturedProviderRequest,
} from '../support/fakes/request.js';
import { makeFrameTemplate, makeJpeg } from '../support/images.js';

/** The built-in offline provider: real sharp operations, deterministic. */
describe('local provider', () => {
  const driver = createLocalProvider();
  const captured: CapturedProviderRequest[] = [];
  afterEach(() => {
    for (const c of captured.splice(0)) c.dispose();
  });

  function run(
    operation: string,
    settings: Record<string, unknown>,
    photo: InputImage,
    templates: TemplateImage[] = [],
  ) {
    const c = makeProviderRequest({ operation, settings, photo, templates, deadlineMs: 10_000 });
    captured.push(c);
    return driver.process(c.request);
  }
  const pixel = async (bytes: Buffer, x: number, y: number) => {
    const { data, info } = await sharp(bytes).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const i = (y * info.width + x) * info.channels;
    return [data[i]!, data[i + 1]!, data[i + 2]!];
  };

  it('neutral: applies the EXIF orientation, keeps the aspect ratio, shrinks to max_side, never enlarges', async () => {
    const rotated = await writeInputImage(await makeJpeg({ width: 80, height: 40, orientation: 6 }), 'image/jpeg');
    const upright = await run('neutral', { max_side: 2048 }, rotated);
    expect(upright.mime).toBe('image/jpeg');
    const m1 = await sharp(upright.bytes).metadata();
    expect([m1.width, m1.height]).toEqual([40, 80]);
    expect(m1.orientation ?? 1).toBe(1);

    const big = await writeInputImage(await makeJpeg({ width: 1200, height: 800 }), 'image/jpeg');
    const m2 = await sharp((await run('neutral', { max_side: 600 }, big)).bytes).metadata();
    expect([m2.width, m2.height]).toEqual([600, 400]);
    const m3 = await sharp((await run('neutral', { max_side: 4000 }, big)).bytes).metadata();
    expect([m3.width, m3.height]).toEqual([1200, 800]);
  });

  it('style: black & white greys the pixels, sepia differs, strength 0 keeps the colours; deterministic', async () => {
    const photo = await writeInputImage(await makeJpeg({ width: 64, height: 64, color: '#2060e0' }), 'image/jpeg');
    const bw = (await run('style', { style: 'bw', strength: 100, max_side: 2048 }, photo)).bytes;
    const [r, g, b] = await pixel(bw, 32, 32);
    expect(Math.max(r!, g!, b!) - Math.min(r!, g!, b!)).toBeLessThanOrEqual(3);
    const sepia = (await run('style', { style: 'sepia', strength: 100, max_side: 2048 }, photo)).bytes;
    expect(await pixel(sepia, 32, 32)).not.toEqual(await pixel(bw, 32, 32));
    const none = (await run('style', { style: 'bw', strength: 0, max_side: 2048 }, photo)).bytes;
    const [nr, , nb] = await pixel(none, 32, 32);
    expect(nb! - nr!).toBeGreaterThan(150); // still blue
    const again = (await run('style', { style: 'bw', strength: 100, max_side: 2048 }, photo)).bytes;
    expect(again.equals(bw)).toBe(true);
  });

  it('frame: the photo inside the template window, the template size and colour around it', async () => {
    const photo = await writeInputImage(await makeJpeg({ width: 300, height: 200, color: '#f0c020' }), 'image/jpeg');
    const frame = await writeTemplateImage(
      await makeFrameTemplate({ width: 400, height: 300, holeInsetPercent: 10, color: '#1060c0' }),
      'image/png',
      'frame',
    );
    const out = (await run('frame', { fit: 'cover', padding_percent: 0, background: '#ffffff' }, photo, [frame])).bytes;
    const meta = await sharp(out).metadata();
    expect([meta.width, meta.height]).toEqual([400, 300]);
    const [br, bg, bb] = await pixel(out, 5, 5); // the frame border
    expect(bb!).toBeGreaterThan(150);
    expect(br!).toBeLessThan(60);
    expect(bg!).toBeLessThan(130);
    const [cr, cg, cb] = await pixel(out, 200, 150); // the photo in the window
    expect(cr!).toBeGreaterThan(200);
    expect(cg!).toBeGreaterThan(150);
    expect(cb!).toBeLessThan(90);
  });

  it('typed failures: a missing template, an undecodable photo, an aborted job', async () => {
    const photo = await writeInputImage(await makeJpeg({ width: 32, height: 32 }), 'image/jpeg');
    const missing = await rejectionOf(run('frame', {}, photo));
    expect(missing).toBeInstanceOf(ProviderFailure);
    expect((missing as ProviderFailure).reason).toBe('template_missing');

    const garbage = await writeInputImage(Buffer.from('this is not a jpeg, just text pretending'), 'image/jpeg');
    const broken = await rejectionOf(run('neutral', {}, garbage));
    expect(broken).toBeInstanceOf(ProviderFailure);
    expect((broken as ProviderFailure).reason).toBe('invalid_image');

    const c = makeProviderRequest({ operation: 'neutral', settings: {}, photo, deadlineMs: 10_000 });
    captured.push(c);
    c.controller.abort(new Error('deadline'));
    await expect(driver.process(c.request)).rejects.toThrow();
  });
});
