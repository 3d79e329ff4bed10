import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertRootOwnedChain } from '../../src/db/embedded.js';

/**
 * As root, PhotoChanger runs the database programs from, and keeps clusters in, a system folder:
 * only when every folder of it is root's alone (src/db/embedded.ts). Checked on a temporary tree.
 */
describe("root placement: the system folder must be root's alone", () => {
  let root: string;
  const asRoot = process.getuid?.() === 0;
  beforeAll(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'photochanger-chain-'));
    await fs.chmod(root, 0o755);
  });
  afterAll(() => fs.rm(root, { recursive: true, force: true }));

  it('a chain of root-owned, root-writable folders passes; a missing tail is fine (root creates it)', async () => {
    await fs.mkdir(path.join(root, 'ok', 'postgresql'), { recursive: true, mode: 0o755 });
    const check = assertRootOwnedChain(path.join(root, 'ok', 'postgresql', '17.0.0'), root);
    if (asRoot) await expect(check).resolves.toBeUndefined();
    else await expect(check).rejects.toThrow(/owned by uid \d+/); // a regular user's folder is not root's
  });

  it("a folder others may write, a symbolic link, or another owner's folder is refused in words", async () => {
    // As a regular user the temporary root itself is not root's: everything under it is refused there.
    const refusal = (reason: RegExp) => (asRoot ? reason : /owned by uid \d+/);
    await fs.mkdir(path.join(root, 'open'), { mode: 0o755 });
    await fs.chmod(path.join(root, 'open'), 0o777);
    await expect(assertRootOwnedChain(path.join(root, 'open', 'pgdata'), root)).rejects.toThrow(
      refusal(/writable by other users.*will not run/),
    );
    await fs.symlink('/etc', path.join(root, 'link'));
    await expect(assertRootOwnedChain(path.join(root, 'link', 'pgdata'), root)).rejects.toThrow(
      refusal(/is a symbolic link/),
    );
    if (asRoot) {
      await fs.mkdir(path.join(root, 'theirs'), { mode: 0o755 });
      await fs.chown(path.join(root, 'theirs'), 65534, 65534);
      await expect(assertRootOwnedChain(path.join(root, 'theirs', 'x'), root)).rejects.toThrow(/owned by uid 65534/);
    }
  });
});
