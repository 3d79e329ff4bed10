import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmptyDatabase } from '../support/db.js';

const run = promisify(execFile);

/** `npm run admin -- users …` against a server's database (PHOTOCHANGER_DATABASE_URL). */
describe('admin accounts CLI', () => {
  let database: { url: string; drop(): Promise<void> };
  const cli = (...args: string[]) =>
    run(process.execPath, ['--import', 'tsx', 'src/cli/admin.ts', ...args], {
      env: { PATH: process.env.PATH ?? '', PHOTOCHANGER_DATABASE_URL: database.url },
    }).catch((err: { code: number; stdout: string; stderr: string }) => ({
      stdout: err.stdout,
      stderr: err.stderr,
      code: err.code,
    }));

  beforeAll(async () => {
    database = await createEmptyDatabase();
  });
  afterAll(() => database.drop());

  it('run from the wrong folder (no data directory there), it says so and creates nothing', async () => {
    const empty = await fs.mkdtemp(path.join(os.tmpdir(), 'photochanger-cli-'));
    await fs.chmod(empty, 0o755);
    const out = await run(
      process.execPath,
      ['--import', 'tsx', 'src/cli/admin.ts', 'users', 'add', 'bob', '--password', 'bob-password-1'],
      { env: { PATH: process.env.PATH ?? '', PHOTOCHANGER_DATA_DIR: empty } },
    ).catch((err: { code: number; stderr: string }) => err);
    expect(out).toMatchObject({ code: 1 });
    expect((out as { stderr: string }).stderr).toContain(`There is no PhotoChanger database in ${empty}`);
    expect((out as { stderr: string }).stderr).toContain('PHOTOCHANGER_DATA_DIR');
    expect(await fs.readdir(empty)).toEqual([]);
    await fs.rm(empty, { recursive: true, force: true });
  });

  it('adds an account with chosen permissions, lists it, resets its password; refuses duplicates and bad input', async () => {
    const added = await cli(
      'users',
      'add',
      'operator',
      '--permissions',
      'stats:read,slots:read',
      '--password',
      'operator-pass-1',
    );
    expect(added.stdout).toContain('Created operator.');
    expect(added.stdout).not.toContain('operator-pass-1');
    const listed = await cli('users', 'list');
    expect(listed.stdout).toMatch(
      /^operator\tslots:read,stats:read\tactive$|^operator\tstats:read,slots:read\tactive$/m,
    );
    const dup = await cli('users', 'add', 'operator', '--password', 'another-pass-1');
    expect(dup).toMatchObject({ code: 1 });
    expect(dup.stderr).toContain('already exists');
    const bad = await cli('users', 'add', 'x', '--permissions', 'root', '--password', 'whatever-pass');
    expect(bad.stderr).toContain('Unknown permission');
    const reset = await cli('users', 'reset-password', 'operator');
    expect(reset.stdout).toMatch(/Password: \S{12,}/);
    const missing = await cli('users', 'reset-password', 'nobody');
    expect(missing).toMatchObject({ code: 1 });
    const usage = await cli('nonsense');
    expect(usage).toMatchObject({ code: 2 });
  });
});
