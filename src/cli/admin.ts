/**
 * Administrator accounts on the server: `npm run admin -- users add|reset-password|list`.
 * Uses PHOTOCHANGER_DATABASE_URL, or the embedded database under PHOTOCHANGER_DATA_DIR (stop the
 * server first: the embedded cluster has one owner at a time). Passwords are read from
 * --password, else generated and printed once; they never reach a log.
 */
import 'dotenv/config';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createAccount, listAccounts, parsePermissions, resetPassword } from '../auth/accounts.js';
import { systemClock } from '../clock.js';
import { ConfigError, loadConfig } from '../config.js';
import { connectDatabase, migrateToLatest } from '../db/database.js';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../db/embedded.js';
import { createLogger } from '../logger.js';

const USAGE = `Usage:
  npm run admin -- users list
  npm run admin -- users add <username> [--password <pw>] [--permissions slots:read,slots:write,stats:read,settings:read,settings:write|all]
  npm run admin -- users reset-password <username> [--password <pw>]`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { password: { type: 'string' }, permissions: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  const [group, command, username] = positionals;
  if (values.help || group !== 'users' || !command || !['list', 'add', 'reset-password'].includes(command) || (command !== 'list' && !username)) {
    console.error(USAGE);
    return values.help ? 0 : 2;
  }
  const config = loadConfig(process.env);
  const log = createLogger('warn');
  let embedded: EmbeddedDatabase | undefined;
  let url = config.databaseUrl;
  if (!url) {
    const dataDir = path.join(config.dataDir, 'pgdata');
    if (await fs.stat(path.join(dataDir, 'postmaster.pid')).then(() => true, () => false)) {
      console.error(`The embedded database in ${dataDir} is in use (is the server running?). Stop the server, or set PHOTOCHANGER_DATABASE_URL.`);
      return 1;
    }
    embedded = await startEmbeddedPostgres({ dataDir, database: 'photochanger', log });
    url = embedded.url;
  }
  const database = connectDatabase(url, { statementTimeoutMs: config.queueStatementTimeoutMs, log });
  try {
    await migrateToLatest(database.db, log);
    if (command === 'list') {
      for (const a of await listAccounts(database.db)) {
        console.log(`${a.username}\t${a.permissions.join(',')}\t${a.locked_until && a.locked_until > new Date() ? `locked until ${a.locked_until.toISOString()}` : 'active'}`);
      }
      return 0;
    }
    const password = values.password ?? randomBytes(12).toString('base64url');
    if (command === 'add') {
      await createAccount(database.db, systemClock, username!, password, parsePermissions(values.permissions));
      console.log(`Created ${username}.`);
    } else if (!(await resetPassword(database.db, systemClock, username!, password))) {
      console.error(`No administrator named ${username}.`);
      return 1;
    } else {
      console.log(`Password of ${username} changed; the account is unlocked.`);
    }
    if (values.password === undefined) console.log(`Password: ${password}`);
    return 0;
  } catch (err) {
    if ((err as { code?: string }).code === '23505') {
      console.error(`An administrator named ${username} already exists.`);
      return 1;
    }
    if (err instanceof Error && !(err instanceof ConfigError) && !('code' in err)) {
      console.error(err.message);
      return 1;
    }
    throw err;
  } finally {
    await database.close();
    await embedded?.stop();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof ConfigError ? err.message : err);
    process.exit(1);
  },
);
