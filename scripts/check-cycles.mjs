/**
 * `npm run lint` (after eslint): no folder of src/ imports a folder that imports it back, directly
 * or through others (type-only imports count: they tie the folders' meaning together too). A file
 * directly in src/ (app.ts, server.ts, config.ts…) is a node of its own: `config.ts` importing a
 * folder that imports `config.ts` back is a loop too. Prints each cycle with one import that
 * closes it.
 */
import fs from 'node:fs';
import path from 'node:path';

const SRC = path.resolve('src');
const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"](\.[^'"]+)['"]/g;

function files(dir) {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) =>
      e.isDirectory() ? files(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : [],
    );
}
/** The node of a file: its folder under src/, or the file itself when it lies directly in src/. */
const folderOf = (file) => {
  const rel = path.relative(SRC, file).split(path.sep);
  if (rel[0] === '..' || rel[0] === '') return undefined;
  return rel.length > 1 ? `${rel[0]}/` : rel[0];
};

/** folder → folder → an example "file → imported file". */
const edges = new Map();
for (const file of files(SRC)) {
  const from = folderOf(file);
  if (!from) continue;
  for (const m of fs.readFileSync(file, 'utf8').matchAll(IMPORT)) {
    const target = path.resolve(path.dirname(file), m[1].replace(/\.js$/, '.ts'));
    const to = folderOf(target);
    if (!to || to === from) continue;
    if (!edges.has(from)) edges.set(from, new Map());
    if (!edges.get(from).has(to))
      edges.get(from).set(to, `${path.relative(SRC, file)} → ${path.relative(SRC, target)}`);
  }
}

// Strongly connected components (Tarjan): a component of more than one folder is a cycle.
let index = 0;
const idx = new Map();
const low = new Map();
const stack = [];
const on = new Set();
const cycles = [];
function visit(v) {
  idx.set(v, index);
  low.set(v, index++);
  stack.push(v);
  on.add(v);
  for (const w of edges.get(v)?.keys() ?? []) {
    if (!idx.has(w)) {
      visit(w);
      low.set(v, Math.min(low.get(v), low.get(w)));
    } else if (on.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
  }
  if (low.get(v) === idx.get(v)) {
    const comp = [];
    let w;
    do {
      w = stack.pop();
      on.delete(w);
      comp.push(w);
    } while (w !== v);
    if (comp.length > 1) cycles.push(comp);
  }
}
for (const v of edges.keys()) if (!idx.has(v)) visit(v);

if (cycles.length) {
  console.error('Folders of src/ that import each other (move the shared idea to one of them, or below both):');
  for (const comp of cycles) {
    console.error(`  ${comp.sort().join(' ↔ ')}`);
    for (const a of comp)
      for (const b of comp) if (edges.get(a)?.has(b)) console.error(`    ${a} → ${b}: ${edges.get(a).get(b)}`);
  }
  process.exit(1);
}
console.log(`No cycles among ${edges.size} folders and top-level files of src/.`);
