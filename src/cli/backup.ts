/**
 * `npm run backup -- [--out file.tar.gz]` and `npm run restore -- <file.tar.gz>`: the whole
 * installation in one archive — the data directory (secrets, settings, the embedded database's
 * cluster, photos) and, for a root install, the cluster kept in /var/lib/photochanger
 * (src/db/embedded.ts) and photos kept outside the data directory. A cold copy: PhotoChanger must
 * be stopped (its database files at rest), which both commands check and say in words.
 *
 * Restore never deletes: what is there is moved aside to `<folder>.before-restore-<time>` first.
 * With PHOTOCHANGER_DATABASE_URL (an external database) the archive holds the files only, and the
 * command says to back up that database with pg_dump.
 */
import 'dotenv/config';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { loadConfig, type Config } from '../config.js';
import { clusterPostmaster, DATABASE_URL_FILE, existingClusterDir, systemClusterDir } from '../db/embedded.js';
import { runningServerDatabase } from './database.js';

const MANIFEST = 'photochanger-backup.json';
const USAGE = `Usage:
  npm run backup -- [--out photochanger-backup.tar.gz] [--force]
  npm run restore -- <photochanger-backup.tar.gz>
Stop PhotoChanger first: both copy the database's files, which must be at rest.`;

interface Manifest {
  format: 1;
  created_at: string;
  data_dir: string;
  /** The cluster was kept outside the data directory (a root install): archived as database/. */
  database_moved: boolean;
  /** Photos kept outside the data directory (PHOTOCHANGER_MEDIA_ROOT): archived as media/. */
  media_outside: boolean;
  external_database: boolean;
}

class Refusal extends Error {}

/**
 * Refuses while a server of this data directory runs: its database answers (the address it leaves
 * while it runs), or its cluster's postmaster is alive (one whose directory cannot be read counts).
 */
async function assertStopped(config: Config, clusterDir: string | undefined): Promise<void> {
  const stop = 'Stop PhotoChanger first (Ctrl-C, or systemctl stop photochanger): its database files must be at rest.';
  if (await runningServerDatabase(config.dataDir))
    throw new Refusal(`PhotoChanger is running on ${config.dataDir}. ${stop}`);
  const postmaster = clusterDir ? await clusterPostmaster(clusterDir) : undefined;
  if (postmaster && postmaster.ours !== false)
    throw new Refusal(`Its database (process ${postmaster.pid}) is running. ${stop}`);
}

