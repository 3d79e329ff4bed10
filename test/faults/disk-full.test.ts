import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jpegBytes, jsonOf, postIngest } from '../support/http.js';
import { makeJpegOfSize } from '../support/images.js';
import { listFiles, startTestServer, TEST_INGEST_PASSWORD, type TestServer } from '../support/server.js';

/**
 * The media root on a 2 MiB tmpfs (the fault suite runs as root, as CI does): an upload that
 * does not fit answers 507 insufficient_storage and leaves no partial file; the server goes on.
 */
describe('media root full', () => {
  let mount: string;
  let server: TestServer;

  beforeAll(async () => {
    mount = await fs.mkdtemp(path.join(os.tmpdir(), 'photochanger-tmpfs-'));
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', mount]);
    } catch (err) {
      throw new Error(
        `The disk-full fault test mounts a 2 MiB tmpfs and needs root (CI runs as root): ${(err as Error).message}`,
      );
    }
    server = await startTestServer({ env: { PHOTOCHANGER_MEDIA_ROOT: mount } });
  });
  afterAll(async () => {
    await server?.close();
    execFileSync('umount', [mount]);
    await fs.rm(mount, { recursive: true, force: true });
  });

  it('507 insufficient_storage for an upload that does not fit, nothing partial left, then service as usual', async () => {
    const big = await makeJpegOfSize(3 * 1024 * 1024);
    const res = await postIngest(server.url, 'slot-001', { password: TEST_INGEST_PASSWORD, file: big });
    expect(res.status).toBe(507);
    expect((await jsonOf(res)).error.code).toBe('insufficient_storage');
    expect(await listFiles(path.join(mount, 'payloads'))).toEqual([]);
    expect(await listFiles(path.join(mount, 'results'))).toEqual([]);
    const small = await postIngest(server.url, 'slot-001', {
      password: TEST_INGEST_PASSWORD,
      file: await jpegBytes(320, 240),
    });
    expect(small.status).toBe(200);
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
  });
});
