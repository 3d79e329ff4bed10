/**
 * Administrator accounts on the server: `npm run admin -- users add|reset-password|unlock|list`.
 * Uses PHOTOCHANGER_DATABASE_URL, else the running server's embedded database (it leaves its
 * address in DATA_DIR/database-url, mode 0600, while it runs), else starts the embedded database
 * itself. Unlocks (and password resets, which unlock too) reach every running instance at once.
 * Passwords are read from --password, else generated and printed once; they never reach a log.
 */
import 'dotenv/config';
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { AppError } from '../errors.js';
import { createAccount, findAccount, listAccounts, parsePermissions, resetPassword } from '../auth/accounts.js';
import { systemClock } from '../clock.js';
import { ConfigError, loadConfig } from '../config.js';
import type { Db } from '../db/database.js';
import { EmbeddedDatabaseError } from '../db/embedded.js';
import { openCliDatabase } from './database.js';
import { notifyAccountUnlocked } from '../auth/statements.js';
import { createLogger } from '../logger.js';

const USAGE = `Usage:
  npm run admin -- users list
  npm run admin -- users add <username> [--password <pw>] [--permissions slots:read,slots:write,stats:read,settings:read,settings:write|all]
  npm run admin -- users reset-password <username> [--password <pw>]
  npm run admin -- users unlock <username>`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { password: { type: 'string' }, permissions: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  const [group, command, username] = positionals;
  if (
    values.help ||
    group !== 'users' ||
    !command ||
    !['list', 'add', 'reset-password', 'unlock'].includes(command) ||
    (command !== 'list' && !username)
  ) {
    console.error(USAGE);
    return values.help ? 0 : 2;
  }
  const config = loadConfig(process.env);
  const log = createLogger('warn');
  const database = await openCliDatabase(config, log);
  try {
    if (command === 'list') {
      for (const a of await listAccounts(database.db)) {
        console.log(`${a.username}\t${a.permissions.join(',')}\tactive`);
      }
      return 0;
    }
    if (command === 'unlock') {
      if (!(await findAccount(database.db, username!))) {
        console.error(`No administrator named ${username}.`);
        return 1;
      }
      await announceUnlock(database.db, username!);
      console.log(`${username} can log in again from every address.`);
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
      await announceUnlock(database.db, username!);
      console.log(`Password of ${username} changed; the account is unlocked.`);
    }
    if (values.password === undefined) console.log(`Password: ${password}`);
    return 0;
  } catch (err) {
    if ((err as { code?: string }).code === '23505') {
      console.error(`An administrator named ${username} already exists.`);
      return 1;
    }
    if (err instanceof AppError || (err instanceof Error && !(err instanceof ConfigError) && !('code' in err))) {
      console.error(err.message);
      return 1;
    }
    throw err;
  } finally {
    await database.close();
  }
}

/** Tells every running instance to forget the name's login failures. */
async function announceUnlock(db: Db, username: string): Promise<void> {
  await notifyAccountUnlocked(db, username);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(
      err instanceof ConfigError
        ? err.message
        : err instanceof EmbeddedDatabaseError
          ? `${err.message}\n${err.hint}`
          : err,
    );
    process.exit(1);
  },
);