/** rename, or a copy when the two folders are on different file systems (a clone on /home, /var/lib). */
async function moveDir(from: string, to: string): Promise<void> {
  try {
    await fs.rename(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
    const r = spawnSync('cp', ['-a', from, to], { encoding: 'utf8' });
    if (r.status !== 0) throw new Refusal(`could not copy ${from} to ${to}: ${r.stderr.trim()}`);
    await fs.rm(from, { recursive: true, force: true });
  }
}

function tar(args: string[]): void {
  const r = spawnSync('tar', args, { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  if (r.error) throw new Refusal(`tar could not run: ${r.error.message}`);
  if (r.status !== 0) throw new Refusal(`tar failed: ${r.stderr.trim()}`);
}

/**
 * tar's --transform for one archived folder: its absolute path, matched literally and only as a
 * whole path component (a sibling `/srv/pc-media` is not `/srv/pc`), becomes `name`. Extended regex.
 */
const renameFolder = (folder: string, name: string) =>
  `--transform=s,^${folder.replace(/[\\.*+?()|{}[\]^$/,]/g, '\\$&')}(/|$),${name}\\1,x`;

/** The folder itself, through any symbolic link (tar archives a link given on its command line as a link). */
const real = async (dir: string) => fs.realpath(dir).catch(() => path.resolve(dir));

export async function runBackup(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { out: { type: 'string' }, force: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) return (console.log(USAGE), 0);
  const config = loadConfig(env);
  const stamp = new Date().toISOString().replace(/[:T]/g, '-').slice(0, 19);
  const out = path.resolve(values.out ?? `photochanger-backup-${stamp}.tar.gz`);
  if (!values.force && (await fs.stat(out).catch(() => undefined))) {
    console.error(`${out} exists; choose another name or add --force to replace it.`);
    return 1;
  }
  const dataDir = await real(config.dataDir);
  if (!(await fs.stat(dataDir).catch(() => undefined))) {
    console.error(`No data directory at ${dataDir}: nothing to back up (run from the installation's folder).`);
    return 1;
  }
  const external = config.databaseUrl !== undefined;
  const found = external ? undefined : await existingClusterDir(path.join(dataDir, 'pgdata'));
  const cluster = found ? await real(found) : undefined;
  const inside = (dir: string) => dir.startsWith(dataDir + path.sep);
  const moved = cluster !== undefined && !inside(cluster);
  const mediaRoot = await real(config.mediaRoot);
  if (mediaRoot === dataDir || dataDir.startsWith(mediaRoot + path.sep)) {
    console.error(
      `The media root ${mediaRoot} holds the data directory ${dataDir}: back up that folder with tar instead.`,
    );
    return 1;
  }
  const mediaOutside = !inside(mediaRoot);
  const partial = `${out}.partial`;
  const staging = await fs.mkdtemp(path.join(os.tmpdir(), 'photochanger-backup-'));
  try {
    await assertStopped(config, cluster);
    const manifest: Manifest = {
      format: 1,
      created_at: new Date().toISOString(),
      data_dir: dataDir,
      database_moved: moved,
      media_outside: mediaOutside,
      external_database: external,
    };
    await fs.writeFile(path.join(staging, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
    const parts = [dataDir, ...(moved ? [cluster] : []), ...(mediaOutside ? [mediaRoot] : [])];
    // Mode 0600 before the first byte: the archive holds the secrets.
    await fs.writeFile(partial, '', { mode: 0o600 });
    await fs.chmod(partial, 0o600);
    tar([
      '-czpf',
      partial,
      '--absolute-names',
      `--exclude=${path.join(dataDir, DATABASE_URL_FILE)}`,
      renameFolder(dataDir, 'data'),
      ...(moved ? [renameFolder(cluster, 'database')] : []),
      ...(mediaOutside ? [renameFolder(mediaRoot, 'media')] : []),
      renameFolder(staging, '.'),
      ...parts,
      path.join(staging, MANIFEST),
    ]);
    await fs.rename(partial, out);
    console.log(`Backed up ${dataDir}${moved ? ` and its database ${cluster}` : ''} to ${out}`);
    if (external) console.log('The database is external (PHOTOCHANGER_DATABASE_URL): back it up with pg_dump.');
    return 0;
  } catch (err) {
    await fs.rm(partial, { force: true });
    if (!(err instanceof Refusal)) throw err;
    console.error(err.message);
    return 1;
  } finally {
    await fs.rm(staging, { recursive: true, force: true });
  }
}

export async function runRestore(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { help: { type: 'boolean', short: 'h' } },
  });
  const file = positionals[0];
  if (values.help || !file) return (console.error(USAGE), values.help ? 0 : 2);
  const config = loadConfig(env);
  const dataDir = await real(config.dataDir);
  const requestedCluster = path.join(dataDir, 'pgdata');
  const staging = await fs.mkdtemp(path.join(path.dirname(dataDir), '.photochanger-restore-'));
  try {
    await assertStopped(config, await existingClusterDir(requestedCluster));
    tar(['-xzpf', path.resolve(file), '-C', staging]);
    const manifest = JSON.parse(
      await fs.readFile(path.join(staging, MANIFEST), 'utf8').catch(() => 'null'),
    ) as Manifest | null;
    if (manifest?.format !== 1 || !(await fs.stat(path.join(staging, 'data')).catch(() => undefined)))
      throw new Refusal(`${file} is not a PhotoChanger backup (no ${MANIFEST} and data/ in it).`);
    for (const [part, wanted] of [
      ['database', manifest.database_moved],
      ['media', manifest.media_outside],
    ] as const) {
      if (wanted && !(await fs.stat(path.join(staging, part)).catch(() => undefined)))
        throw new Refusal(`${file} is incomplete: its manifest names ${part}/, which it does not hold.`);
    }
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    // Every move, in order, so that a failure half-way puts everything back where it was.
    const done: Array<{ from: string; to: string }> = [];
    const move = async (from: string, to: string) => {
      await fs.mkdir(path.dirname(to), { recursive: true });
      await moveDir(from, to);
      done.push({ from, to });
    };
    const aside: string[] = [];
    const moveAside = async (dir: string) => {
      if (!(await fs.stat(dir).catch(() => undefined))) return;
      await move(dir, `${dir}.before-restore-${stamp}`);
      aside.push(`${dir}.before-restore-${stamp}`);
    };
    // A root install's moved cluster goes back to its system folder (for this data directory).
    const clusterTarget =
      manifest.database_moved && process.getuid?.() === 0 ? systemClusterDir(requestedCluster) : undefined;
    const mediaRoot = await real(config.mediaRoot);
    try {
      await moveAside(dataDir);
      if (clusterTarget) await moveAside(clusterTarget);
      if (manifest.media_outside) await moveAside(mediaRoot);
      await move(path.join(staging, 'data'), dataDir);
      if (manifest.database_moved) await move(path.join(staging, 'database'), clusterTarget ?? requestedCluster);
      if (manifest.media_outside) await move(path.join(staging, 'media'), mediaRoot);
    } catch (err) {
      for (const step of done.reverse()) await moveDir(step.to, step.from).catch(() => undefined);
      throw new Refusal(`The restore failed and was undone (everything is where it was): ${(err as Error).message}`);
    }
    console.log(`Restored ${file} (made ${manifest.created_at}) into ${dataDir}.`);
    if (aside.length) console.log(`What was there is kept in: ${aside.join(', ')}`);
    if (manifest.external_database) console.log('The database is external: restore it with pg_restore / psql.');
    return 0;
  } catch (err) {
    if (!(err instanceof Refusal)) throw err;
    console.error(err.message);
    return 1;
  } finally {
    await fs.rm(staging, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const run = process.argv[2] === 'restore' ? runRestore : runBackup;
  run(process.argv.slice(3)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error((err as Error).message);
      process.exit(1);
    },
  );
}
