/**
 * `npm start`: builds only when the sources changed since the last build (a fresh clone, or after
 * `git pull`), then runs the built server. A restart during an event costs the server's own start
 * (about a second), not a TypeScript and Vite build. Plain JavaScript: it must run before any build.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const stamp = path.join(root, 'dist', '.build-stamp');
const outputs = [path.join(root, 'dist', 'src', 'main.js'), path.join(root, 'dist', 'web', 'index.html')];
const inputs = ['src', 'web', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'vite.config.ts'];

function newestMtime(entry) {
  let stat;
  try {
    stat = fs.statSync(entry);
  } catch {
    return 0;
  }
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const name of fs.readdirSync(entry)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    newest = Math.max(newest, newestMtime(path.join(entry, name)));
  }
  return newest;
}

function builtAt() {
  if (!outputs.every((f) => fs.existsSync(f))) return 0;
  try {
    return fs.statSync(stamp).mtimeMs;
  } catch {
    return 0;
  }
}

const sourcesAt = Math.max(...inputs.map((i) => newestMtime(path.join(root, i))));
if (process.env.PHOTOCHANGER_SKIP_BUILD !== '1' && builtAt() < sourcesAt) {
  process.stdout.write('Building PhotoChanger (first start, or the sources changed)…\n');
  const build = spawnSync('npm', ['run', '--silent', 'build'], {
    cwd: root,
    stdio: 'inherit',
    shell: process.platform === 'win32',
  });
  if (build.status !== 0) {
    process.stderr.write(
      build.error
        ? `PhotoChanger could not be built: ${build.error.message}\nWhat to do: run npm ci (the build needs the dev dependencies), then npm start.\n`
        : 'PhotoChanger could not be built (see the messages above).\nWhat to do: run npm ci, then npm start; report the messages if it fails again.\n',
    );
    process.exit(1);
  }
  fs.writeFileSync(stamp, `${new Date().toISOString()}\n`);
}
await import(pathToFileURL(outputs[0]).href);
