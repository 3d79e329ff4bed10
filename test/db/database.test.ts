import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Migrator } from 'kysely';
import { connectDatabase, isDatabaseUnavailable, migrateToLatest } from '../../src/db/database.js';
import { migrations } from '../../src/db/migrations/index.js';
import { createLogger } from '../../src/logger.js';
import { createEmptyDatabase, createTestDatabase, type TestDatabase } from '../support/db.js';

describe('database', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase({ statementTimeoutMs: 300 });
  });
  afterAll(() => t.destroy());

  it('creates exactly the 15 slots on the local provider', async () => {
    const slots = await t.db.selectFrom('slot').select(['id', 'provider', 'enabled']).orderBy('id').execute();
    expect(slots.map((s) => s.id)).toEqual(
      Array.from({ length: 15 }, (_, i) => `slot-${String(i + 1).padStart(3, '0')}`),
    );
    expect(slots.every((s) => s.provider === 'local' && s.enabled)).toBe(true);
  });

  it("the database's clock is the server's: now() agrees with Node's clock (also when faketime moves both, scripts/test-future-clock.sh)", async () => {
    const { rows } = await sql<{ now: Date }>`SELECT now() AS now`.execute(t.db);
    // Against a system PostgreSQL (PHOTOCHANGER_TEST_DATABASE_URL) under faketime the two would
    // differ by the offset: the script always uses the embedded server.
    expect(Math.abs(rows[0]!.now.getTime() - Date.now())).toBeLessThan(60_000);
  });

  it('bounds every statement by the statement timeout and classifies it as unavailable', async () => {
    const err = await sql`SELECT pg_sleep(2)`.execute(t.db).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(isDatabaseUnavailable(err)).toBe(true);
  });

  it('upgrading to 012 lets every account that could change the settings manage accounts', async () => {
    const empty = await createEmptyDatabase();
    const handle = connectDatabase(empty.url, { statementTimeoutMs: 5000, log: createLogger('silent') });
    try {
      const migrator = new Migrator({ db: handle.db, provider: { getMigrations: async () => migrations } });
      expect((await migrator.migrateTo('011_booths')).error).toBeUndefined();
      const at = new Date();
      await handle.db
        .insertInto('admin_account')
        .values([
          {
            username: 'owner',
            password_hash: 'x',
            permissions: ['slots:read', 'settings:read', 'settings:write'],
            created_at: at,
            updated_at: at,
          },
          { username: 'viewer', password_hash: 'x', permissions: ['stats:read'], created_at: at, updated_at: at },
        ])
        .execute();
      await migrateToLatest(handle.db, createLogger('silent'));
      const rows = await handle.db
        .selectFrom('admin_account')
        .select(['username', 'permissions'])
        .orderBy('username')
        .execute();
      expect(rows).toEqual([
        { username: 'owner', permissions: ['slots:read', 'settings:read', 'settings:write', 'accounts:write'] },
        { username: 'viewer', permissions: ['stats:read'] },
      ]);
    } finally {
      await handle.close();
      await empty.drop();
    }
  });
});
