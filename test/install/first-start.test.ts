import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/db/embedded.js';
import { lanAddresses } from '../../src/ops/public-address.js';

/**
 * A fresh clone of this repository, started with the README's commands exactly (`npm ci && npm
 * start`, no database, no AI key), where real installations put it: under root's mode-0700 home,
 * and in a regular user's home. Each must answer /healthz and a booth ingest, print booth URLs on a
 * non-loopback address, stop cleanly, and pass `npm test` in the clone. Only 127.0.0.1 is contacted.
 */
const REPO = path.resolve(import.meta.dirname, '..', '..');
const USER = 'pc-install-test';
const isRoot = process.getuid?.() === 0;

interface As {
  /** Runs as this user: argv prefix (runuser) or none. */
  prefix: string[];
  home: string;
}

function run(
  as: As,
  cwd: string,
  argv: string[],
  env: Record<string, string> = {},
  timeoutMs = 10 * 60_000,
): { status: number | null; output: string } {
  const [cmd, ...args] = [...as.prefix, ...argv];
  const r = spawnSync(cmd!, args, {
    cwd,
    env: { PATH: process.env.PATH ?? '', HOME: as.home, LANG: 'C.UTF-8', CI: 'true', ...env },
    encoding: 'utf8',
    timeout: timeoutMs,
    maxBuffer: 64 * 1024 * 1024,
  });
  return { status: r.status, output: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
}

/** The committed HEAD as a bundle any user can read (the repository itself may sit under /root). */
let bundle: string | undefined;
async function repoBundle(): Promise<string> {
  if (bundle) return bundle;
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pc-bundle-'));
  await fs.chmod(dir, 0o755);
  const file = path.join(dir, 'photochanger.bundle');
  const made = spawnSync('git', ['-c', 'safe.directory=*', 'bundle', 'create', file, 'HEAD'], {
    cwd: REPO,
    encoding: 'utf8',
  });
  expect(made.status, made.stderr).toBe(0);
  await fs.chmod(file, 0o644);
  return (bundle = file);
}

async function firstStart(as: As, clone: string): Promise<void> {
  const cloned = run(as, path.dirname(clone), ['git', 'clone', '--quiet', await repoBundle(), clone]);
  expect(cloned.status, cloned.output).toBe(0);
  const ci = run(as, clone, ['npm', 'ci', '--no-audit', '--no-fund', '--prefer-offline']);
  expect(ci.status, ci.output).toBe(0);
  expect(ci.output).not.toContain('EBADENGINE');

  const port = await freePort();
  const [cmd, ...args] = [...as.prefix, 'npm', 'start'];
  const server = spawn(cmd!, args, {
    cwd: clone,
    env: { PATH: process.env.PATH ?? '', HOME: as.home, PHOTOCHANGER_PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const lines: string[] = [];
  const exited = new Promise<number | null>((resolve) => server.once('exit', (code) => resolve(code)));
  try {
    readline.createInterface({ input: server.stdout! }).on('line', (l) => lines.push(l));
    readline.createInterface({ input: server.stderr! }).on('line', (l) => lines.push(l));
    const until = Date.now() + 4 * 60_000;
    while (!lines.some((l) => l.includes('PhotoChanger is ready.'))) {
      if (Date.now() > until || server.exitCode !== null)
        throw new Error(`npm start did not listen:\n${lines.join('\n')}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const text = lines.join('\n');
    expect(text).not.toMatch(/\bundefined\b/);
    for (const lan of lanAddresses().filter((a) => !a.startsWith('[')))
      expect(text).toContain(`http://${lan}:${port}/ingest/slot-001`);
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(health.status).toBe(200);
    const password = /Ingest password \(DSLR Remote Pro "password" field\): (\S+)/.exec(text)?.[1];
    expect(password).toBeDefined();
    // Both credentials in one block, no log line inside it, right before the start banner; the
    // banner says where the data is (the clone's var/, and for root the database's own place).
    const open = lines.findIndex((l) => l.includes('PhotoChanger first start'));
    const close = lines.findIndex((l, i) => i > open && /^=+$/.test(l));
    expect(open, text).toBeGreaterThanOrEqual(0);
    const block = lines.slice(open, close + 1);
    expect(block.some((l) => l.startsWith('Administrator: '))).toBe(true);
    expect(block.some((l) => l.startsWith('Ingest password '))).toBe(true);
    expect(block.filter((l) => l.startsWith('{'))).toEqual([]);
    expect(text).toContain(`Data: ${path.join(clone, 'var')}`);
    if (isRoot && as.prefix.length === 0) expect(text).toMatch(/Its database is kept in \/var\/lib\/photochanger\//);
    const form = new FormData();
    form.append('password', password!);
    const photo = await sharp({ create: { width: 320, height: 240, channels: 3, background: '#c08040' } })
      .jpeg()
      .toBuffer();
    form.append('fileToUpload', new Blob([new Uint8Array(photo)], { type: 'image/jpeg' }), 'guest.jpg');
    const ingest = await fetch(`http://127.0.0.1:${port}/ingest/slot-001`, { method: 'POST', body: form });
    expect(ingest.status).toBe(200);
    expect(ingest.headers.get('content-type')).toBe('image/jpeg');
    // Ctrl-C / systemctl stop: the whole group gets the signal; npm itself dies of it, the server
    // stops gracefully and the embedded database with it.
    process.kill(-server.pid!, 'SIGTERM');
    await exited;
    const stopUntil = Date.now() + 30_000;
    while (!lines.some((l) => l.includes('"embedded PostgreSQL stopped"')) && Date.now() < stopUntil)
      await new Promise((r) => setTimeout(r, 200));
    expect(
      lines.some((l) => l.includes('"embedded PostgreSQL stopped"')),
      lines.slice(-20).join('\n'),
    ).toBe(true);
    expect(lines.join('\n')).not.toContain('"level":50');
  } finally {
    if (server.exitCode === null && server.signalCode === null) process.kill(-server.pid!, 'SIGKILL');
  }
  // The suite passes inside the clone too (its embedded databases cope the same way).
  const tests = run(as, clone, ['npm', 'test'], {}, 12 * 60_000);
  expect(tests.status, tests.output.slice(-4000)).toBe(0);
}

describe('first start of a fresh clone', () => {
  const cleanup: string[] = [];
  afterAll(async () => {
    for (const dir of cleanup) await fs.rm(dir, { recursive: true, force: true });
    if (bundle) await fs.rm(path.dirname(bundle), { recursive: true, force: true });
    if (isRoot) spawnSync('userdel', ['--remove', USER]);
  });

  it.runIf(isRoot)('as root, with the clone inside a mode-0700 folder (like /root)', async () => {
    const home = await fs.mkdtemp(path.join(os.tmpdir(), 'root-home-'));
    await fs.chmod(home, 0o700);
    cleanup.push(home);
    await firstStart({ prefix: [], home }, path.join(home, 'photochanger'));
  });

  it('as a regular user, in their own home', async () => {
    if (!isRoot) {
      // Already a regular user: the clone goes under a private folder of ours.
      const home = await fs.mkdtemp(path.join(os.tmpdir(), 'user-home-'));
      cleanup.push(home);
      await firstStart({ prefix: [], home: os.homedir() }, path.join(home, 'photochanger'));
      return;
    }
    spawnSync('userdel', ['--remove', USER]);
    const made = spawnSync('useradd', ['--create-home', '--shell', '/bin/bash', USER], { encoding: 'utf8' });
    expect(made.status, made.stderr).toBe(0);
    const home = await fs.realpath(`/home/${USER}`).catch(() => `/home/${USER}`);
    await fs.chmod(home, 0o700);
    await firstStart({ prefix: ['runuser', '-u', USER, '--'], home }, path.join(home, 'photochanger'));
  });
});
