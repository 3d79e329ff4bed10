/**
 * `npm run backup` / `npm run restore` on an installation with the embedded database (the default):
 * a cold copy of the data directory and its cluster, refused while the server runs, restored with
 * what was there moved aside, and the server starts on the restored data.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { startServer } from '../../src/server.js';
import { systemClusterDir } from '../../src/db/embedded.js';

const run = promisify(execFile);

describe('backup and restore of an embedded installation', () => {
  const made: string[] = [];
  afterAll(async () => {
    for (const dir of made) await fs.rm(dir, { recursive: true, force: true });
  });

  const isRoot = process.getuid?.() === 0;
  // As root in a folder the database user cannot enter (a clone under /root), the cluster lives in
  // /var/lib/photochanger (src/db/embedded.ts): the archive carries it apart and the restore puts it back.
  // "linked": the data directory is a symbolic link to the real folder `pc` (data on a bigger disk),
  // and the photos are in a sibling whose name starts the same (`pc-media`).
  const cases: Array<{ mode: number; layout: 'plain' | 'linked' }> = [
    { mode: 0o755, layout: 'plain' },
    { mode: 0o755, layout: 'linked' },
    ...(isRoot ? [{ mode: 0o700, layout: 'plain' as const }] : []),
  ];
  it.each(cases)(
    'backs up only when stopped, restores with the old data kept aside, and the server starts on it (folder mode $mode, $layout)',
    async ({ mode, layout }) => {
      const root = await fs.mkdtemp(path.join(os.tmpdir(), 'photochanger-backup-test-'));
      made.push(root);
      await fs.chmod(root, mode);
      const dataDir = path.join(root, 'var');
      const realData = layout === 'linked' ? path.join(root, 'pc') : dataDir;
      const mediaRoot = layout === 'linked' ? path.join(root, 'pc-media') : path.join(dataDir, 'media');
      if (layout === 'linked') {
        await fs.mkdir(realData);
        await fs.symlink(realData, dataDir);
      }
      const env = {
        PHOTOCHANGER_DATA_DIR: dataDir,
        PHOTOCHANGER_MEDIA_ROOT: mediaRoot,
        PHOTOCHANGER_HOST: '127.0.0.1',
        PHOTOCHANGER_PORT: '0',
      };
      const start = () =>
        startServer(
          loadConfig({ ...env, PHOTOCHANGER_BOOTSTRAP_ADMIN: 'admin:admin-pass-1' }),
          createLogger('silent'),
          {
            announce: () => undefined,
            networkInterfaces: () => ({}),
          },
        );
      const slotName = async (server: Awaited<ReturnType<typeof start>>) =>
        (
          await server.database.db
            .selectFrom('slot')
            .select('name')
            .where('id', '=', 'slot-001')
            .executeTakeFirstOrThrow()
        ).name;
      const cli = (...args: string[]) =>
        run(process.execPath, ['--import', 'tsx', 'src/cli/backup.ts', ...args], {
          env: { PATH: process.env.PATH ?? '', ...env },
        }).then(
          (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
          (err: { code: number; stdout: string; stderr: string }) => err,
        );

      let server = await start();
      await server.database.db
        .updateTable('slot')
        .set({ name: 'Before the backup' })
        .where('id', '=', 'slot-001')
        .execute();
      const photo = path.join(mediaRoot, 'results', 'kept.jpg');
      await fs.writeFile(photo, 'a photo');
      // Refused while it runs, in words, leaving no archive.
      const archive = path.join(root, 'backup.tar.gz');
      const refused = await cli('backup', '--out', archive);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('Stop PhotoChanger first');
      expect(await fs.stat(archive).catch(() => undefined)).toBeUndefined();
      await server.stop();

      const done = await cli('backup', '--out', archive);
      expect(done.code, done.stderr).toBe(0);
      expect(done.stdout).toContain(`Backed up ${realData}`);
      const system = systemClusterDir(path.join(dataDir, 'pgdata'));
      if (mode === 0o700) {
        made.push(path.dirname(system));
        expect(done.stdout).toContain(`and its database ${system}`);
      }
      expect((await fs.stat(archive)).mode & 0o777).toBe(0o600); // it holds the secrets

      // The data changes after the backup; the restore brings back the backed-up state.
      server = await start();
      await server.database.db
        .updateTable('slot')
        .set({ name: 'After the backup' })
        .where('id', '=', 'slot-001')
        .execute();
      await fs.rm(photo);
      await server.stop();
      const restored = await cli('restore', archive);
      expect(restored.code, restored.stderr).toBe(0);
      expect(restored.stdout).toContain('What was there is kept in');
      const aside = (await fs.readdir(root)).filter((n) => n.includes('.before-restore-')).map((n) => n.split('.')[0]);
      expect(aside.sort()).toEqual(layout === 'linked' ? ['pc', 'pc-media'] : ['var']);
      if (mode === 0o700) {
        // The moved cluster as it was is kept beside the restored one, in its system folder.
        const kept = (await fs.readdir(path.dirname(system))).filter((n) => n.startsWith('pgdata.before-restore-'));
        expect(kept).toHaveLength(1);
      }

      server = await start();
      try {
        expect(await slotName(server)).toBe('Before the backup');
        expect(await fs.readFile(photo, 'utf8')).toBe('a photo');
      } finally {
        await server.stop();
      }
      // Not a backup: refused in words, nothing moved.
      const junk = path.join(root, 'junk.tar.gz');
      await run('tar', ['-czf', junk, '-C', root, 'backup.tar.gz']);
      const wrong = await cli('restore', junk);
      expect(wrong.code).toBe(1);
      expect(wrong.stderr).toContain('is not a PhotoChanger backup');
      expect((await fs.readdir(root)).filter((n) => n.includes('.before-restore-'))).toHaveLength(aside.length);
    },
    180_000,
  );
});
