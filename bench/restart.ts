/**
 * `npm run bench:restart` (also run by `npm run bench`): how long a restart during an event keeps
 * booths waiting. `npm start` (scripts/start.mjs) with the build in place and an initialised
 * embedded database, from spawn to the first 200 of /healthz; after a graceful stop and after a
 * kill -9 of the server and its watchdog (a PostgreSQL left running). Baselines in the same run:
 * a bare Node HTTP server process, and the embedded PostgreSQL start alone.
 * Writes its section of docs/benchmarks.md (between the bench:restart markers).
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { freePort, startEmbeddedPostgres } from '../src/db/embedded.js';
import { createLogger } from '../src/logger.js';
import { writeBenchSection } from './report.js';

const RUNS = Number(process.env.BENCH_RESTART_RUNS ?? 5);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (n: number) => n.toFixed(0);

interface Started {
  ms: number;
  stop(signal?: NodeJS.Signals): Promise<void>;
  logs: string[];
}

async function timeToHealthy(argv: string[], env: Record<string, string>, port: number): Promise<Started> {
  const t0 = performance.now();
  const child = spawn(process.execPath, argv, {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  readline.createInterface({ input: child.stdout! }).on('line', (l) => logs.push(l));
  readline.createInterface({ input: child.stderr! }).on('line', (l) => logs.push(l));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  for (;;) {
    if (child.exitCode !== null) throw new Error(`exited before answering:\n${logs.join('\n')}`);
    const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  const ms = performance.now() - t0;
  return {
    ms,
    logs,
    stop: async (signal = 'SIGTERM') => {
      child.kill(signal);
      await exited;
    },
  };
}

async function main(): Promise<void> {
  const build = spawnSync('npm', ['run', '--silent', 'build'], { stdio: 'inherit' });
  if (build.status !== 0) throw new Error('build failed');
  await fs.writeFile('dist/.build-stamp', `${new Date().toISOString()}\n`);
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'photochanger-restart-'));
  await fs.chmod(dir, 0o755);
  const port = await freePort();
  const env = {
    PHOTOCHANGER_DATA_DIR: dir,
    PHOTOCHANGER_PORT: String(port),
    PHOTOCHANGER_HOST: '127.0.0.1',
    PHOTOCHANGER_LOG_LEVEL: 'info',
  };
  const start = () => timeToHealthy(['scripts/start.mjs'], env, port);

  const first = await start(); // initialises the cluster and the database
  console.log(`first start (initdb, migrations): ${fmt(first.ms)} ms`);
  await first.stop();

  const graceful: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const s = await start();
    graceful.push(s.ms);
    await s.stop();
  }
  const crashed: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const s = await start();
    // kill -9 the server and its watchdog: the next start finds the database still running.
    const line = s.logs.find((l) => l.includes('"embedded PostgreSQL started"'));
    if (!line) throw new Error('no "embedded PostgreSQL started" line');
    process.kill((JSON.parse(line) as { watchdog_pid: number }).watchdog_pid, 'SIGKILL');
    await s.stop('SIGKILL');
    const again = await start();
    crashed.push(again.ms);
    await again.stop();
  }

  const bare: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const bp = await freePort();
    const s = await timeToHealthy(
      ['-e', `require('http').createServer((q,r)=>r.end('ok')).listen(${bp},'127.0.0.1')`],
      {},
      bp,
    );
    bare.push(s.ms);
    await s.stop();
  }
  const database: number[] = [];
  const log = createLogger('silent');
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    const db = await startEmbeddedPostgres({ dataDir: path.join(dir, 'pgdata'), database: 'photochanger', log });
    database.push(performance.now() - t0);
    await db.stop();
  }
  await fs.rm(dir, { recursive: true, force: true });

  const g = median(graceful);
  const c = median(crashed);
  console.log({ graceful, crashed, bare, database });
  const section = [
    '<!-- bench:restart:start (written by `npm run bench:restart`; do not edit by hand) -->',
    '## Restart during an event (`npm run bench:restart`)',
    '',
    `Measured ${new Date().toISOString()} on ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}, ${process.getuid?.() === 0 ? 'as root' : 'as a regular user'}. From spawning \`npm start\`'s script (build in place, embedded database initialised) to the first 200 of \`/healthz\`; median of ${RUNS} runs each.`,
    '',
    '| | median ms | runs ms |',
    '|---|---|---|',
    `| restart after a graceful stop | **${fmt(g)}** | ${graceful.map(fmt).join(', ')} |`,
    `| restart after kill -9 of the server and its watchdog (a PostgreSQL left running is stopped first) | **${fmt(c)}** | ${crashed.map(fmt).join(', ')} |`,
    `| baseline: a bare Node HTTP server process | ${fmt(median(bare))} | ${bare.map(fmt).join(', ')} |`,
    `| baseline: the embedded PostgreSQL start alone | ${fmt(median(database))} | ${database.map(fmt).join(', ')} |`,
    `| **ratio** restart / (bare Node + database start) | **${(g / (median(bare) + median(database))).toFixed(2)}×** | |`,
    '',
    `First start of a fresh data directory (initdb, migrations, credentials): ${fmt(first.ms)} ms. Target: a restart answers within 3000 ms; ${g <= 3000 && c <= 3000 ? 'met' : '**not met**'}.`,
    '<!-- bench:restart:end -->',
  ].join('\n');
  await writeBenchSection('restart', section);
}

await main();
