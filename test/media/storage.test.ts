import { createHash, randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MediaStore } from '../../src/media/storage.js';

describe('MediaStore', () => {
  let root: string;
  let media: MediaStore;
  beforeAll(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'pc-storage-'));
    media = new MediaStore(root);
    await fs.mkdir(path.join(root, 'results'), { recursive: true });
    await fs.mkdir(path.join(root, 'payloads'), { recursive: true });
  });
  afterAll(() => fs.rm(root, { recursive: true, force: true }));

  it('writes a result under its final name with its checksum, and never over an existing one', async () => {
    const jobId = randomUUID();
    const bytes = randomBytes(200_000);
    const stored = await media.writeResult(jobId, 'jpg', bytes);
    expect(stored).toEqual({
      path: path.join(root, 'results', `${jobId}.jpg`),
      sha256: createHash('sha256').update(bytes).digest('hex'),
      size: bytes.length,
    });
    expect((await fs.readFile(stored.path)).equals(bytes)).toBe(true);
    await expect(media.writeResult(jobId, 'jpg', randomBytes(10))).rejects.toMatchObject({ code: 'EEXIST' });
    expect((await fs.readFile(stored.path)).equals(bytes)).toBe(true); // the first stays whole
    expect(await fs.readdir(path.join(root, 'results'))).toEqual([`${jobId}.jpg`]);
  });

  it('removes a payload by its known file, and anything else in its folder too', async () => {
    const jobId = randomUUID();
    const dir = media.payloadDir(jobId);
    await fs.mkdir(dir, { recursive: true });
    await fs.writeFile(path.join(dir, '1-photo.jpg'), 'x');
    await media.removePayload(jobId, [path.join(dir, '1-photo.jpg')]);
    await expect(fs.stat(dir)).rejects.toMatchObject({ code: 'ENOENT' });
    // A file it was not told of (a second part): the folder goes all the same.
    await fs.mkdir(dir, { recursive: true });
    await fs.writeFile(path.join(dir, '1-photo.jpg'), 'x');
    await fs.writeFile(path.join(dir, '2-other.jpg'), 'y');
    await media.removePayload(jobId, [path.join(dir, '1-photo.jpg')]);
    await expect(fs.stat(dir)).rejects.toMatchObject({ code: 'ENOENT' });
    // A path outside the folder is never unlinked; a payload already gone is no error.
    const outside = path.join(root, 'results', 'keep.jpg');
    await fs.writeFile(outside, 'z');
    await fs.mkdir(dir, { recursive: true });
    await media.removePayload(jobId, [outside]);
    expect(await fs.readFile(outside, 'utf8')).toBe('z');
    await media.removePayload(jobId, []);
  });
});
