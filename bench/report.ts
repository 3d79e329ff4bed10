import fs from 'node:fs/promises';

const FILE = 'docs/benchmarks.md';

/**
 * Replaces (or appends) one script's section of docs/benchmarks.md, between its
 * `<!-- bench:<name>:start … -->` and `<!-- bench:<name>:end -->` markers.
 */
export async function writeBenchSection(name: string, section: string): Promise<void> {
  let doc = await fs
    .readFile(FILE, 'utf8')
    .catch(
      () => '# Benchmarks\n\nEvery number here comes from a script in bench/, run on the machine named with it.\n',
    );
  const re = new RegExp(`<!-- bench:${name}:start[\\s\\S]*?<!-- bench:${name}:end -->`);
  doc = re.test(doc) ? doc.replace(re, section) : `${doc.trimEnd()}\n\n${section}\n`;
  await fs.writeFile(FILE, doc);
  console.log(`${FILE} updated (${name})`);
}
