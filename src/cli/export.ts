/**
 * An event's photos in one ZIP, on the server: `npm run export -- --out event.zip [--slot slot-003]
 * [--since 2026-11-27T18:00] [--until …]`. The same archive as GET /api/gallery/export.zip (entries
 * sorted by time, named by time and slot, byte for byte the results), written to a temporary file
 * and renamed when complete, so a failed export leaves nothing behind.
 */
import 'dotenv/config';
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { systemClock } from '../clock.js';
import { loadConfig } from '../config.js';
import { collectExport, MAX_EXPORT_ENTRIES, zipResults } from '../gallery/export.js';
import { createLogger } from '../logger.js';
import { openCliDatabase } from './database.js';
import { isSlotId } from '../schemas.js';

const USAGE = `Usage:
  npm run export -- --out <file.zip> [--slot slot-003 [--slot slot-004]] [--since <date-time>] [--until <date-time>] [--force]
Dates are ISO 8601 (2026-11-27T18:00, local time unless it ends in Z or an offset).`;

function parseDate(value: string | undefined, name: string): Date | undefined {
  if (value === undefined) return undefined;
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw new UsageError(`--${name} is not a date-time: ${value}`);
  return date;
}

class UsageError extends Error {}

export async function runExport(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      out: { type: 'string' },
      slot: { type: 'string', multiple: true },
      since: { type: 'string' },
      until: { type: 'string' },
      force: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help || !values.out) {
    console.error(USAGE);
    return values.help ? 0 : 2;
  }
  let from: Date | undefined;
  let to: Date | undefined;
  try {
    from = parseDate(values.since, 'since');
    to = parseDate(values.until, 'until');
    for (const slot of values.slot ?? [])
      if (!isSlotId(slot)) throw new UsageError(`--slot must look like slot-003, not ${slot}`);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`${err.message}\n${USAGE}`);
    return 2;
  }
  const out = values.out;
  if (!values.force && (await fs.stat(out).catch(() => undefined))) {
    console.error(`${out} exists; choose another name or add --force to replace it.`);
    return 1;
  }
  const config = loadConfig(env);
  const log = createLogger('warn');
  const database = await openCliDatabase(config, log);
  // Its own temporary name beside the archive: renamed into place only when complete.
  const partial = path.join(path.dirname(out), `.${path.basename(out)}.${randomUUID()}.partial`);
  try {
    const rows = await collectExport(database.db, { slotIds: values.slot, from, to }, systemClock.now());
    if (!rows) {
      console.error(`More than ${MAX_EXPORT_ENTRIES} results: export a shorter time range or fewer slots.`);
      return 1;
    }
    await pipeline(zipResults(rows, log), createWriteStream(partial, { flags: 'wx', mode: 0o600 }));
    await fs.rename(partial, out);
    console.log(`${rows.length} photo${rows.length === 1 ? '' : 's'} written to ${out}`);
    return 0;
  } catch (err) {
    await fs.rm(partial, { force: true });
    console.error(`Export failed: ${(err as Error).message}`);
    return 1;
  } finally {
    await database.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runExport(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error((err as Error).message);
      process.exit(1);
    },
  );
}
