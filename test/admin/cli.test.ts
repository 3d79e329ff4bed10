import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmptyDatabase } from '../support/db.js';

const run = promisify(execFile);

/** `npm run admin -- users …` against a server's database (PHOTOCHANGER_DATABASE_URL). */
describe('admin accounts CLI', () => {
  let database: { url: string; drop(): Promise<void> };
  const cli = (...args: string[]) =>
    run(process.execPath, ['--import', 'tsx', 'src/cli/admin.ts', ...args], { env: { PATH: process.env.PATH ?? '', PHOTOCHANGER_DATABASE_URL: database.url } }).catch(
      (err: { code: number; stdout: string; stderr: string }) => ({ stdout: err.stdout, stderr: err.stderr, code: err.code }),
    );

  beforeAll(async () => {
    database = await createEmptyDatabase();
  });
  afterAll(() => database.drop());

  it('adds an account with chosen permissions, lists it, resets its password; refuses duplicates and bad input', async () => {
    const added = await cli('users', 'add', 'operator', '--permissions', 'stats:read,slots:read', '--password', 'operator-pass-1');
    expect(added.stdout).toContain('Created operator.');
    expect(added.stdout).not.toContain('operator-pass-1');
    const listed = await cli('users', 'list');
    expect(listed.stdout).toMatch(/^operator\tslots:read,stats:read\tactive$|^operator\tstats:read,slots:read\tactive$/m);
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
