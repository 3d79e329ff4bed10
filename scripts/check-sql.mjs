/**
 * `npm run lint`: SQL lives in each folder's `statements.ts` (one named function per query) and in
 * the migrations, nowhere else (docs/architecture.md, "SQL is visible and named"). Fails on a
 * Kysely query or an `sql` template anywhere else in src/, printing where.
 */
import fs from 'node:fs';
import path from 'node:path';

const SRC = path.resolve('src');
const QUERY = /\bsql\s*(`|<)|\.(selectFrom|insertInto|updateTable|deleteFrom|replaceInto|mergeInto)\(/;

function files(dir) {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) =>
      e.isDirectory() ? files(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : [],
    );
}
const allowed = (file) => path.basename(file) === 'statements.ts' || file.includes(`${path.sep}migrations${path.sep}`);

const found = [];
for (const file of files(SRC)) {
  if (allowed(file)) continue;
  fs.readFileSync(file, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (QUERY.test(line) && !line.trim().startsWith('*') && !line.trim().startsWith('//'))
        found.push(`${path.relative(process.cwd(), file)}:${i + 1}: ${line.trim().slice(0, 100)}`);
    });
}
if (found.length) {
  console.error("SQL outside statements.ts (move it into the folder's statements.ts as a named function):");
  for (const f of found) console.error(`  ${f}`);
  process.exit(1);
}
console.log('SQL only in statements.ts and migrations.');
