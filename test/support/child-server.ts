import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { TEST_ADMIN, TEST_INGEST_PASSWORD } from './server.js';

export interface ChildServer {
  proc: ChildProcess;
  url: string;
  dataDir: string;
  /** JSON log lines written so far. */
  logs: string[];
  exited: Promise<number | null>;
}

/**
 * The real entry point (`src/main.ts`, as `npm start` runs it) in its own process, for tests that
 * send it signals or kill it. Resolves once it logs that it is listening.
 */
export async function startChildServer(env: Record<string, string>, dataDir?: string): Promise<ChildServer> {
  const dir = dataDir ?? (await fs.mkdtemp(path.join(os.tmpdir(), 'photochanger-child-')));
  await fs.chmod(dir, 0o755);
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: {
      PATH: process.env.PATH ?? '',
      PHOTOCHANGER_HOST: '127.0.0.1',
      PHOTOCHANGER_PORT: '0',
      PHOTOCHANGER_DATA_DIR: dir,
      PHOTOCHANGER_MEDIA_ROOT: path.join(dir, 'media'),
      PHOTOCHANGER_BOOTSTRAP_INGEST_PASSWORD: TEST_INGEST_PASSWORD,
      PHOTOCHANGER_BOOTSTRAP_ADMIN: `${TEST_ADMIN.username}:${TEST_ADMIN.password}`,
      PHOTOCHANGER_JWT_SECRET: 'child-server-test-jwt-secret-0123456789abcdef',
      PHOTOCHANGER_LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const stderr: string[] = [];
  proc.stderr!.on('data', (d: Buffer) => stderr.push(d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`child server did not start: ${stderr.join('')}`)), 30_000);
    readline.createInterface({ input: proc.stdout! }).on('line', (line) => {
      logs.push(line);
      if (line.includes('"PhotoChanger is listening"')) {
        clearTimeout(timer);
        resolve((JSON.parse(line) as { url: string }).url);
      }
    });
    void exited.then((code) => reject(new Error(`child server exited with ${code}: ${stderr.join('')}`)));
  });
  return { proc, url, dataDir: dir, logs, exited };
}
